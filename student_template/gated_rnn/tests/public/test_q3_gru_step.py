"""Q3 public tests: one GRU step. Run them with `rnnkit check`."""

import pytest

from autograder.checks import assert_all_close, assert_close, unpack

pytestmark = pytest.mark.question("gru_step")
GRADS = ["dx", "dprev_h", "dWx", "dWh", "dbx", "dbh"]


@pytest.mark.points(2)
def test_step_forward(student, oracle, make):
    """gru_step_forward gives the right next_h"""
    inputs = make.gru_step(N=3, D=4, H=5)
    next_h, _ = unpack(student.gru_step_forward(*inputs), ["next_h", "cache"], "gru_step_forward")
    assert_close(next_h, oracle.gru_step_forward(*inputs), "next_h")


@pytest.mark.points(2)
def test_step_backward(student, oracle, make):
    """gru_step_backward gives the right gradients"""
    inputs = make.gru_step(N=4, D=5, H=3)
    dnext_h = make.normal(4, 3)
    _, cache = unpack(student.gru_step_forward(*inputs), ["next_h", "cache"], "gru_step_forward")
    grads = student.gru_step_backward(dnext_h, cache)
    assert_all_close(grads, oracle.gru_step_backward(*inputs, dnext_h), GRADS, "gru_step_backward")
