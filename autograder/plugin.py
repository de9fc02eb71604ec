"""The pytest plugin that turns an assignment's tests into graded results.

Fixtures for tests:
- ``student``: a proxy for the submission (calls run in a separate process);
- ``oracle``: expected values (live reference in the grader, stored answers locally);
- ``rng``: a ``numpy.random.RandomState`` seeded per submission and per test.

- ``baseline``: a proxy like ``student`` over a process that holds no student code
  (the reference solution in the grader, nothing but the drivers locally), for
  speed targets;
- ``speed``: the speed-target harness (:mod:`autograder.speed`).

Markers: ``@pytest.mark.points(n)`` on each test and ``pytest.mark.question("id")``
(usually as a module's ``pytestmark``). Every collected test needs both.
``@pytest.mark.device("cuda")`` runs a test only where that device is present;
elsewhere it is "not run", and the assignment's ``[speed] missing_device`` policy
decides its points. Tests of the questions an assignment's ``[banned]`` table
lists fail when the submission uses one of its APIs, found by reading the source
and by tripwires in the child.

The runner activates a :class:`Session` before calling pytest; without one (a
student running plain ``pytest`` in their release folder) the plugin builds the
student's local session from the nearest ``assignment.toml``.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from autograder import banned
from autograder import speed as speed_module
from autograder.channel import NotPlainData
from autograder.checks import CheckFailed
from autograder.oracle import OracleMiss
from autograder.sandbox import SandboxFailure, SandboxUnavailable
from autograder.scoring import TestResult
from autograder.student import ChildSetup, Limits, ProcessLauncher, Student, StudentError

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
    setup: ChildSetup = field(default_factory=ChildSetup)   # preload, tripwires, drivers
    banned_apis: tuple[str, ...] = ()
    banned_questions: frozenset = frozenset()
    devices: frozenset = frozenset({"cpu"})
    missing_device: str = "exclude"  # or "award" or "zero"
    baseline_dir: Path | None = None   # the reference solution (grader only)
    baseline_modules: list[str] = field(default_factory=list)
    artifacts: tuple[str, ...] = ()     # files other than code the submission may bring
    artifact_bytes: int = 16 * 2**20
    _source_uses: list | None = None

    def source_uses(self) -> list:
        if self._source_uses is None:
            self._source_uses = banned.scan_files(self.submission_dir, [m + ".py" for m in self.modules],
                                                  list(self.banned_apis)) if self.banned_apis else []
        return self._source_uses


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
    config.addinivalue_line("markers", "device(name): run only where this device (cpu, cuda) is present")


NO_DEVICE = pytest.StashKey[str]()
MISSING_DEVICE_POLICIES = ("exclude", "award", "zero")


def pytest_runtest_setup(item):
    marker = item.get_closest_marker("device")
    if marker and _active is not None and marker.args[0] not in _active.devices:
        item.stash[NO_DEVICE] = marker.args[0]
        pytest.skip(f"not run: no {marker.args[0].upper()} device")


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
        uses = _banned_uses(item) if call.when == "call" else []
        if uses:
            report.outcome = "failed"
        _active.results.append(_result(item, call, report, uses))


def _banned_uses(item) -> list[str]:
    """The forbidden APIs this test's submission used, if its question forbids any."""
    question = item.get_closest_marker("question").args[0]
    if question not in _active.banned_questions:
        return []
    uses = [use.describe() for use in _active.source_uses()]
    proxy = item.funcargs.get("student")
    if isinstance(proxy, Student):
        try:
            hits = proxy.tripped()
        except StudentError:
            hits = []
        uses += [f"{h.get('where') or 'your code'}: called {h.get('api')}" for h in hits]
    return uses


