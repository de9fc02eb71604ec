"""Q4 public tests: a batched GRU over a whole sequence."""

import pytest

from autograder.checks import assert_all_close, assert_close, unpack

pytestmark = pytest.mark.question("gru_sequence")
GRADS = ["dx", "dh0", "dWx", "dWh", "dbx", "dbh"]


@pytest.mark.points(2)
def test_forward(student, oracle, make):
    """gru_forward gives the right hidden states"""
    inputs = make.gru(N=2, T=3, D=4, H=5)
    h, _ = unpack(student.gru_forward(*inputs), ["h", "cache"], "gru_forward")
    assert_close(h, oracle.gru_forward(*inputs), "h")


@pytest.mark.points(3)
def test_backward(student, oracle, make):
    """gru_backward gives the right gradients"""
    inputs = make.gru(N=2, T=6, D=4, H=5)
    dh = make.normal(2, 6, 5)
    _, cache = unpack(student.gru_forward(*inputs), ["h", "cache"], "gru_forward")
    assert_all_close(student.gru_backward(dh, cache), oracle.gru_backward(*inputs, dh), GRADS, "gru_backward")
