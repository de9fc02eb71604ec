"""Grade one submission folder against an assignment's public and hidden tests."""

from __future__ import annotations

from pathlib import Path

from autograder.assignment import Assignment, session_options
from autograder.oracle import LiveOracle
from autograder.plugin import Session
from autograder.runner import run_tests
from autograder.scoring import TestResult


def run_assignment_tests(assignment: Assignment, submission_dir: Path, seed: int,
                         launcher=None, public_only: bool = False, oracle=None,
                         problem: str = "", devices=frozenset({"cpu"}),
                         select: str | None = None) -> list[TestResult]:
    """All of ``assignment``'s tests against the code in ``submission_dir``.

    Expected values come from the live reference unless ``oracle`` is given. A
    ``problem`` (the submission could not be read) fails every test with that message.
    ``devices`` are those present for tests marked with a device (see
    :func:`autograder.devices.available`); ``select`` is a pytest ``-k`` expression.
    """
    session = Session(
        submission_dir=Path(submission_dir),
        modules=assignment.modules,
        oracle=oracle or LiveOracle(assignment.oracle_file, assignment.solution_dir),
        seed=seed,
        limits=assignment.limits,
        launcher=launcher,
        tests_root=assignment.root / "tests",
        problem=problem,
        devices=frozenset(devices),
        baseline_dir=assignment.solution_dir,
        baseline_modules=assignment.modules,
        **session_options(assignment.extra, assignment.root),
    )
    folders = [assignment.public_tests] if public_only else [assignment.public_tests, assignment.hidden_tests]
    return run_tests(session, folders, select)
