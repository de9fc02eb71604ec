"""Grade many submissions into the gradebook, in parallel, skipping work already done."""

from __future__ import annotations

import hashlib
import multiprocessing
import multiprocessing.util
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from autograder.assignment import Assignment
from autograder.executors import LocalExecutor
from autograder.gradebook import Gradebook
from autograder.grading import run_assignment_tests
from autograder.runner import GraderError
from autograder.sandbox import SandboxUnavailable, make_launcher
from autograder.scoring import SubmissionResult
from autograder.student import WarmPool
from autograder.submissions import Submission


@dataclass
class Outcome:
    student: str
    result: SubmissionResult | None
    cached: bool = False
    grader_error: str = ""     # the grader failed; nothing was recorded, a rerun retries
    submission_id: str = ""    # where the gradebook holds the result ("" when grader_error)


def submission_id(assignment: str, fingerprint: str, content_hash: str) -> str:
    return hashlib.sha256(f"{assignment}\0{fingerprint}\0{content_hash}".encode()).hexdigest()[:24]


def seed_for(assignment: str, content_hash: str) -> int:
    """Fixed per submission, so grading the same work twice gives the same inputs."""
    return int(hashlib.sha256(f"{assignment}\0{content_hash}".encode()).hexdigest()[:8], 16) & 0x7FFFFFFF


def grade_class(assignment: Assignment, submissions: list[Submission], gradebook: Gradebook,
                workers: int = 1, on_outcome=None, sandbox: str = "bwrap", force: bool = False,
                devices=frozenset({"cpu"}), executor=None, keep_results: bool = True,
                warm: bool = True) -> list[Outcome]:
    """Grade every submission not already in ``gradebook`` (all of them with ``force``) with
    student code isolated by ``sandbox`` ("bwrap" or "process"); one outcome per submission.
    Tests marked for a device outside ``devices`` are not run (see :mod:`autograder.devices`).

    ``executor`` grades the submissions: by default a :class:`~autograder.executors.LocalExecutor`
    of ``workers`` processes; a :class:`~autograder.executors.DaskExecutor` grades on a cluster.
    Each result is committed to ``gradebook`` as soon as it arrives, once per submission id.
    ``on_outcome`` sees every outcome with its result; with ``keep_results=False`` the outcomes
    returned are light (``result`` is None; read it back by ``submission_id``), so that memory
    stays flat however large the class. ``warm=False`` grades each submission in a fresh
    process with no warm children (the cold baseline of bench/grade_throughput.py)."""
    devices = frozenset(devices)
    # Grading with a GPU runs tests that grading without one skips: a different grade.
    fingerprint = assignment.fingerprint() + ("+cuda" if "cuda" in devices else "")
    outcomes, todo = [], {}

    def keep(outcome: Outcome) -> None:
        _report(outcome, on_outcome)
        outcomes.append(outcome if keep_results or outcome.result is None else replace(outcome, result=None))

    for sub in submissions:
        sid = submission_id(assignment.name, fingerprint, sub.content_hash)
        if not force and gradebook.has(sid, mode=sandbox):
            gradebook.assign(assignment.name, sub.student, sid, str(sub.source))
            keep(Outcome(sub.student, gradebook.load(sid, sub.student), cached=True, submission_id=sid))
        else:
            todo.setdefault(sid, []).append(sub)

    def finish(sid: str, result: SubmissionResult | None, error: str) -> None:
        subs = todo.pop(sid, None)
        if subs is None:
            return  # already recorded: a result that arrives twice is stored once
        first, *same = subs
        if result is not None:
            gradebook.record(result, first.content_hash, fingerprint, str(first.source), sandbox)
            for other in same:  # identical files: graded once, recorded for each student
                gradebook.assign(assignment.name, other.student, sid, str(other.source))
        for sub in subs:
            mine = None if result is None else gradebook.load(sid, sub.student)
            keep(Outcome(sub.student, mine, grader_error=error, submission_id="" if result is None else sid))

    jobs = [(subs[0], sid, seed_for(assignment.name, subs[0].content_hash), sandbox, devices)
            for sid, subs in todo.items()]
    for sid, result, error in (executor or LocalExecutor(workers, cold=not warm)).run(assignment, jobs):
        finish(sid, result, error)
    return sorted(outcomes, key=lambda o: o.student)


def _report(outcome: Outcome, on_outcome) -> Outcome:
    if on_outcome is not None:
        on_outcome(outcome)
    return outcome


def grade_submission(assignment: Assignment, submission: Submission, sid: str,
                     seed: int, sandbox: str = "bwrap", devices=frozenset({"cpu"}),
                     warm: bool = True) -> tuple[SubmissionResult | None, str]:
    """Grade one submission in this process; (result, "") or (None, why the grader failed).
    With ``warm``, its child comes from this process's warm pool (see :func:`launcher_for`)."""
    scratch = Path(tempfile.mkdtemp(prefix="rnnkit-submission-"))
    start = time.perf_counter()
    try:
        folder = submission.write_to(scratch / "submission")
        launcher = launcher_for(sandbox, "cuda" in devices, warm)
        tests = run_assignment_tests(assignment, folder, seed, launcher=launcher,
                                     problem=submission.problem, devices=devices)
    except (GraderError, SandboxUnavailable) as exc:
        return None, str(exc)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    result = SubmissionResult(student=submission.student, submission_id=sid, assignment=assignment.name,
                              tests=tests, problem=submission.problem or _load_problem(tests), seed=seed,
                              seconds=round(time.perf_counter() - start, 3), mode=sandbox)
    return result, ""


# What one grading worker holds at its peak (the grader process, its student child, the
# warm spare and, for speed targets, the baseline process), measured as the total RSS of
# its process tree: 130 MB on assignment 1 (numpy), 1030 MB on assignment 2 (torch in
# all four). With room to spare:
WORKER_MB = {"numpy": 400, "torch": 1500}


def default_workers(assignment: Assignment, cores: int | None = None, available_mb: int | None = None) -> int:
    """As many workers as cores, but no more than the memory available can hold."""
    cores = cores or len(os.sched_getaffinity(0))
    available_mb = available_mb if available_mb is not None else _available_mb()
    per_worker = WORKER_MB["torch" if "torch" in assignment.extra.get("preload", []) else "numpy"]
    return max(1, min(cores, available_mb // per_worker))


def _available_mb() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 1 << 30  # unknown: let the core count decide


_warm_pools: dict[tuple, WarmPool] = {}


def launcher_for(sandbox: str, gpu: bool, warm: bool):
    """The launcher for this grading process: with ``warm``, one kept for the process's
    life that has the next child started and its libraries imported before it is needed
    (:class:`~autograder.student.WarmPool`), where children cannot reach each other."""
    launcher = make_launcher(sandbox, gpu=gpu)
    if not warm or not launcher.isolates_children:
        return launcher
    key = (sandbox, gpu)
    if key not in _warm_pools:
        _warm_pools[key] = WarmPool(launcher)
        # Pool worker processes end through multiprocessing, which runs these finalizers
        # (atexit handlers it skips): the spare child is stopped and its slot freed.
        multiprocessing.util.Finalize(None, _warm_pools[key].close, exitpriority=10)
    return _warm_pools[key]


def close_warm_pools() -> None:
    for pool in _warm_pools.values():
        pool.close()
    _warm_pools.clear()


def _load_problem(tests) -> str:
    """A submission-level message when every test failed because the code did not load."""
    if tests and all(t.verdict == "not loaded" for t in tests):
        return tests[0].message
    return ""
