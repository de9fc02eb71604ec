"""Speed targets: the student's code timed against a baseline, in one run, fairly.

A test asks for a ratio: ``speed.assert_within(4.0, student_call, baseline_call,
device="cpu")``. Both calls are timed the same way, by the process that holds the
code: the student's in the student's sandboxed child, the baseline in a separate
process that holds no student code (PyTorch's own module, or the reference
solution), so a submission can neither patch nor slow the baseline.

- warm-up calls on both sides first (allocators, caches, cuDNN plans);
- then rounds, interleaved (the order alternates, so drift hits both alike): in each,
  the student's processes are paused (SIGSTOP) while the baseline runs, so nothing
  of theirs competes for the processor or the device, and resumed for their turn;
- each side's figure is the median per call over all rounds; the ratio is student
  over baseline;
- the child's figures come from clocks it took before importing the submission,
  and the grader checks each batch against its own wall clock
  (:meth:`autograder.student.Student.timed`).

The measured ratio is attached to the test's result (and so to the gradebook and
the student's feedback) whether it passes or not.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

import pytest

from autograder.checks import CheckFailed

MEASUREMENT = pytest.StashKey[str]()


@dataclass(frozen=True)
class Timing:
    student_s: float
    baseline_s: float
    rounds: int
    device: str

    @property
    def ratio(self) -> float:
        return self.student_s / self.baseline_s if self.baseline_s > 0 else float("inf")


def measure(student, baseline, student_call: tuple, baseline_call: tuple, device: str = "cpu",
            rounds: int = 7, repeats: int = 3, warmup: int = 2) -> Timing:
    """Median seconds per call of each side. A call is ``(name, *args)`` on its proxy."""
    s_name, *s_args = student_call
    b_name, *b_args = baseline_call
    student.timed(s_name, *s_args, repeats=warmup, device=device)
    _paused(student, lambda: baseline.timed(b_name, *b_args, repeats=warmup, device=device))
    student_times, baseline_times = [], []
    for round_number in range(rounds):
        def student_turn():
            student_times.extend(student.timed(s_name, *s_args, repeats=repeats, device=device))

        def baseline_turn():
            baseline_times.extend(_paused(student, lambda: baseline.timed(b_name, *b_args, repeats=repeats,
                                                                          device=device)))

        for turn in ((student_turn, baseline_turn) if round_number % 2 else (baseline_turn, student_turn)):
            turn()
    return Timing(statistics.median(student_times), statistics.median(baseline_times), rounds, device)


def _paused(student, run):
    student.pause()
    try:
        return run()
    finally:
        student.resume()


def describe(timing: Timing, limit: float, baseline_name: str) -> str:
    return (f"{timing.ratio:.2f}x the time of {baseline_name} (limit {limit:g}x) on {timing.device}: "
            f"{_ms(timing.student_s)} against {_ms(timing.baseline_s)} per call, "
            f"median of {timing.rounds} interleaved rounds")


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.3g} ms"


class SpeedHarness:
    """The ``speed`` fixture: measures, records the measurement on the test, judges."""

    def __init__(self, item, student, baseline):
        self.item, self.student, self.baseline = item, student, baseline

    def assert_within(self, limit: float, student_call: tuple, baseline_call: tuple, *, device: str = "cpu",
                      baseline_name: str = "the baseline", rounds: int = 7, repeats: int = 3,
                      warmup: int = 2) -> Timing:
        timing = measure(self.student, self.baseline, student_call, baseline_call, device, rounds, repeats,
                         warmup)
        text = describe(timing, limit, baseline_name)
        self.item.stash[MEASUREMENT] = text
        if not timing.ratio <= limit:
            raise CheckFailed(f"too slow: {text}")
        return timing
