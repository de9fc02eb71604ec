"""The reference FastLSTM against torch.nn.LSTM, on the sizes assignment 2 grades with.

For each device (the CPU, and CUDA where PyTorch sees one) it runs the same timing
the grader runs (autograder/speed.py: warm-up, interleaved rounds, medians, the
student side paused while the baseline runs), five times, and prints each side's
time per training step and the ratio's median and spread. The reference plays the
student, in a child process like a submission's; torch.nn.LSTM runs in the
baseline process. Use it to set or check a speed target's limit.

    python bench/fast_lstm.py [--runs 5] [--sandbox process|bwrap]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder import assignment as assignments  # noqa: E402
from autograder import devices, speed  # noqa: E402
from autograder.sandbox import make_launcher  # noqa: E402
from autograder.student import ChildSetup, Limits, ProcessLauncher, Student  # noqa: E402


def graded_sizes(a) -> dict:
    spec = importlib.util.spec_from_file_location("gated_conftest", a.root / "tests" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.SPEED_SIZES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--sandbox", choices=["process", "bwrap"], default="process")
    args = parser.parse_args()
    a = assignments.load("gated_rnn", ROOT)
    setup = assignments.child_setup(a.extra, a.root)
    present = sorted(devices.available("auto"))
    print(f"devices present: {', '.join(present)}; the reference plays the student ({args.sandbox} launcher)")
    print(f"{'device':7} {'T, N, D, H':18} {'reference':>11} {'nn.LSTM':>11} {'ratio median':>13} "
          f"{'min':>6} {'max':>6}")
    for device in present:
        sizes = graded_sizes(a)[device]
        gpu = device == "cuda"
        student = Student(str(a.solution_dir), a.modules, Limits(call_timeout_s=120, submission_timeout_s=3600),
                          make_launcher(args.sandbox, gpu=gpu), setup=setup)
        baseline = Student(str(a.solution_dir), a.modules,
                           Limits(call_timeout_s=120, submission_timeout_s=3600, memory_mb=0),
                           ProcessLauncher(gpu=gpu), setup=ChildSetup(preload=setup.preload, drivers=setup.drivers))
        with student, baseline:
            mine = student.call("rnn_driver.speed_setup", "student", *sizes, device, 1)
            theirs = baseline.call("rnn_driver.speed_setup", "torch", *sizes, device, 1)
            timings = [speed.measure(student, baseline, ("rnn_driver.speed_step", mine),
                                     ("rnn_driver.speed_step", theirs), device, rounds=args.rounds)
                       for _ in range(args.runs)]
        ratios = [t.ratio for t in timings]
        ms = lambda values: f"{statistics.median(values) * 1000:8.2f} ms"  # noqa: E731
        print(f"{device:7} {str(sizes):18} {ms([t.student_s for t in timings]):>11} "
              f"{ms([t.baseline_s for t in timings]):>11} {statistics.median(ratios):12.2f}x "
              f"{min(ratios):5.2f}x {max(ratios):5.2f}x")


if __name__ == "__main__":
    main()
