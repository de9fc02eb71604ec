"""The student proxy: calls cross to a child process, and every failure is a clear verdict.

Each behaviour holds with both launchers: the bubblewrap sandbox and the plain process."""

import os
import subprocess
import sys
import time

import numpy as np
import pytest

from autograder.student import (BadReply, Limits, MissingFunction, NotImplementedYet, ProcessLauncher, StaleHandle,
                                Student, StudentCrashed, StudentRaised, StudentTimeout, SubmissionNotLoaded)
from autograder.sandbox import SANDBOXES, make_launcher
from conftest import sandbox_processes, write_module

SOURCE = '''
import os
import subprocess
import sys
import time
import numpy as np

def add(a, b):
    return a + b

def scale_in_place(a):
    a *= 2
    return a

def with_cache(a):
    return a * 2, (a, object())

def use_cache(cache):
    return cache[0].sum()

def bad_shapes(a):
    return a @ np.ones((a.shape[1] + 1, 2))

def todo():
    raise NotImplementedError

def spin():
    while True:
        pass

def die():
    os._exit(3)

def secret():
    return os.environ.get("RNNKIT_TEST_SECRET", "")

def cwd_and_pid():
    return os.getcwd(), os.getpid()

print("printing at import time must not break the channel")
'''


@pytest.fixture(params=SANDBOXES)
def student(tmp_path, request):
    with Student(str(write_module(tmp_path / "sub", SOURCE)), ["mod"], Limits(call_timeout_s=2),
                 make_launcher(request.param)) as s:
        yield s


def test_results_come_back_as_data(student):
    np.testing.assert_array_equal(student.add(np.ones(3), 2.0), [3.0, 3.0, 3.0])
    assert student.add(1, 2) == 3


def test_in_place_changes_to_arguments_are_reported(student):
    a = np.arange(3.0)
    student.scale_in_place(a)
    assert student.last_call.mutated == ["a"]
    np.testing.assert_array_equal(a, [0.0, 1.0, 2.0])  # the grader's copy is untouched
    student.add(a, a)
    assert student.last_call.mutated == []


def test_non_data_stays_in_the_child_behind_a_handle(student):
    doubled, cache = student.with_cache(np.arange(3.0))
    assert "held by the student process" in repr(cache[1])
    assert student.use_cache(cache) == 3.0


def test_exceptions_name_the_students_line(student):
    with pytest.raises(StudentRaised, match=r"bad_shapes raised ValueError.*mod.py, line \d+, in bad_shapes"):
        student.bad_shapes(np.ones((2, 3)))
    with pytest.raises(NotImplementedYet, match="todo is not implemented yet"):
        student.todo()


def test_missing_functions_are_named(student):
    with pytest.raises(MissingFunction, match="mod.py defines no function named nothere"):
        student.nothere()
    assert student.has("add") and not student.has("nothere")


def test_a_timeout_fails_one_call_and_the_next_call_gets_a_fresh_child(student):
    _, cache = student.with_cache(np.arange(2.0))
    with pytest.raises(StudentTimeout, match="no result after 2 s while running spin"):
        student.spin()
    assert student.add(2, 2) == 4
    with pytest.raises(StaleHandle):
        student.use_cache(cache)


def test_a_crash_is_reported_with_its_exit_status(student):
    with pytest.raises(StudentCrashed, match="exited with status 3 while running die"):
        student.die()
    assert student.add(1, 1) == 2


def test_the_child_does_not_inherit_the_graders_environment(student, monkeypatch):
    monkeypatch.setenv("RNNKIT_TEST_SECRET", "lms-token")
    student.close()  # the next call starts a child after the variable is set
    assert student.secret() == ""


def test_the_child_runs_elsewhere_in_its_own_process(student, tmp_path):
    cwd, pid = student.cwd_and_pid()
    assert pid != os.getpid()
    assert not cwd.startswith(str(tmp_path / "sub"))


