"""What grading costs, and what the bubblewrap sandbox adds to it, measured in one run.

Run: python bench/grade_time.py [--repeats N]   (or `make bench`)

For each sandbox (``process``: a plain child; ``bwrap``: the sandbox), interleaved so
that both see the same machine state, medians over N runs of:
- starting a child and making its first call (a trivial module);
- one call on a live child (a small numpy array there and back);
- grading one correct submission in an already warm grader process;
- grading the bundled sample class into a fresh gradebook with 1 and 2 workers.
The last column is bwrap's time over process's.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from autograder import assignment as assignments
from autograder.batch import grade_class, grade_submission, seed_for
from autograder.gradebook import Gradebook
from autograder.sandbox import SANDBOXES, make_launcher
from autograder.student import Student
from autograder.submissions import discover

ROOT = Path(__file__).resolve().parent.parent
CALLS = 500


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def start_and_call(folder: Path, sandbox: str) -> None:
    with Student(str(folder), ["mod"], launcher=make_launcher(sandbox)) as s:
        s.echo(1)


def per_call(folder: Path, sandbox: str) -> float:
    with Student(str(folder), ["mod"], launcher=make_launcher(sandbox)) as s:
        x = np.ones((4, 8))
        s.echo(x)
        return timed(lambda: [s.echo(x) for _ in range(CALLS)]) / CALLS


def grade_into_fresh_db(a, found, workers, sandbox):
    with tempfile.TemporaryDirectory() as scratch, Gradebook(Path(scratch) / "g.sqlite") as book:
        grade_class(a, found, book, workers=workers, sandbox=sandbox)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    a = assignments.load("vanilla_rnn", ROOT)
    found = discover([ROOT / "examples" / "submissions"], a.modules)
    perfect = next(s for s in found if s.student == "perfect")
    seed = seed_for(a.name, perfect.content_hash)
    scratch = Path(tempfile.mkdtemp(prefix="rnnkit-bench-"))
    (scratch / "mod.py").write_text("def echo(x):\n    return x\n")
    for sandbox in SANDBOXES:
        grade_submission(a, perfect, "warm-up", 0, sandbox)  # import pytest, numpy and the tests once

    measures = {
        "child start + first call": lambda s: timed(lambda: start_and_call(scratch, s)),
        "one call (4x8 array there and back)": lambda s: per_call(scratch, s),
        "one correct submission, warm grader": lambda s: timed(lambda: grade_submission(a, perfect, "b", seed, s)),
        f"sample class ({len(found)}), 1 worker": lambda s: timed(lambda: grade_into_fresh_db(a, found, 1, s)),
        f"sample class ({len(found)}), 2 workers": lambda s: timed(lambda: grade_into_fresh_db(a, found, 2, s)),
    }
    print(f"{'median over ' + str(args.repeats) + ' runs':<40} {'process':>10} {'bwrap':>10} {'ratio':>7}")
    for what, measure in measures.items():
        samples = {s: [] for s in SANDBOXES}
        for _ in range(args.repeats):
            for sandbox in SANDBOXES:   # interleaved
                samples[sandbox].append(measure(sandbox))
        medians = {s: statistics.median(v) for s, v in samples.items()}
        unit, scale = ("ms", 1e3) if medians["process"] < 0.5 else ("s", 1.0)
        print(f"{what:<40} {medians['process'] * scale:>8.2f}{unit:>2} {medians['bwrap'] * scale:>8.2f}{unit:>2}"
              f" {medians['bwrap'] / medians['process']:>7.2f}")


if __name__ == "__main__":
    main()
