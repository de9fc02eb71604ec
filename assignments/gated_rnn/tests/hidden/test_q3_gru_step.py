"""Q3 hidden tests: one GRU step on fresh inputs."""

import pytest

from autograder.checks import (assert_all_close, assert_close, assert_gradient_matches, assert_not_mutated,
                               unpack, vary_argument)

pytestmark = pytest.mark.question("gru_step")
GRADS = ["dx", "dprev_h", "dWx", "dWh", "dbx", "dbh"]


def forward(student, inputs):
    return unpack(student.gru_step_forward(*inputs), ["next_h", "cache"], "gru_step_forward")


@pytest.mark.points(1)
@pytest.mark.parametrize("N, D, H", [(5, 7, 3), (1, 2, 6)])
def test_forward_non_square(student, oracle, make, N, D, H):
    """gru_step_forward on non-square shapes"""
    inputs = make.gru_step(N, D, H)
    assert_close(forward(student, inputs)[0], oracle.gru_step_forward(*inputs), "next_h")


@pytest.mark.points(2)
def test_reset_gate_matches_pytorch(student, oracle, make):
    """The reset gate multiplies (h W_hn + b_hn), as in PyTorch: the step matches nn.GRUCell with Wx = weight_ih.T"""
    N, D, H = 4, 3, 5
    weight_ih, weight_hh, bias_ih, bias_hh = make.pytorch_cell_params(3, D, H, scale=0.8)
    bias_hh[2 * H:] += 1.5  # a large b_hn: where the reset gate acts matters more
    x, prev_h = make.normal(N, D), make.normal(N, H, scale=1.5)
    inputs = (x, prev_h, weight_ih.T.copy(), weight_hh.T.copy(), bias_ih, bias_hh)
    assert_close(forward(student, inputs)[0], oracle.pytorch_gru_cell_step(x, prev_h, weight_ih, weight_hh, bias_ih,
                                                                          bias_hh),
                 "next_h (compared with PyTorch's nn.GRUCell)")


@pytest.mark.points(2)
def test_backward(student, oracle, make):
    """gru_step_backward against the reference on fresh inputs"""
    inputs = make.gru_step(6, 4, 7)
    dnext_h = make.normal(6, 7)
    grads = student.gru_step_backward(dnext_h, forward(student, inputs)[1])
    assert_all_close(grads, oracle.gru_step_backward(*inputs, dnext_h), GRADS, "gru_step_backward")


@pytest.mark.points(1)
def test_backward_matches_numeric_gradient(student, make):
    """gru_step_backward agrees with centred differences of your own gru_step_forward"""
    inputs = make.gru_step(2, 3, 4)
    dnext_h = make.normal(2, 4)
    grads = unpack(student.gru_step_backward(dnext_h, forward(student, inputs)[1]), GRADS, "gru_step_backward")
    for i, name in enumerate(GRADS):
        next_h_of = vary_argument(student, "gru_step_forward", inputs, i, output=0)
        assert_gradient_matches(grads[i], next_h_of, inputs[i], dnext_h, name, batched=True)


@pytest.mark.points(1)
def test_inputs_not_modified(student, oracle, make):
    """gru_step_forward and gru_step_backward leave their inputs unchanged"""
    inputs = make.gru_step(3, 4, 5)
    next_h, cache = forward(student, inputs)
    assert_not_mutated(student, "gru_step_forward")
    assert_close(next_h, oracle.gru_step_forward(*inputs), "next_h")
    dnext_h = make.normal(3, 5)
    grads = student.gru_step_backward(dnext_h, cache)
    assert_not_mutated(student, "gru_step_backward")
    assert_all_close(grads, oracle.gru_step_backward(*inputs, dnext_h), GRADS, "gru_step_backward")
