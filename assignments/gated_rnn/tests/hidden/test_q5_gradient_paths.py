"""Q5 hidden tests: the LSTM's cell path keeps gradients alive where the Elman RNN's vanish."""

import numpy as np
import pytest

from autograder.checks import CheckFailed, as_array, assert_close

pytestmark = pytest.mark.question("gradient_paths")


@pytest.mark.points(2)
def test_against_reference(student, oracle, make):
    """lstm_cell_jacobian_norms against the reference on fresh inputs (every path from c_t counts)"""
    args = make.lstm_one_sequence(T=9, D=4, H=6, forget_bias=1.0, scale=0.6, recurrent_scale=0.6)
    assert_close(student.lstm_cell_jacobian_norms(*args), oracle.lstm_cell_jacobian_norms(*args), "norms")


@pytest.mark.points(2)
def test_forget_gate_near_one_keeps_gradients(student, oracle, make):
    """With forget gates near 1 the norms stay between 0.4 and 6 over 50 steps, where an Elman RNN's vanish"""
    T, D, H = 50, 3, 5
    args = make.lstm_one_sequence(T, D, H, forget_bias=5.0, recurrent_scale=0.05)
    norms = as_array(student.lstm_cell_jacobian_norms(*args), "norms", (T,))
    assert_close(norms, oracle.lstm_cell_jacobian_norms(*args), "norms", 1e-6)
    if not np.all((norms >= 0.4) & (norms <= 6.0)):
        raise CheckFailed("with a forget-gate bias of +5 the norms should stay between 0.4 and 6")
    # The same inputs through an Elman RNN with ||Wh||_2 = 0.9 (assignment 1): the gradient vanishes.
    Wh = make.normal(H, H)
    Wh *= 0.9 / np.linalg.norm(Wh, 2)
    elman = oracle.elman_jacobian_norms(args[0], args[1], make.normal(D, H, scale=0.5), Wh, make.normal(H, scale=0.3))
    assert elman[0] < 1e-3 * norms[0], "test inputs: the Elman RNN's gradient should have vanished here"


@pytest.mark.points(1)
def test_forget_gate_near_zero_vanishes(student, oracle, make):
    """With forget gates near 0 the cell forgets, and its gradient vanishes too"""
    T = 20
    args = make.lstm_one_sequence(T, 3, 4, forget_bias=-4.0)
    norms = as_array(student.lstm_cell_jacobian_norms(*args), "norms", (T,))
    assert_close(norms, oracle.lstm_cell_jacobian_norms(*args), "norms", 1e-6)
    if not norms[0] < 1e-8:
        raise CheckFailed("with a forget-gate bias of -4 the norm 19 steps back should be below 1e-8")


@pytest.mark.points(1)
def test_single_step(student, make):
    """A length-1 sequence (T = 1) gives [1.0]"""
    norms = as_array(student.lstm_cell_jacobian_norms(*make.lstm_one_sequence(1, 3, 4)), "norms", (1,))
    assert_close(norms, [1.0], "norms")
