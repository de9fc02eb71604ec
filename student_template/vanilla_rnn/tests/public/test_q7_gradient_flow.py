"""Q7 public tests: Jacobian norms through time."""

import pytest

from autograder.checks import as_array, assert_close

pytestmark = pytest.mark.question("gradient_flow")


@pytest.mark.points(2)
def test_norms_small_case(student, oracle, make):
    """hidden_state_jacobian_norms gives the right norms"""
    T, D, H = 6, 3, 4
    args = (make.normal(T, D), make.normal(H), make.normal(D, H, scale=0.5), make.normal(H, H, scale=0.5),
            make.normal(H, scale=0.5))
    assert_close(student.hidden_state_jacobian_norms(*args), oracle.hidden_state_jacobian_norms(*args), "norms")


@pytest.mark.points(1)
def test_last_norm_is_one(student, make):
    """The last entry is the norm of d h_{T-1} / d h_{T-1}, the identity: 1"""
    T, D, H = 4, 2, 3
    args = (make.normal(T, D), make.normal(H), make.normal(D, H), make.normal(H, H), make.normal(H))
    norms = as_array(student.hidden_state_jacobian_norms(*args), "norms", (T,))
    assert_close(norms[-1:], [1.0], "norms[T-1]")
