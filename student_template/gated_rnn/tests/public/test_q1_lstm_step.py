"""Q1 public tests: one LSTM step. Run them with `rnnkit check`."""

import pytest

from autograder.checks import assert_all_close, unpack

pytestmark = pytest.mark.question("lstm_step")
OUTPUTS = ["next_h", "next_c", "cache"]
GRADS = ["dx", "dprev_h", "dprev_c", "dWx", "dWh", "db"]


@pytest.mark.points(2)
def test_step_forward(student, oracle, make):
    """lstm_step_forward gives the right next_h and next_c"""
    inputs = make.lstm_step(N=3, D=4, H=5)
    next_h, next_c, _ = unpack(student.lstm_step_forward(*inputs), OUTPUTS, "lstm_step_forward")
    assert_all_close((next_h, next_c), oracle.lstm_step_forward(*inputs), ["next_h", "next_c"], "lstm_step_forward")


@pytest.mark.points(2)
def test_step_backward(student, oracle, make):
    """lstm_step_backward gives the right gradients"""
    inputs = make.lstm_step(N=4, D=5, H=3)
    dnext_h, dnext_c = make.normal(4, 3), make.normal(4, 3)
    _, _, cache = unpack(student.lstm_step_forward(*inputs), OUTPUTS, "lstm_step_forward")
    grads = student.lstm_step_backward(dnext_h, dnext_c, cache)
    assert_all_close(grads, oracle.lstm_step_backward(*inputs, dnext_h, dnext_c), GRADS, "lstm_step_backward")
