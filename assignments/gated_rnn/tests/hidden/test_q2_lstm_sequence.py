"""Q2 hidden tests: lstm_forward and backpropagation through time on fresh inputs."""

import numpy as np
import pytest

from autograder.checks import (assert_all_close, assert_close, assert_gradient_matches, assert_not_mutated,
                               unpack, vary_argument)

pytestmark = pytest.mark.question("lstm_sequence")
GRADS = ["dx", "dh0", "dWx", "dWh", "db"]


def forward(student, inputs):
    return unpack(student.lstm_forward(*inputs), ["h", "cache"], "lstm_forward")


def check_backward(student, oracle, inputs, dh, where="lstm_backward"):
    grads = student.lstm_backward(dh, forward(student, inputs)[1])
    assert_all_close(grads, oracle.lstm_backward(*inputs, dh), GRADS, where)


@pytest.mark.points(2)
def test_forward_non_square(student, oracle, make):
    """lstm_forward with N, T, D and H all different"""
    inputs = make.lstm(N=3, T=7, D=5, H=4)
    assert_close(forward(student, inputs)[0], oracle.lstm_forward(*inputs), "h")


@pytest.mark.points(1)
def test_forward_single_step(student, oracle, make):
    """lstm_forward on a length-1 sequence (T = 1), starting from a zero cell state"""
    inputs = make.lstm(N=4, T=1, D=3, H=5)
    assert_close(forward(student, inputs)[0], oracle.lstm_forward(*inputs), "h")


@pytest.mark.points(3)
def test_backward(student, oracle, make):
    """lstm_backward against the reference on fresh inputs"""
    inputs = make.lstm(N=3, T=6, D=4, H=5)
    check_backward(student, oracle, inputs, make.normal(3, 6, 5))


@pytest.mark.points(1)
def test_backward_single_step(student, oracle, make):
    """lstm_backward on a length-1 sequence (T = 1)"""
    inputs = make.lstm(N=2, T=1, D=3, H=4)
    check_backward(student, oracle, inputs, make.normal(2, 1, 4))


@pytest.mark.points(2)
def test_gradient_flows_back_through_time(student, oracle, make):
    """With a loss on the last state only, earlier steps still get gradient (through both h_t and c_t)"""
    inputs = make.lstm(N=2, T=8, D=3, H=4)
    dh = np.zeros((2, 8, 4))
    dh[:, -1] = make.normal(2, 4)
    check_backward(student, oracle, inputs, dh, "lstm_backward (loss on the last state only)")


@pytest.mark.points(2)
def test_backward_matches_numeric_gradient(student, make):
    """lstm_backward agrees with centred differences of your own lstm_forward (for x, h0, Wh and b)"""
    inputs = make.lstm(N=2, T=4, D=2, H=3)
    dh = make.normal(2, 4, 3)
    grads = unpack(student.lstm_backward(dh, forward(student, inputs)[1]), GRADS, "lstm_backward")
    for index, name in [(0, "dx"), (1, "dh0"), (3, "dWh"), (4, "db")]:
        h_of = vary_argument(student, "lstm_forward", inputs, index, output=0)
        assert_gradient_matches(grads[index], h_of, inputs[index], dh, name, batched=True)


@pytest.mark.points(1)
def test_inputs_not_modified(student, oracle, make):
    """lstm_forward and lstm_backward leave their inputs unchanged"""
    inputs = make.lstm(N=2, T=4, D=3, H=3)
    h, cache = forward(student, inputs)
    assert_not_mutated(student, "lstm_forward")
    assert_close(h, oracle.lstm_forward(*inputs), "h")
    dh = make.normal(2, 4, 3)
    grads = student.lstm_backward(dh, cache)
    assert_not_mutated(student, "lstm_backward")
    assert_all_close(grads, oracle.lstm_backward(*inputs, dh), GRADS, "lstm_backward")
