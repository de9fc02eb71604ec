"""Warm children: started ahead with their libraries imported, each still a sandbox of its own."""

import os

import pytest

from autograder.sandbox import make_launcher
from autograder.student import ChildSetup, Limits, ProcessLauncher, Student, WarmPool

from conftest import sandbox_processes, write_module

FIRST = '''
import os, subprocess, sys

def leave_traces():
    for folder in ("/tmp", "/dev/shm", os.environ.get("HOME", "/tmp")):
        with open(os.path.join(folder, "left-behind"), "w") as f:
            f.write("secret")
    subprocess.Popen([sys.executable, "-c", "import os, time; os.setsid(); time.sleep(60)"],
                     start_new_session=True)
    return os.getuid()
'''

SECOND = '''
import os

def look():
    traces = [folder for folder in ("/tmp", "/dev/shm", os.environ.get("HOME", "/tmp"))
              if os.path.exists(os.path.join(folder, "left-behind"))]
    others = [pid for pid in os.listdir("/proc") if pid.isdigit() and int(pid) != os.getpid()]
    sleeping = []
    for pid in others:
        try:
            if b"time.sleep(60)" in open(f"/proc/{pid}/cmdline", "rb").read():
                sleeping.append(pid)
        except OSError:
            pass
    return traces, sleeping, os.getuid()
'''


def test_each_submission_gets_a_fresh_sandbox_from_the_warm_pool(tmp_path):
    pool = WarmPool(make_launcher("bwrap"))
    first = write_module(tmp_path / "first", FIRST)
    second = write_module(tmp_path / "second", SECOND)
    try:
        with Student(str(first), ["mod"], Limits(call_timeout_s=30), pool) as a:
            first_uid = a.leave_traces()
        [spare] = pool._spares.values()     # started while the first submission ran
        with Student(str(second), ["mod"], Limits(call_timeout_s=30), pool) as b:
            traces, sleeping, second_uid = b.look()
            took_a_warm_child = b._process is spare
    finally:
        pool.close()
    assert traces == [] and sleeping == []
    assert took_a_warm_child
    if os.geteuid() == 0:  # each sandbox has a UID of its own
        assert first_uid != second_uid
    for _ in range(100):
        if not sandbox_processes():
            break
    assert sandbox_processes() == []


def test_a_warm_child_imports_the_libraries_before_its_submission_exists(tmp_path):
    pool = WarmPool(make_launcher("bwrap"))
    setup = ChildSetup(preload=("numpy",))
    folder = write_module(tmp_path / "sub", "import sys\n\ndef preloaded():\n    return 'numpy' in sys.modules\n")
    try:
        with Student(str(folder), ["mod"], Limits(), pool, setup=setup) as s:
            assert s.preloaded()            # a cold child, which starts the first spare
        spare = next(iter(pool._spares.values()))
        spare.wait_started()                # the spare is up, its submission folder still empty
        assert os.listdir(spare.submission_dir) == []
        with Student(str(folder), ["mod"], Limits(), pool, setup=setup) as s:
            assert s.preloaded() and s._process is spare
    finally:
        pool.close()


def test_plain_processes_under_the_graders_own_uid_are_never_kept_warm():
    launcher = ProcessLauncher()
    if launcher.drop_privileges:
        pytest.skip("this grader runs children as UIDs of their own")
    from autograder.batch import launcher_for

    assert not isinstance(launcher_for("process", False, warm=True), WarmPool)
    assert isinstance(launcher_for("bwrap", False, warm=True), WarmPool)


def test_the_default_worker_count_fits_the_memory_available(repo_root):
    from autograder import assignment as assignments
    from autograder.batch import WORKER_MB, default_workers

    numpy_only, with_torch = assignments.load("vanilla_rnn", repo_root), assignments.load("gated_rnn", repo_root)
    assert default_workers(numpy_only, cores=8, available_mb=64_000) == 8
    assert default_workers(with_torch, cores=8, available_mb=4 * WORKER_MB["torch"] + 10) == 4
    assert default_workers(with_torch, cores=8, available_mb=100) == 1   # always at least one
