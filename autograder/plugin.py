"""The pytest plugin that turns an assignment's tests into graded results.

Fixtures for tests:
- ``student``: a proxy for the submission (calls run in a separate process);
- ``oracle``: expected values (live reference in the grader, stored answers locally);
- ``rng``: a ``numpy.random.RandomState`` seeded per submission and per test.

Markers: ``@pytest.mark.points(n)`` on each test and ``pytest.mark.question("id")``
(usually as a module's ``pytestmark``). Every collected test needs both.

The runner activates a :class:`Session` before calling pytest; without one (a
student running plain ``pytest`` in their release folder) the plugin builds the
student's local session from the nearest ``assignment.toml``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from autograder.channel import NotPlainData
from autograder.checks import CheckFailed
from autograder.oracle import OracleMiss
from autograder.sandbox import SandboxFailure, SandboxUnavailable
from autograder.scoring import TestResult
from autograder.student import Limits, Student, StudentError

PUBLIC_SEED = 0


@dataclass
class Session:
    """Everything one pytest run needs to grade one submission."""

    submission_dir: Path
    modules: list[str]
    oracle: object
    seed: int = PUBLIC_SEED
    limits: Limits = field(default_factory=Limits)
    launcher: object = None
    tests_root: Path | None = None
    problem: str = ""               # the submission could not be read: every call fails with this
    results: list[TestResult] = field(default_factory=list)
    collection_errors: list[str] = field(default_factory=list)
    grader_failure: str = ""        # the sandbox would not start: nothing here is a grade


_active: Session | None = None


def activate(session: Session | None) -> None:
    global _active
    _active = session


def _session(config) -> Session:
    global _active
    if _active is None:
        from autograder.local import student_session  # only for plain `pytest` runs

        _active = student_session(Path(config.invocation_params.dir), Path(config.rootpath))
    return _active


# ---------------------------------------------------------------------------
# hooks


def pytest_configure(config):
    config.addinivalue_line("markers", "points(n): points this test is worth")
    config.addinivalue_line("markers", "question(id): the assignment question this test belongs to")


def pytest_collection_modifyitems(session, config, items):
    missing = [item.nodeid for item in items
               if not item.get_closest_marker("points") or not item.get_closest_marker("question")]
    if missing:
        raise pytest.UsageError("every graded test needs @pytest.mark.points(n) and a "
                                "pytest.mark.question('id'); these have not: " + ", ".join(missing))


def pytest_collectreport(report):
    if report.failed and _active is not None:
        _active.collection_errors.append(f"{report.nodeid}: {report.longreprtext[-2000:]}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if _active is None:
        return
    if call.excinfo is not None and isinstance(call.excinfo.value, (SandboxFailure, SandboxUnavailable)):
        _active.grader_failure = str(call.excinfo.value)
        item.session.shouldstop = "the sandbox failed"
        return
    if call.when == "call" or (call.when == "setup" and not report.passed):
        _active.results.append(_result(item, call, report))


def _result(item, call, report) -> TestResult:
    points = float(item.get_closest_marker("points").args[0])
    status, verdict, message = "passed", "", ""
    if report.skipped:
        status, verdict = "failed", "not run"
        message = str(call.excinfo.value) if call.excinfo else "skipped"
    elif report.failed:
        status = "failed"
        verdict, message = feedback(call.excinfo.value) if call.excinfo else ("error", "failed")
    return TestResult(
        test_id=test_id(item),
        name=_readable_name(item),
        question=item.get_closest_marker("question").args[0],
        max_score=points,
        score=points if status == "passed" else 0.0,
        status=status, verdict=verdict, message=message,
        visibility="hidden" if "hidden" in Path(item.path).parts else "public",
        seconds=round(call.duration, 4),
    )


def feedback(exc: BaseException) -> tuple[str, str]:
    """(verdict, message) for a failed test; the message never shows test code or answers."""
    if isinstance(exc, StudentError):
        return exc.verdict, str(exc)
    if isinstance(exc, NotPlainData):
        return "bad result", str(exc)
    if isinstance(exc, CheckFailed):
        return "wrong", str(exc)
    if isinstance(exc, AssertionError):
        return "wrong", str(exc) or "a check on your result failed"
    if isinstance(exc, OracleMiss):
        return "grader error", str(exc)
    text = str(exc)[:300]
    return "error", f"checking your result raised {type(exc).__name__}" + (f": {text}" if text else "")


def test_id(item) -> str:
    kind = "hidden" if "hidden" in Path(item.path).parts else "public"
    return f"{kind}/{Path(item.path).name}::{item.name}"


def _readable_name(item) -> str:
    doc = (getattr(getattr(item, "function", None), "__doc__", None) or "").strip()
    return doc.splitlines()[0].rstrip(".") if doc else item.name


# ---------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="session")
def student(request):
    session = _session(request.config)
    proxy = Student(str(session.submission_dir), session.modules, session.limits, session.launcher,
                    problem=session.problem)
    yield proxy
    proxy.close()


@pytest.fixture(scope="session")
def oracle(request):
    return _session(request.config).oracle


@pytest.fixture
def rng(request):
    """A RandomState (its stream is stable across numpy versions) per submission and test."""
    seed = _session(request.config).seed
    digest = hashlib.sha256(f"{seed}:{test_id(request.node)}".encode()).digest()
    return np.random.RandomState(int.from_bytes(digest[:4], "big"))

