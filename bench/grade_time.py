"""Time to grade the bundled sample class and one submission, into a fresh gradebook each run.

Run: python bench/grade_time.py [--repeats N]
Prints medians over N runs: one correct submission in an already warm grader
process, and the whole class with 1 and 2 workers (each worker process pays its
own start-up: importing pytest, numpy and the tests).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from autograder import assignment as assignments
from autograder.batch import grade_class, grade_submission, seed_for
from autograder.gradebook import Gradebook
from autograder.submissions import discover

ROOT = Path(__file__).resolve().parent.parent


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def grade_into_fresh_db(a, found, workers):
    with tempfile.TemporaryDirectory() as scratch, Gradebook(Path(scratch) / "g.sqlite") as book:
        grade_class(a, found, book, workers=workers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    a = assignments.load("vanilla_rnn", ROOT)
    found = discover([ROOT / "examples" / "submissions"], a.modules)
    perfect = next(s for s in found if s.student == "perfect")
    grade_submission(a, perfect, "warm-up", 0)  # import pytest, numpy and the tests once

    rows = []
    one = [timed(lambda: grade_submission(a, perfect, "bench", seed_for(a.name, perfect.content_hash)))
           for _ in range(args.repeats)]
    rows.append(("one correct submission (in a warm grader)", statistics.median(one)))
    for workers in (1, 2):
        runs = [timed(lambda w=workers: grade_into_fresh_db(a, found, w)) for _ in range(args.repeats)]
        rows.append((f"sample class, {len(found)} submissions, {workers} worker(s)", statistics.median(runs)))
    print(f"{'what':<55} {'median s':>9}   ({args.repeats} runs each)")
    for what, seconds in rows:
        print(f"{what:<55} {seconds:>9.2f}")
    print(f"{'per submission, 1 worker':<55} {rows[1][1] / len(found):>9.2f}")


if __name__ == "__main__":
    main()
