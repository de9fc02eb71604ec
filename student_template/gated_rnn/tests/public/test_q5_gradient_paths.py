"""Q5 public tests: Jacobian norms along the LSTM's cell states."""

import pytest

from autograder.checks import as_array, assert_close

pytestmark = pytest.mark.question("gradient_paths")


@pytest.mark.points(2)
def test_norms_small_case(student, oracle, make):
    """lstm_cell_jacobian_norms gives the right norms"""
    args = make.lstm_one_sequence(T=6, D=3, H=4, scale=0.5, recurrent_scale=0.5)
    assert_close(student.lstm_cell_jacobian_norms(*args), oracle.lstm_cell_jacobian_norms(*args), "norms")


@pytest.mark.points(1)
def test_last_norm_is_one(student, make):
    """The last entry is the norm of d c_{T-1} / d c_{T-1}, the identity: 1"""
    T = 4
    norms = as_array(student.lstm_cell_jacobian_norms(*make.lstm_one_sequence(T, 2, 3)), "norms", (T,))
    assert_close(norms[-1:], [1.0], "norms[T-1]")
