"""Q1 hidden tests: one Elman RNN step on fresh inputs."""

import pytest

from autograder.checks import (assert_all_close, assert_close, assert_gradient_matches, assert_not_mutated,
                               unpack, vary_argument)

pytestmark = pytest.mark.question("rnn_step")
GRADS = ["dx", "dprev_h", "dWx", "dWh", "db"]


def forward(student, inputs):
    return unpack(student.rnn_step_forward(*inputs), ["next_h", "cache"], "rnn_step_forward")


@pytest.mark.points(2)
@pytest.mark.parametrize("N, D, H", [(5, 7, 3), (1, 2, 6)])
def test_forward_non_square(student, oracle, make, N, D, H):
    """rnn_step_forward on non-square shapes"""
    inputs = make.step(N, D, H)
    assert_close(forward(student, inputs)[0], oracle.rnn_step_forward(*inputs), "next_h")


@pytest.mark.points(3)
def test_backward(student, oracle, make):
    """rnn_step_backward against the reference on fresh inputs"""
    inputs = make.step(6, 4, 7)
    dnext_h = make.normal(6, 7)
    grads = student.rnn_step_backward(dnext_h, forward(student, inputs)[1])
    assert_all_close(grads, oracle.rnn_step_backward(*inputs, dnext_h), GRADS, "rnn_step_backward")


@pytest.mark.points(2)
def test_backward_matches_numeric_gradient(student, make):
    """rnn_step_backward agrees with centred differences of your own rnn_step_forward"""
    inputs = make.step(2, 3, 4)
    dnext_h = make.normal(2, 4)
    grads = unpack(student.rnn_step_backward(dnext_h, forward(student, inputs)[1]), GRADS, "rnn_step_backward")
    for i, name in enumerate(GRADS):
        next_h_of = vary_argument(student, "rnn_step_forward", inputs, i, output=0)
        assert_gradient_matches(grads[i], next_h_of, inputs[i], dnext_h, name, batched=True)


@pytest.mark.points(1)
def test_inputs_not_modified(student, oracle, make):
    """rnn_step_forward and rnn_step_backward leave their inputs unchanged"""
    inputs = make.step(3, 4, 5)
    next_h, cache = forward(student, inputs)
    assert_not_mutated(student, "rnn_step_forward")
    assert_close(next_h, oracle.rnn_step_forward(*inputs), "next_h")
    dnext_h = make.normal(3, 5)
    grads = student.rnn_step_backward(dnext_h, cache)
    assert_not_mutated(student, "rnn_step_backward")
    assert_all_close(grads, oracle.rnn_step_backward(*inputs, dnext_h), GRADS, "rnn_step_backward")
