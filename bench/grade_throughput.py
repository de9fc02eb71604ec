"""How fast a whole class is graded, against the floor of what the tests themselves cost.

Run: python bench/grade_throughput.py [--sizes 50 100 200] [--repeats 3] [--cold-sizes 50] [--quick]

The class. N submissions for assignment ``vanilla_rnn``, a fixed mix cycled in order:
every student of the bundled sample class (``examples/submissions``: correct ones,
a zip, and classic bugs; the misnamed file is saved as ``rnn_layers (I).py``, the
name a browser gives a second download) and six hostile submissions from
``tests/adversarial`` that finish quickly (lying results, monkeypatched comparisons,
hunting the disk for answers, exiting at import, writing fake results, snooping
frames and the garbage collector), each the stub plus its attack as the adversarial
suite builds it. The hostile ones that spend a time or resource limit (sleeps,
loops, fork and memory bombs, output floods, a full disk) are left out: they would
measure the limits, not the grader. Every copy ends with a comment holding its
index, so no two have the same content (identical files are graded once).

The floor. The reference solution graded by the same pytest session with the
``student`` proxy replaced by an in-process stand-in: the module imported into the
grading process and called directly, array arguments copied (as they would be by
crossing the channel), mutation checked the same way. It includes pytest's
collection and run of every public and hidden test, the plugin, the live oracle
(the reference computing expected values), the checks (numeric gradients
included) and the reference's own computations as the student's. It excludes
everything isolation costs: no child process, sandbox, channel, encoding, warm
pool, pool workers or gradebook. It is measured warm (one run first, then the
median of ``--floor-repeats``), for a correct submission.

The runs. Each grading run is a fresh Python process (so each starts with no warm
pool, an empty gradebook and its own ``ru_maxrss``) that calls
``grade_class(assignment, submissions, Gradebook(tmp), workers=W, sandbox="bwrap")``
and times that call alone (imports, reading the assignment and discovering the
submissions are before it; starting pool workers is in it). Warm (the default: each grading process keeps its next
sandboxed child started with its libraries imported) with W = 1 and W = every core,
and cold (``warm=False``: a fresh process per submission, no prestarted children)
for ``--cold-sizes``. The modes and worker counts are interleaved within each
repeat so that all see the same machine state. While a run goes, this process
samples the total RSS of the run's whole process tree (the grader, its pool
workers, every sandbox and child) from /proc every 0.1 s; RSS counts shared pages
(numpy, the interpreter) once per process, so the peak overstates the memory really
used. The grader's own peak is its ``ru_maxrss``. Every figure is the median over
``--repeats`` runs. ``--quick`` (N=10, one repeat) only checks that the script works.

Where the machine is busy with other work the figures are not comparable (a
speed-up above the core count is the sign): run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import inspect
import io
import itertools
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

ASSIGNMENT = "vanilla_rnn"
MODULE = "rnn_layers.py"
SAMPLE = ROOT / "examples" / "submissions"
ADVERSARIAL = ROOT / "tests" / "adversarial"
STUB = ROOT / "student_template" / ASSIGNMENT / MODULE
HOSTILE = ["lying_results", "monkeypatch_comparisons", "hunt_for_answers", "exit_at_import",
           "write_results", "snoop_frames_and_gc"]
PAGE = os.sysconf("SC_PAGE_SIZE")


# ---------------------------------------------------------------------------
# the class


def templates() -> list[tuple[str, dict[str, bytes], bool]]:
    """(name, files by path inside the submission, zipped) for each kind of submission in the mix."""
    found = []
    for entry in sorted(SAMPLE.iterdir()):
        if entry.is_dir():
            files = {str(p.relative_to(entry)): p.read_bytes() for p in sorted(entry.rglob("*")) if p.is_file()}
            found.append((entry.name, files, False))
        elif entry.suffix == ".zip":
            with zipfile.ZipFile(entry) as archive:
                files = {info.filename: archive.read(info) for info in archive.infolist() if not info.is_dir()}
            found.append((entry.stem, files, True))
    stub = STUB.read_text()
    for case in HOSTILE:   # as tests/test_adversarial.py builds them (all six are stub-based)
        attack = (ADVERSARIAL / f"{case}.py").read_text()
        found.append((case, {MODULE: (stub + "\n\n# --- hostile part\n" + attack).encode()}, False))
    return found


def build_class(n: int, dest: Path) -> list[str]:
    """N submissions under ``dest``, one folder or zip each; their kinds, in order."""
    kinds = []
    for index, (kind, files, zipped) in zip(range(n), itertools.cycle(templates())):
        name = f"s{index:04d}-{kind}"
        copies = {}
        for path, content in files.items():
            if path.endswith(".py"):
                content = content + f"\n# copy {index}\n".encode()
                if Path(path).name == "rnn_layer.py":   # the misnamed file: nothing else of it is read
                    path = str(Path(path).with_name(f"rnn_layers ({index}).py"))
            copies[path] = content
        if zipped:
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                for path, content in sorted(copies.items()):
                    archive.writestr(path, content)
            (dest / f"{name}.zip").write_bytes(buffer.getvalue())
        else:
            for path, content in copies.items():
                (dest / name / path).parent.mkdir(parents=True, exist_ok=True)
                (dest / name / path).write_bytes(content)
        kinds.append(kind)
    return kinds


# ---------------------------------------------------------------------------
# the floor: the same tests against the reference, no isolation at all


class InProcessStudent:
    """A stand-in for :class:`autograder.student.Student` with the submission imported
    into this process: calls are direct, array arguments are copied as the channel
    would copy them, mutations found as the child finds them."""

    _count = 0

    def __init__(self, submission_dir, modules, limits=None, launcher=None, problem="", setup=None):
        from autograder.student import CallRecord, MissingFunction, StudentRaised
        from autograder.worker import _fingerprint

        self._record, self._missing, self._raised, self._fingerprint = \
            CallRecord, MissingFunction, StudentRaised, _fingerprint
        self._modules = []
        for module in modules:
            InProcessStudent._count += 1
            name = f"rnnkit_floor_{module}_{InProcessStudent._count}"
            spec = importlib.util.spec_from_file_location(name, Path(submission_dir) / f"{module}.py")
            loaded = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(loaded)
            self._modules.append(loaded)
        self.last_call = None

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args, **kwargs: self.call(name, *args, **kwargs)

    def _find(self, name):
        for module in self._modules:
            fn = getattr(module, name, None)
            if callable(fn):
                return fn
        return None

    def _invoke(self, name, args, kwargs):
        fn = self._find(name)
        if fn is None:
            raise self._missing(f"no function named {name}")
        args, kwargs = _copy_arrays(list(args)), _copy_arrays(dict(kwargs))
        before = [self._fingerprint(a) for a in args]
        start = time.perf_counter()
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - the submission's error, as the child reports it
            raise self._raised(f"{name} raised {type(exc).__name__}: {exc}") from None
        seconds = time.perf_counter() - start
        mutated = [f"argument {i + 1}" for i, a in enumerate(args) if self._fingerprint(a) != before[i]]
        return result, mutated, seconds

    def call(self, name, *args, **kwargs):
        self.last_call = None
        result, mutated, seconds = self._invoke(name, args, kwargs)
        self.last_call = self._record(name, mutated, seconds)
        return result

    def map(self, name, calls, output=None):
        self.last_call = None
        results, mutated, seconds = [], [], 0.0
        for args in calls:
            result, changed, spent = self._invoke(name, args, {})
            results.append(result if output is None else result[output])
            mutated += [m for m in changed if m not in mutated]
            seconds += spent
        self.last_call = self._record(name, mutated, seconds)
        return results

    def has(self, name):
        return self._find(name) is not None

    def tripped(self):
        return []

    def pause(self):
        pass

    def resume(self):
        pass

    def close(self):
        pass


def _copy_arrays(value):
    import numpy as np

    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (list, tuple)):
        return type(value)(_copy_arrays(v) for v in value)
    if isinstance(value, dict):
        return {k: _copy_arrays(v) for k, v in value.items()}
    return copy.copy(value)


def measure_floor(repeats: int) -> tuple[float, float, float]:
    """(median seconds, score, max score) of grading the reference in-process, warm."""
    from autograder import assignment as assignments
    from autograder import plugin
    from autograder.grading import run_assignment_tests

    a = assignments.load(ASSIGNMENT, ROOT)
    real = plugin.Student
    plugin.Student = InProcessStudent   # the floor runs only; restored below
    try:
        samples, tests = [], []
        for i in range(repeats + 1):
            start = time.perf_counter()
            tests = run_assignment_tests(a, a.solution_dir, seed=1234 + i)
            if i:   # the first run imports pytest, numpy, the tests and the reference
                samples.append(time.perf_counter() - start)
    finally:
        plugin.Student = real
    return statistics.median(samples), sum(t.score for t in tests), sum(t.max_score for t in tests)


# ---------------------------------------------------------------------------
# one grading run, in a process of its own


def cold_supported() -> bool:
    from autograder.batch import grade_class

    return "warm" in inspect.signature(grade_class).parameters


def one_run(spec: dict) -> dict:
    """Runs in the child process: grade the class once; figures as a dict."""
    from autograder import assignment as assignments
    from autograder.batch import grade_class
    from autograder.gradebook import Gradebook
    from autograder.submissions import discover

    a = assignments.load(ASSIGNMENT, ROOT)
    found = discover([Path(spec["class_dir"])], a.modules)
    extra = {} if spec["warm"] else {"warm": False}
    scratch = Path(tempfile.mkdtemp(prefix="rnnkit-throughput-book-"))
    try:
        with Gradebook(scratch / "grades.sqlite") as book:
            start = time.perf_counter()
            outcomes = grade_class(a, found, book, workers=spec["workers"], sandbox="bwrap", **extra)
            wall = time.perf_counter() - start
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    by_kind: dict[str, list[float]] = {}
    scores: dict[str, set] = {}
    for o in outcomes:
        if o.result is not None:
            kind = o.student.split("-", 1)[1]
            by_kind.setdefault(kind, []).append(o.result.seconds)
            scores.setdefault(kind, set()).add(o.result.score)
    return {"wall": wall, "graded": sum(o.result is not None for o in outcomes),
            "distinct": len({o.result.submission_id for o in outcomes if o.result is not None}),
            "cached": sum(o.cached for o in outcomes),
            "errors": [f"{o.student}: {o.grader_error[:200]}" for o in outcomes if o.grader_error],
            "ru_maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            "seconds_by_kind": {k: statistics.median(v) for k, v in by_kind.items()},
            "scores_by_kind": {k: sorted(v) for k, v in scores.items()}}


def tree_rss(root: int) -> int:
    """Total resident bytes of ``root`` and every process below it, read from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        parents.setdefault(ppid, []).append(int(entry))
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        stack.extend(parents.get(pid, []))
        try:
            with open(f"/proc/{pid}/statm", "rb") as f:
                total += int(f.read().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            pass
    return total


def graded_run(class_dir: Path, workers: int, warm: bool, timeout: float) -> dict:
    """Grade the class in a fresh process, sampling its tree's RSS; that process's figures."""
    spec = json.dumps({"class_dir": str(class_dir), "workers": workers, "warm": warm})
    child = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--one-run", spec],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    peak, done = [0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], tree_rss(child.pid))
            done.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        out, err = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        out, err = child.communicate()
        raise RuntimeError(f"a grading run (W={workers}, warm={warm}) took over {timeout:.0f} s") from None
    finally:
        done.set()
        sampler.join()
    if child.returncode != 0:
        raise RuntimeError(f"a grading run (W={workers}, warm={warm}) failed:\n{err[-3000:]}")
    figures = json.loads(out.strip().splitlines()[-1])
    figures["peak_tree_rss"] = peak[0]
    return figures


# ---------------------------------------------------------------------------
# otter-grader, for comparison where it can be run


def otter_comparison() -> str:
    """Why the otter-grader comparison was not run (it is run only where all it needs is here)."""
    if importlib.util.find_spec("otter") is None or shutil.which("otter") is None:
        return ("not run: otter-grader is not installed in this environment (the optional extra: "
                "pip install -e '.[otter]')")
    # `otter run` grades locally, but an equivalent otter assignment (a master notebook with
    # its tests converted by `otter assign`) is not part of this repository.
    return "not run: otter-grader is installed, but no otter version of vanilla_rnn is bundled to time"


# ---------------------------------------------------------------------------


def median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 100, 200])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cold-sizes", type=int, nargs="*", default=[50],
                        help="class sizes also graded cold (a fresh process per submission)")
    parser.add_argument("--floor-repeats", type=int, default=5)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="'all cores' (default: every CPU)")
    parser.add_argument("--quick", action="store_true", help="N=10, one repeat: checks that the script works")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds one grading run may take")
    parser.add_argument("--one-run", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_run:
        print(json.dumps(one_run(json.loads(args.one_run))))
        return
    if args.quick:
        args.sizes, args.repeats, args.cold_sizes, args.floor_repeats = [10], 1, [10], 2

    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 160)   # a log keeps the whole table
    cores = max(1, args.workers)
    cold = cold_supported()
    odd = []
    if not cold:
        odd.append("cold baseline not run: grade_class has no `warm` parameter yet")
    floor, floor_score, floor_max = measure_floor(args.floor_repeats)
    if floor_score != floor_max:
        odd.append(f"the floor run scored {floor_score:g}/{floor_max:g}: the stand-in is not faithful")

    table = Table(title=f"Grading {ASSIGNMENT}: medians of {args.repeats} run(s); "
                        f"{cores} core(s); floor {floor:.3f} s per submission")
    for column in ["N", "mode", "per sub\n(W=1)", "overhead\n(/ floor)", "sub/s\n(W=1)",
                   f"sub/s\n(W={cores})", "sub/s\nper core", "speed-up\n1->" + str(cores),
                   "peak tree RSS\n(W=1)", f"peak tree RSS\n(W={cores})", "grader\nru_maxrss"]:
        table.add_column(column, justify="right")

    scratch = Path(tempfile.mkdtemp(prefix="rnnkit-throughput-"))
    try:
        for n in args.sizes:
            class_dir = scratch / f"class-{n}"
            class_dir.mkdir()
            build_class(n, class_dir)
            modes = [("warm", True)] + ([("cold", False)] if cold and n in args.cold_sizes else [])
            runs = {(mode, w): [] for mode, _ in modes for w in sorted({1, cores})}
            for _ in range(args.repeats):
                for (mode, w), samples in runs.items():   # interleaved: all see the same machine
                    figures = graded_run(class_dir, w, dict(modes)[mode], args.timeout)
                    samples.append(figures)
                    if figures["errors"]:
                        odd.append(f"N={n} {mode} W={w}: {len(figures['errors'])} grader error(s), "
                                   f"first: {figures['errors'][0]}")
                    if figures["graded"] != n or figures["distinct"] != n or figures["cached"]:
                        odd.append(f"N={n} {mode} W={w}: graded {figures['graded']}, distinct "
                                   f"{figures['distinct']}, cached {figures['cached']} (expected {n}, {n}, 0)")
            for mode, _ in modes:
                one, many = runs[(mode, 1)], runs[(mode, cores)]
                per_sub = median(one, "wall") / n
                rate_one, rate_many = n / median(one, "wall"), n / median(many, "wall")
                table.add_row(str(n), mode, f"{per_sub:.3f} s", f"{per_sub / floor:.1f}x",
                              f"{rate_one:.2f}", f"{rate_many:.2f}", f"{rate_many / cores:.2f}",
                              f"{rate_many / rate_one:.2f}x",
                              f"{median(one, 'peak_tree_rss') / 2**20:.0f} MiB",
                              f"{median(many, 'peak_tree_rss') / 2**20:.0f} MiB",
                              f"{median(one + many, 'ru_maxrss_kb') / 1024:.0f} MiB")
            slowest = sorted(runs[("warm", 1)][-1]["seconds_by_kind"].items(), key=lambda kv: -kv[1])[:3]
            console.print(f"N={n}: slowest kinds (warm, W=1, seconds each): "
                          + ", ".join(f"{k} {s:.2f}" for k, s in slowest), markup=False)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    console.print(table)
    console.print("How measured: each run is a fresh process timing grade_class(..., sandbox='bwrap') "
                  "into an empty gradebook (warm: the default prestarted child; cold: warm=False, a process "
                  "per submission); per sub = wall/N at W=1; floor = the same pytest session grading the "
                  "reference in-process (no child, sandbox or channel), warm, median; peak tree RSS = the "
                  "largest sum of RSS over the run's process tree, sampled every 0.1 s from /proc (shared "
                  "pages counted per process); grader ru_maxrss = the grading process's own peak.")
    console.print(f"otter-grader comparison: {otter_comparison()}", markup=False)
    for line in odd:
        console.print("note: " + line, markup=False)


if __name__ == "__main__":
    main()
