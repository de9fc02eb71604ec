"""Q2 public tests: a whole sequence, forward and backpropagation through time."""

import pytest

from autograder.checks import assert_all_close, assert_close, assert_gradient_matches, unpack, vary_argument

pytestmark = pytest.mark.question("bptt")
GRADS = ["dx", "dh0", "dWx", "dWh", "db"]


@pytest.mark.points(2)
def test_forward(student, oracle, make):
    """rnn_forward gives the right hidden states"""
    inputs = make.rnn(N=2, T=3, D=4, H=5)
    h, _ = unpack(student.rnn_forward(*inputs), ["h", "cache"], "rnn_forward")
    assert_close(h, oracle.rnn_forward(*inputs), "h")


@pytest.mark.points(3)
def test_backward(student, oracle, make):
    """rnn_backward gives the right gradients"""
    inputs = make.rnn(N=2, T=10, D=4, H=5)
    dh = make.normal(2, 10, 5)
    _, cache = unpack(student.rnn_forward(*inputs), ["h", "cache"], "rnn_forward")
    grads = student.rnn_backward(dh, cache)
    assert_all_close(grads, oracle.rnn_backward(*inputs, dh), GRADS, "rnn_backward")


@pytest.mark.points(1)
def test_backward_matches_numeric_gradient(student, make):
    """rnn_backward agrees with centred differences of your own rnn_forward (a gradient check)"""
    inputs = make.rnn(N=2, T=3, D=2, H=3)
    dh = make.normal(2, 3, 3)
    _, cache = unpack(student.rnn_forward(*inputs), ["h", "cache"], "rnn_forward")
    grads = unpack(student.rnn_backward(dh, cache), GRADS, "rnn_backward")
    for index, name in enumerate(GRADS):
        h_of = vary_argument(student, "rnn_forward", inputs, index, output=0)
        assert_gradient_matches(grads[index], h_of, inputs[index], dh, name, batched=True)
