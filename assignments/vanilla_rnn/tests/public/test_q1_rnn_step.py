"""Q1 public tests: one Elman RNN step. Run them with `rnnkit check`."""

import pytest

from autograder.checks import assert_all_close, assert_close, unpack

pytestmark = pytest.mark.question("rnn_step")
GRADS = ["dx", "dprev_h", "dWx", "dWh", "db"]


@pytest.mark.points(2)
def test_step_forward(student, oracle, make):
    """rnn_step_forward gives the right next_h"""
    inputs = make.step(N=3, D=10, H=4)
    next_h, _ = unpack(student.rnn_step_forward(*inputs), ["next_h", "cache"], "rnn_step_forward")
    assert_close(next_h, oracle.rnn_step_forward(*inputs), "next_h")


@pytest.mark.points(2)
def test_step_backward(student, oracle, make):
    """rnn_step_backward gives the right gradients"""
    inputs = make.step(N=4, D=5, H=6)
    dnext_h = make.normal(4, 6)
    _, cache = unpack(student.rnn_step_forward(*inputs), ["next_h", "cache"], "rnn_step_forward")
    grads = student.rnn_step_backward(dnext_h, cache)
    assert_all_close(grads, oracle.rnn_step_backward(*inputs, dnext_h), GRADS, "rnn_step_backward")
