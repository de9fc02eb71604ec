"""The bubblewrap sandbox: what a submission can see, reach and do, asked from inside it."""

from __future__ import annotations

import os

import pytest

from autograder import sandbox
from autograder.batch import grade_class
from autograder.gradebook import Gradebook
from autograder.sandbox import UID_BASE, BwrapLauncher, SandboxFailure, SandboxUnavailable
from autograder.student import Limits, MemoryLimit, OutputLimit, Student
from autograder.submissions import discover
from conftest import sandbox_processes, write_module

PROBES = '''
import ctypes
import os
import signal
import socket
import sys
import time


def environment():
    return sorted(os.environ)


def ids():
    return os.getuid(), os.geteuid(), os.getgid()


def effective_capabilities():
    for line in open("/proc/self/status"):
        if line.startswith("CapEff:"):
            return int(line.split()[1], 16)


def listing(path):
    try:
        return sorted(os.listdir(path))
    except OSError:
        return None


def readable(path):
    try:
        with open(path, "rb") as f:
            f.read(1)
        return True
    except OSError:
        return False


def writable(path):
    try:
        with open(path, "wb") as f:
            f.write(b"x")
        return True
    except OSError:
        return False


def tcp(host, port):
    try:
        socket.create_connection((host, port), timeout=2).close()
        return True
    except OSError:
        return False


def dns(name):
    try:
        socket.getaddrinfo(name, 80)
        return True
    except OSError:
        return False


def ptrace(pid):
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.ptrace(16, pid, 0, 0)  # PTRACE_ATTACH: -1 when refused


def processes():
    return sorted(int(p) for p in os.listdir("/proc") if p.isdigit())


def kill_everyone():
    try:
        os.kill(-1, signal.SIGKILL)
    except ProcessLookupError:
        pass  # nothing else in sight to kill
    return 1


def start_daemon():
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            while True:
                time.sleep(0.1)
        os._exit(0)
    return 1


def fork_until_refused(most):
    children = 0
    try:
        for _ in range(most):
            if os.fork() == 0:
                time.sleep(60)
                os._exit(0)
            children += 1
    except OSError:
        pass
    return children


def hog():
    hoard = []
    while True:
        hoard.append(bytearray(32 * 1024 * 1024))
        for i in range(0, len(hoard[-1]), 4096):
            hoard[-1][i] = 1


def flood():
    line = "x" * 10000 + "\\n"
    while True:
        sys.stdout.write(line)


def ok():
    return 1
'''

pytestmark = pytest.mark.skipif(os.geteuid() != 0 and not os.access("/proc/self/ns/user", os.R_OK),
                                reason="user namespaces unavailable")


@pytest.fixture
def inside(tmp_path):
    with Student(str(write_module(tmp_path / "submission", PROBES)), ["mod"],
                 Limits(call_timeout_s=10, memory_mb=512, file_size_mb=8, processes=32),
                 BwrapLauncher()) as s:
        yield s
    assert sandbox_processes() == []


def test_no_secret_from_the_graders_environment(inside, monkeypatch):
    monkeypatch.setenv("CANVAS_API_TOKEN", "secret-token")
    inside.close()
    names = inside.environment()
    assert "CANVAS_API_TOKEN" not in names and not any("TOKEN" in n for n in names)


def test_no_grader_file_is_visible(inside, repo_root, tmp_path):
    (tmp_path / "grades.sqlite").write_bytes(b"gradebook")
    (tmp_path / "other-student").mkdir()
    (tmp_path / "other-student" / "rnn_layers.py").write_text("work = 1\n")
    hidden = repo_root / "assignments" / "vanilla_rnn" / "tests" / "hidden" / "test_q1_rnn_step.py"
    for path in [repo_root / "solutions" / "vanilla_rnn" / "rnn_layers.py", hidden,
                 tmp_path / "grades.sqlite", tmp_path / "other-student" / "rnn_layers.py",
                 "/etc/shadow", "/etc/passwd", os.path.expanduser("~/.bash_history")]:
        assert not inside.readable(str(path)), path
    # only the engine and the Python environment are bound
    assert set(inside.listing(str(repo_root)) or []) <= {"autograder", ".venv"}
    assert inside.listing("/root") in (None, [], [".pyenv"])          # at most the path to Python
    assert inside.listing("/submission") == ["mod.py"]


