"""Q2 public tests: an LSTM over a whole sequence, forward and backpropagation through time."""

import pytest

from autograder.checks import assert_all_close, assert_close, unpack

pytestmark = pytest.mark.question("lstm_sequence")
GRADS = ["dx", "dh0", "dWx", "dWh", "db"]


@pytest.mark.points(2)
def test_forward(student, oracle, make):
    """lstm_forward gives the right hidden states"""
    inputs = make.lstm(N=2, T=3, D=4, H=5)
    h, _ = unpack(student.lstm_forward(*inputs), ["h", "cache"], "lstm_forward")
    assert_close(h, oracle.lstm_forward(*inputs), "h")


@pytest.mark.points(3)
def test_backward(student, oracle, make):
    """lstm_backward gives the right gradients"""
    inputs = make.lstm(N=2, T=6, D=4, H=5)
    dh = make.normal(2, 6, 5)
    _, cache = unpack(student.lstm_forward(*inputs), ["h", "cache"], "lstm_forward")
    assert_all_close(student.lstm_backward(dh, cache), oracle.lstm_backward(*inputs, dh), GRADS, "lstm_backward")
