"""Submissions that try to game assignment 2's speed target: each loses its points, with
a verdict that says why, and the reference (in the same runs) keeps them."""

import re

import pytest

from autograder import assignment as assignments
from autograder.grading import run_assignment_tests

SPEED_TEST = "test_cpu_against_torch"   # Q8's public CPU target

REPLAYS_ITS_ANSWER = '''
        if getattr(self, "_replay", None) is not None:   # cheat: answer every later call at once
            return self._replay
        result = self._real_forward(x, hx)
        self._replay = (result[0].detach().requires_grad_(), result[1])
        return result

    def _real_forward(self, x, hx=None):
'''

SLOWS_THE_CLOCK = '''
import gc as _gc

def _cheat_clock():
    for obj in _gc.get_objects():
        if type(obj).__name__ == "Clocks":
            real = obj.perf_counter
            obj.perf_counter = lambda: real() / 10     # a clock that runs ten times slower
'''


@pytest.fixture(scope="module")
def gated_rnn(repo_root):
    return assignments.load("gated_rnn", repo_root)


def submission(tmp_path, gated_rnn, edit):
    folder = tmp_path / "submission"
    folder.mkdir()
    for name in gated_rnn.student_files:
        text = re.sub(r"(?m)^[ \t]*# (BEGIN|END) SOLUTION[ \t]*\n", "", (gated_rnn.solution_dir / name).read_text())
        if name == "torch_rnn.py":
            text = edit(text)
        (folder / name).write_text(text)
    return folder


def speed_result(gated_rnn, folder):
    results = run_assignment_tests(gated_rnn, folder, seed=5, select=SPEED_TEST)
    assert len(results) == 1
    return results[0]


def test_the_reference_meets_the_target(gated_rnn):
    result = speed_result(gated_rnn, gated_rnn.solution_dir)
    assert result.passed, result.message


def test_a_layer_that_replays_an_earlier_answer_is_caught(tmp_path, gated_rnn):
    def edit(text):
        head = "    def forward(self, x, hx=None):\n        \"\"\"Run the layer over a whole sequence."
        assert text.count(head) == 1
        return text.replace(head, "    def forward(self, x, hx=None):" + REPLAYS_ITS_ANSWER
                            + "        \"\"\"Run the layer over a whole sequence.")

    result = speed_result(gated_rnn, submission(tmp_path, gated_rnn, edit))
    assert not result.passed and result.verdict == "wrong"
    assert "the timed FastLSTM's" in result.message


def test_a_submission_that_slows_the_timing_clock_is_caught(tmp_path, gated_rnn):
    def edit(text):
        init = "        super().__init__()\n        self.input_size = input_size\n        self.hidden_size = hidden_size\n        self.bias = bias\n"
        assert text.count(init) == 1
        return text.replace(init, init + "        _cheat_clock()\n") + SLOWS_THE_CLOCK

    result = speed_result(gated_rnn, submission(tmp_path, gated_rnn, edit))
    assert (result.passed, result.verdict) == (False, "timing mismatch"), result.message
    assert "do not match the grader's own clock" in result.message
