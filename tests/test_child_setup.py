"""What the child does before the submission runs: drivers, preloaded modules, tripwires,
clocks; and what the grader can do to it: timed calls it checks, pausing it."""

import os
import time

import pytest

from autograder.sandbox import SANDBOXES, make_launcher
from autograder.student import ChildSetup, Limits, MissingFunction, Student, TimingMismatch

from conftest import write_module

DRIVER = '''
import mod

def double_then_call(x):
    return mod.f(2 * x)

def f(x):
    return "driver"
'''


@pytest.fixture(params=SANDBOXES)
def launcher(request):
    return make_launcher(request.param)


def proxy(folder, launcher, setup=ChildSetup(), **limits):
    return Student(str(folder), ["mod"], Limits(call_timeout_s=30, **limits), launcher, setup=setup)


def test_drivers_run_beside_the_submission_and_cannot_be_shadowed(tmp_path, launcher):
    folder = write_module(tmp_path / "sub", "def f(x):\n    return x + 1\n")
    with proxy(folder, launcher, ChildSetup(drivers=(("drv", DRIVER),))) as s:
        assert s.call("drv.double_then_call", 5) == 11
        assert s.f(1) == 2                      # plain names are the student's
        assert s.call("drv.f", 0) == "driver"   # qualified names reach the driver
        assert s.call("mod.f", 1) == 2
        with pytest.raises(MissingFunction):
            s.call("drv.nothing_here")


def test_a_driver_that_breaks_on_a_submission_says_so(tmp_path):
    folder = write_module(tmp_path / "sub", "g = 1\n")
    driver = "from mod import f\n"
    with proxy(folder, make_launcher("process"), ChildSetup(drivers=(("drv", driver),))) as s:
        with pytest.raises(Exception, match="driver drv could not start with this submission"):
            s.call("drv.anything")


CHEAT = '''
import gc, time

def work(seconds):
    time.sleep(seconds)

def freeze_the_clock():
    for obj in gc.get_objects():
        if type(obj).__name__ == "Clocks":
            obj.perf_counter = lambda: 0.0
'''


def test_timed_calls_report_plausible_durations(tmp_path, launcher):
    folder = write_module(tmp_path / "sub", CHEAT)
    with proxy(folder, launcher) as s:
        times = s.timed("work", 0.02, repeats=3)
    assert len(times) == 3 and all(0.015 < t < 0.5 for t in times)


def test_a_submission_that_tampers_with_the_clock_is_caught_by_the_graders_clock(tmp_path, launcher):
    folder = write_module(tmp_path / "sub", CHEAT)
    with proxy(folder, launcher) as s:
        s.freeze_the_clock()
        with pytest.raises(TimingMismatch, match="do not match the grader's own clock"):
            s.timed("work", 0.02, repeats=3)


BACKGROUND = '''
import threading, time
count = [0]

def start():
    def spin():
        while True:
            count[0] += 1
            time.sleep(0.001)
    threading.Thread(target=spin, daemon=True).start()

def read():
    return count[0]
'''


def test_a_paused_submission_does_nothing_until_resumed(tmp_path, launcher):
    folder = write_module(tmp_path / "sub", BACKGROUND)
    with proxy(folder, launcher) as s:
        s.start()
        time.sleep(0.1)
        before = s.read()
        s.pause()
        time.sleep(0.5)   # about 500 steps if it were running
        s.resume()
        paused_steps = s.read() - before
        time.sleep(0.5)
        running_steps = s.read() - before - paused_steps
    assert paused_steps < 60 and running_steps > 150, (paused_steps, running_steps)


USES_LSTM = '''
import torch

def build():
    layer = getattr(torch.nn, "LS" + "TM")(3, 4)   # a name no source check can read
    return 1

def fine():
    return int(torch.ones(2).sum())
'''


def test_tripwires_record_a_banned_api_called_at_run_time(tmp_path, launcher):
    folder = write_module(tmp_path / "sub", USES_LSTM)
    setup = ChildSetup(preload=("torch",), tripwires=("torch.nn.LSTM", "torch._VF.lstm", "no.such.api"))
    with proxy(folder, launcher, setup) as s:
        assert s.fine() == 2
        assert s.tripped() == []
        s.build()
        hits = s.tripped()
    assert [h["api"] for h in hits] == ["torch.nn.LSTM"]
    assert hits[0]["where"] == "mod.py, line 5"


THREADS = '''
import threading, time

def spin(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass

def on_two_cores(seconds):
    import os
    pid = os.fork()
    if pid == 0:
        spin(seconds)
        os._exit(0)
    spin(seconds)
    os.waitpid(pid, 0)

def cpu_now():
    import os
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system

def swap_the_driver():
    import sys
    sys.modules["drv"].slow = lambda: None
'''

SLOW_DRIVER = "import time\n\ndef slow():\n    time.sleep(0.05)\n"


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two cores")
def test_work_on_extra_cores_is_charged_its_cpu_time(tmp_path):
    folder = write_module(tmp_path / "sub", THREADS)
    with proxy(folder, make_launcher("process")) as s:
        before = s.cpu_now()
        charged = sum(s.timed("on_two_cores", 0.3, repeats=2))
        used = s.cpu_now() - before
    # Charged at least the CPU time used, less the allowance (on a busy machine the two
    # processes may share one core; then CPU time is about wall time, and so is the charge).
    assert charged >= (used - 0.03) / 1.5 - 0.01, (charged, used)
    assert charged >= 0.55


def test_a_submission_cannot_swap_a_drivers_function(tmp_path, launcher):
    folder = write_module(tmp_path / "sub", THREADS)
    with proxy(folder, launcher, ChildSetup(drivers=(("drv", SLOW_DRIVER),))) as s:
        s.swap_the_driver()
        assert sum(s.timed("drv.slow", repeats=2)) > 0.08