def test_a_module_that_does_not_import_fails_every_call_with_the_reason(tmp_path):
    folder = write_module(tmp_path / "broken", "def f(:\n    pass\n")
    with Student(str(folder), ["mod"]) as s:
        for _ in range(2):
            with pytest.raises(SubmissionNotLoaded, match="mod.py, line 1: SyntaxError"):
                s.f()


def test_a_missing_module_file_is_reported(tmp_path):
    (tmp_path / "empty").mkdir()
    with Student(str(tmp_path / "empty"), ["mod"]) as s:
        with pytest.raises(SubmissionNotLoaded, match="has no mod.py"):
            s.f()


@pytest.mark.parametrize("sandbox", SANDBOXES)
def test_a_busy_child_dies_with_its_grader(tmp_path, sandbox):
    folder = write_module(tmp_path / "sub", SOURCE)
    script = ("from autograder.student import Student, Limits\nfrom autograder.sandbox import make_launcher\n"
              f"s = Student({str(folder)!r}, ['mod'], Limits(call_timeout_s=60), make_launcher({sandbox!r}))\n"
              "s.add(1, 2)\nprint('ready', flush=True)\ns.spin()\n")
    grader = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert grader.stdout.readline().strip() == "ready"
    time.sleep(0.3)  # the child is now spinning
    assert sandbox_processes()
    grader.kill()
    grader.wait()
    for _ in range(100):
        if not sandbox_processes():
            break
        time.sleep(0.05)
    assert sandbox_processes() == []


def test_map_makes_many_calls_in_one_round_trip(student):
    assert student.map("add", [(1, 2), (3, 4)]) == [3, 7]
    halves = student.map("with_cache", [(np.ones(2),), (np.zeros(2),)], output=0)
    np.testing.assert_array_equal(halves[0], [2.0, 2.0])
    with pytest.raises(StudentRaised, match="bad_shapes raised ValueError"):
        student.map("bad_shapes", [(np.ones((2, 2)),)])
    with pytest.raises(BadReply, match="add should return a tuple of at least 1 values; it returned a value of type int"):
        student.map("add", [(1, 2)], output=0)


def test_a_root_grader_drops_privileges_only_where_the_child_can_start(tmp_path):
    from autograder.student import readable_by_anyone

    (tmp_path / "open" / "lib").mkdir(parents=True)
    (tmp_path / "open" / "lib" / "python").write_text("")
    os.chmod(tmp_path, 0o755)
    os.chmod(tmp_path / "open", 0o755)
    os.chmod(tmp_path / "open" / "lib" / "python", 0o644)
    parents_open = all(os.stat(p).st_mode & 0o001 for p in tmp_path.parents)
    assert readable_by_anyone([str(tmp_path / "open" / "lib" / "python")]) == parents_open
    os.chmod(tmp_path / "open", 0o700)   # like a Python under /root
    assert not readable_by_anyone([str(tmp_path / "open" / "lib" / "python")])


@pytest.mark.skipif(not (os.geteuid() == 0 and ProcessLauncher().drop_privileges),
                    reason="needs a root grader whose Python other users can read (as on Gradescope)")
def test_without_the_sandbox_a_root_grader_runs_the_child_as_another_user(tmp_path):
    source = SOURCE + "\ndef who():\n    return os.getuid(), os.access('/etc/shadow', os.R_OK)\n"
    with Student(str(write_module(tmp_path / "sub", source)), ["mod"], Limits(call_timeout_s=5),
                 ProcessLauncher()) as s:
        uid, shadow = s.who()
    assert uid != 0 and not shadow
    assert sandbox_processes() == []


def test_a_budget_that_runs_out_during_loading_is_a_timeout_not_a_broken_submission(tmp_path):
    folder = write_module(tmp_path / "slow", "import time\ntime.sleep(3)\n\ndef f():\n    return 1\n")
    with Student(str(folder), ["mod"], Limits(call_timeout_s=5, submission_timeout_s=1)) as s:
        with pytest.raises(StudentTimeout, match="total time budget of 1 s ran out"):
            s.f()
        with pytest.raises(StudentTimeout, match="not run: the submission used up its total time budget"):
            s.f()