@pytest.mark.skipif(os.geteuid() != 0, reason="the UID drop happens when the grader runs as root")
def test_runs_as_an_unprivileged_user_with_no_capabilities(inside):
    uid, euid, gid = inside.ids()
    assert uid == euid == gid and uid >= UID_BASE
    assert inside.effective_capabilities() == 0


def test_no_network(inside):
    assert not inside.tcp("1.1.1.1", 53)
    assert not inside.tcp("127.0.0.1", 22)
    assert not inside.dns("example.com")


def test_only_the_scratch_space_is_writable(inside):
    assert inside.writable("/tmp/notes.txt") and inside.writable("/dev/shm/x")
    for path in ["/submission/mod.py", "/submission/new.py", "/usr/x", "/x", "/etc/x"]:
        assert not inside.writable(path), path


def test_it_cannot_see_trace_or_kill_outside_itself(inside):
    assert inside.processes() == [1, 2]          # bwrap's init and the worker: no grader in sight
    assert inside.ptrace(os.getpid()) == -1      # the grader's PID means nothing in there
    assert inside.kill_everyone() == 1
    assert inside.ok() == 1


def test_a_setsid_daemon_dies_with_the_sandbox(inside):
    assert inside.start_daemon() == 1
    inside.close()
    assert sandbox_processes() == []


def test_processes_are_capped(inside):
    assert 0 < inside.fork_until_refused(200) < 32


def test_memory_and_output_limits_have_their_own_verdicts(inside):
    with pytest.raises(MemoryLimit, match="memory limit of 512 MB"):
        inside.hog()
    with pytest.raises(OutputLimit, match="output limit"):
        inside.flood()
    assert inside.ok() == 1


class FlakyLauncher(BwrapLauncher):
    """Fails to start the first ``failures`` sandboxes, as an overloaded host might."""

    def __init__(self, failures):
        super().__init__()
        self.failures, self.starts = failures, 0

    def start(self, *args):
        self.starts += 1
        if self.starts <= self.failures:
            raise SandboxFailure("bwrap: simulated failure")
        return super().start(*args)


def test_a_sandbox_that_fails_to_start_is_retried(tmp_path):
    launcher = FlakyLauncher(failures=2)
    with Student(str(write_module(tmp_path / "s", PROBES)), ["mod"], Limits(start_attempts=3), launcher) as s:
        assert s.ok() == 1
    assert launcher.starts == 3


def test_a_sandbox_that_keeps_failing_is_the_graders_fault_and_records_nothing(vanilla_rnn, repo_root,
                                                                                tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox, "BWRAP", "false")   # starts, prints nothing, exits 1
    monkeypatch.setattr(sandbox, "_probed", {"bwrap": ""})
    found = discover([repo_root / "examples" / "submissions" / "perfect"], vanilla_rnn.modules)
    with Gradebook(tmp_path / "g.sqlite") as book:
        [outcome] = grade_class(vanilla_rnn, found, book)
        assert book.class_results(vanilla_rnn.name) == []
    assert outcome.result is None
    assert "the sandbox failed to start 3 times" in outcome.grader_error


def test_missing_bwrap_is_explained_with_the_fix(monkeypatch):
    monkeypatch.setattr(sandbox, "BWRAP", "rnnkit-no-such-bwrap")
    monkeypatch.setattr(sandbox, "_probed", {})
    with pytest.raises(SandboxUnavailable) as info:
        sandbox.probe()
    message = str(info.value)
    assert "apt-get install bubblewrap" in message and "--sandbox=process" in message

