"""The student's side: run the public tests on their own work, with stored answers."""

from __future__ import annotations

from pathlib import Path

from autograder import devices
from autograder.assignment import CONFIG, AssignmentError, parse_config, session_options
from autograder.oracle import ReplayOracle
from autograder.plugin import PUBLIC_SEED, Session
from autograder.runner import run_tests
from autograder.scoring import TestResult
from autograder.student import Limits

EXPECTED_VALUES = "expected_values.json"


def find_release(start: Path) -> Path:
    """The nearest folder at or above ``start`` that holds an ``assignment.toml``."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG).is_file():
            return folder
    raise AssignmentError(f"no {CONFIG} in {start} or above: run this inside the assignment folder "
                          "you downloaded (the one with the .py files to fill in)")


def student_session(*starts: Path) -> Session:
    errors = []
    for start in starts:
        try:
            release = find_release(start)
            break
        except AssignmentError as exc:
            errors.append(exc)
    else:
        raise errors[0]
    config = parse_config(release / CONFIG)
    return Session(
        submission_dir=release,
        modules=list(config["modules"]),
        oracle=ReplayOracle(release / "tests" / EXPECTED_VALUES),
        seed=PUBLIC_SEED,
        limits=Limits(**config.get("limits", {})),
        tests_root=release / "tests",
        devices=devices.available("auto"),
        **session_options(config, release),
    )


def check(path: Path, select: str | None = None) -> tuple[dict, list[TestResult]]:
    """Run the public tests in the release folder at or above ``path``; return (config, results)."""
    session = student_session(path)
    config = parse_config(session.submission_dir / CONFIG)
    return config, run_tests(session, [session.tests_root / "public"], select)
