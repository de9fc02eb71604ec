"""Q1 hidden tests: one LSTM step on fresh inputs."""

import numpy as np
import pytest

from autograder.checks import (assert_all_close, assert_gradient_matches, assert_not_mutated, unpack,
                               vary_argument)

pytestmark = pytest.mark.question("lstm_step")
OUTPUTS = ["next_h", "next_c", "cache"]
GRADS = ["dx", "dprev_h", "dprev_c", "dWx", "dWh", "db"]


def forward(student, inputs):
    return unpack(student.lstm_step_forward(*inputs), OUTPUTS, "lstm_step_forward")


def backward(student, dnext_h, dnext_c, cache):
    return unpack(student.lstm_step_backward(dnext_h, dnext_c, cache), GRADS, "lstm_step_backward")


@pytest.mark.points(1)
@pytest.mark.parametrize("N, D, H", [(5, 7, 3), (1, 2, 6)])
def test_forward_non_square(student, oracle, make, N, D, H):
    """lstm_step_forward on non-square shapes"""
    inputs = make.lstm_step(N, D, H)
    next_h, next_c, _ = forward(student, inputs)
    assert_all_close((next_h, next_c), oracle.lstm_step_forward(*inputs), ["next_h", "next_c"], "lstm_step_forward")


@pytest.mark.points(2)
def test_gate_order_matches_pytorch(student, oracle, make):
    """Gates packed as i, f, o, g: with PyTorch's weights mapped as documented, the step matches nn.LSTMCell"""
    N, D, H = 3, 4, 5
    params = make.pytorch_cell_params(4, D, H, scale=0.8)
    x, prev_h, prev_c = make.normal(N, D), make.normal(N, H), make.normal(N, H)
    next_h, next_c, _ = forward(student, (x, prev_h, prev_c, *make.lstm_params_from_pytorch(*params)))
    assert_all_close((next_h, next_c), oracle.pytorch_lstm_cell_step(x, prev_h, prev_c, *params),
                     ["next_h", "next_c"], "lstm_step_forward (compared with PyTorch's nn.LSTMCell)")


@pytest.mark.points(2)
def test_backward(student, oracle, make):
    """lstm_step_backward against the reference on fresh inputs"""
    inputs = make.lstm_step(6, 4, 7)
    dnext_h, dnext_c = make.normal(6, 7), make.normal(6, 7)
    grads = student.lstm_step_backward(dnext_h, dnext_c, forward(student, inputs)[2])
    assert_all_close(grads, oracle.lstm_step_backward(*inputs, dnext_h, dnext_c), GRADS, "lstm_step_backward")


@pytest.mark.points(1)
def test_backward_matches_numeric_gradient(student, make):
    """lstm_step_backward agrees with centred differences of your own lstm_step_forward (through next_h and next_c)"""
    N, D, H = 2, 3, 4
    inputs = make.lstm_step(N, D, H)
    cache = forward(student, inputs)[2]
    zero = np.zeros((N, H))
    for output, name, (dnext_h, dnext_c) in [(0, "next_h", (make.normal(N, H), zero)),
                                              (1, "next_c", (zero, make.normal(N, H)))]:
        grads = backward(student, dnext_h, dnext_c, cache)
        upstream = dnext_h if output == 0 else dnext_c
        for i, grad_name in enumerate(GRADS):
            out_of = vary_argument(student, "lstm_step_forward", inputs, i, output=output)
            assert_gradient_matches(grads[i], out_of, inputs[i], upstream,
                                    f"{grad_name} (upstream gradient on {name} only)", batched=True)


@pytest.mark.points(1)
def test_inputs_not_modified(student, oracle, make):
    """lstm_step_forward and lstm_step_backward leave their inputs unchanged"""
    inputs = make.lstm_step(3, 4, 5)
    next_h, next_c, cache = forward(student, inputs)
    assert_not_mutated(student, "lstm_step_forward")
    assert_all_close((next_h, next_c), oracle.lstm_step_forward(*inputs), ["next_h", "next_c"], "lstm_step_forward")
    dnext_h, dnext_c = make.normal(3, 5), make.normal(3, 5)
    grads = student.lstm_step_backward(dnext_h, dnext_c, cache)
    assert_not_mutated(student, "lstm_step_backward")
    assert_all_close(grads, oracle.lstm_step_backward(*inputs, dnext_h, dnext_c), GRADS, "lstm_step_backward")
