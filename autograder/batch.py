"""Grade many submissions into the gradebook, in parallel, skipping work already done."""

from __future__ import annotations

import hashlib
import multiprocessing
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from autograder.assignment import Assignment
from autograder.gradebook import Gradebook
from autograder.grading import run_assignment_tests
from autograder.runner import GraderError
from autograder.sandbox import SandboxUnavailable, make_launcher
from autograder.scoring import SubmissionResult
from autograder.submissions import Submission


@dataclass
class Outcome:
    student: str
    result: SubmissionResult | None
    cached: bool = False
    grader_error: str = ""     # the grader failed; nothing was recorded, a rerun retries


def submission_id(assignment: str, fingerprint: str, content_hash: str) -> str:
    return hashlib.sha256(f"{assignment}\0{fingerprint}\0{content_hash}".encode()).hexdigest()[:24]


def seed_for(assignment: str, content_hash: str) -> int:
    """Fixed per submission, so grading the same work twice gives the same inputs."""
    return int(hashlib.sha256(f"{assignment}\0{content_hash}".encode()).hexdigest()[:8], 16) & 0x7FFFFFFF


def grade_class(assignment: Assignment, submissions: list[Submission], gradebook: Gradebook,
                workers: int = 1, on_outcome=None, sandbox: str = "bwrap", force: bool = False,
                devices=frozenset({"cpu"})) -> list[Outcome]:
    """Grade every submission not already in ``gradebook`` (all of them with ``force``) with
    student code isolated by ``sandbox`` ("bwrap" or "process"); one outcome per submission.
    Tests marked for a device outside ``devices`` are not run (see :mod:`autograder.devices`)."""
    devices = frozenset(devices)
    # Grading with a GPU runs tests that grading without one skips: a different grade.
    fingerprint = assignment.fingerprint() + ("+cuda" if "cuda" in devices else "")
    outcomes, todo = [], {}
    for sub in submissions:
        sid = submission_id(assignment.name, fingerprint, sub.content_hash)
        if not force and gradebook.has(sid, mode=sandbox):
            gradebook.assign(assignment.name, sub.student, sid, str(sub.source))
            outcomes.append(_report(Outcome(sub.student, gradebook.load(sid, sub.student), cached=True), on_outcome))
        else:
            todo.setdefault(sid, []).append(sub)

    def finish(sid: str, result: SubmissionResult | None, error: str) -> None:
        first, *same = todo[sid]
        if result is not None:
            gradebook.record(result, first.content_hash, fingerprint, str(first.source), sandbox)
            for other in same:  # identical files: graded once, recorded for each student
                gradebook.assign(assignment.name, other.student, sid, str(other.source))
        for sub in todo[sid]:
            mine = None if result is None else gradebook.load(sid, sub.student)
            outcomes.append(_report(Outcome(sub.student, mine, grader_error=error), on_outcome))

    jobs = [(assignment, subs[0], sid, seed_for(assignment.name, subs[0].content_hash), sandbox, devices)
            for sid, subs in todo.items()]
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            finish(job[2], *grade_submission(*job))
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = {pool.submit(grade_submission, *job): job[2] for job in jobs}
            for future in as_completed(futures):
                finish(futures[future], *future.result())
    return sorted(outcomes, key=lambda o: o.student)


def _report(outcome: Outcome, on_outcome) -> Outcome:
    if on_outcome is not None:
        on_outcome(outcome)
    return outcome


def grade_submission(assignment: Assignment, submission: Submission, sid: str,
                     seed: int, sandbox: str = "bwrap",
                     devices=frozenset({"cpu"})) -> tuple[SubmissionResult | None, str]:
    """Grade one submission in this process; (result, "") or (None, why the grader failed)."""
    scratch = Path(tempfile.mkdtemp(prefix="rnnkit-submission-"))
    start = time.perf_counter()
    try:
        folder = submission.write_to(scratch / "submission")
        tests = run_assignment_tests(assignment, folder, seed, launcher=make_launcher(sandbox, gpu="cuda" in devices),
                                     problem=submission.problem, devices=devices)
    except (GraderError, SandboxUnavailable) as exc:
        return None, str(exc)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    result = SubmissionResult(student=submission.student, submission_id=sid, assignment=assignment.name,
                              tests=tests, problem=submission.problem or _load_problem(tests), seed=seed,
                              seconds=round(time.perf_counter() - start, 3), mode=sandbox)
    return result, ""


def _load_problem(tests) -> str:
    """A submission-level message when every test failed because the code did not load."""
    if tests and all(t.verdict == "not loaded" for t in tests):
        return tests[0].message
    return ""