def _result(item, call, report, banned_uses=()) -> TestResult:
    points = float(item.get_closest_marker("points").args[0])
    max_score = points
    status, verdict, message = "passed", "", ""
    if banned_uses:
        status, verdict = "failed", "banned API"
        message = ("this question must be solved without PyTorch's own recurrent layers and kernels: "
                   + "; ".join(banned_uses[:3]) + (f" (and {len(banned_uses) - 3} more)" if len(banned_uses) > 3 else ""))
    elif report.skipped and NO_DEVICE in item.stash:
        policy = _active.missing_device
        verdict = "not run"
        message = f"not run: no {item.stash[NO_DEVICE].upper()} device"
        if policy == "exclude":
            status, max_score = "failed", 0.0
            message += " (its points are left out of the maximum)"
        elif policy == "award":
            message += " (its points are awarded)"
        else:
            status = "failed"
    elif report.skipped:
        status, verdict = "failed", "not run"
        message = str(call.excinfo.value) if call.excinfo else "skipped"
    elif report.failed:
        status = "failed"
        verdict, message = feedback(call.excinfo.value) if call.excinfo else ("error", "failed")
    score = max_score if status == "passed" else 0.0
    if status == "passed" and CREDIT in item.stash and item.stash[CREDIT][0] < 1:
        fraction, message = item.stash[CREDIT]
        status, verdict, score = "failed", "partial credit", round(max_score * fraction, 2)
    return TestResult(
        test_id=test_id(item),
        name=_readable_name(item),
        question=item.get_closest_marker("question").args[0],
        max_score=max_score,
        score=score,
        status=status, verdict=verdict, message=message,
        visibility="hidden" if "hidden" in Path(item.path).parts else "public",
        seconds=round(call.duration, 4),
        measurement=item.stash.get(speed_module.MEASUREMENT, ""),
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
                    problem=session.problem, setup=session.setup)
    yield proxy
    proxy.close()


@pytest.fixture(scope="session")
def baseline(request, tmp_path_factory):
    """A proxy over a process that holds no student code: the reference solution's modules
    in the grader, only the assignment's drivers on a student's machine. It runs trusted
    code only, so it is a plain process without an address-space limit (CUDA needs one
    far larger than it uses)."""
    session = _session(request.config)
    folder = session.baseline_dir or tmp_path_factory.mktemp("baseline")
    modules = session.baseline_modules if session.baseline_dir else []
    limits = Limits(call_timeout_s=max(session.limits.call_timeout_s, 60), submission_timeout_s=3600,
                    memory_mb=0, processes=4096)
    setup = ChildSetup(preload=session.setup.preload, drivers=session.setup.drivers)
    proxy = Student(str(folder), modules, limits, ProcessLauncher(), setup=setup)
    yield proxy
    proxy.close()


@pytest.fixture
def speed(request, student, baseline):
    return speed_module.SpeedHarness(request.node, student, baseline)


CREDIT = pytest.StashKey[tuple]()


@pytest.fixture
def partial_credit(request):
    """``partial_credit(fraction, message)``: this test, if it passes, earns only ``fraction``
    (0 to 1) of its points, and the student reads ``message`` (why, and how to earn the rest).
    A test that fails still earns nothing; one that never calls this earns all its points."""
    def award(fraction: float, message: str) -> None:
        fraction = float(fraction)
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"partial credit must be a fraction from 0 to 1, not {fraction}")
        request.node.stash[CREDIT] = (fraction, message)
    return award


@pytest.fixture(scope="session")
def submitted_file(request):
    """``submitted_file(name)``: the bytes of one of the assignment's artifacts (``[artifacts]
    files``) as submitted, or None when the submission has none of that name. Read here, in
    the grader, never by the student's process; a link is not followed, and a file over the
    size limit raises :class:`~autograder.checks.CheckFailed` with a message for the student."""
    session = _session(request.config)

    def read(name: str) -> bytes | None:
        if name not in session.artifacts:
            raise ValueError(f"{name!r} is not one of the assignment's artifacts {list(session.artifacts)}")
        path = session.submission_dir / name
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise CheckFailed(f"{name} cannot be read ({exc.strerror or exc}): submit the file itself") from None
        with open(fd, "rb") as file:
            if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
                raise CheckFailed(f"{name} is not a regular file: submit the file itself")
            data = file.read(session.artifact_bytes + 1)
        if len(data) > session.artifact_bytes:
            raise CheckFailed(f"{name} is larger than {session.artifact_bytes / 2**20:g} MB, the limit for "
                              "this file: make it smaller (fewer parameters, or float16/float32 weights)")
        return data
    return read


@pytest.fixture(scope="session")
def oracle(request):
    return _session(request.config).oracle


@pytest.fixture
def rng(request):
    """A RandomState (its stream is stable across numpy versions) per submission and test."""
    seed = _session(request.config).seed
    digest = hashlib.sha256(f"{seed}:{test_id(request.node)}".encode()).digest()
    return np.random.RandomState(int.from_bytes(digest[:4], "big"))

