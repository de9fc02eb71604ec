"""Q7 hidden tests: Jacobian norms, vanishing below spectral radius one and exploding above."""

import numpy as np
import pytest

from autograder.checks import CheckFailed, as_array, assert_close

pytestmark = pytest.mark.question("gradient_flow")


@pytest.mark.points(3)
def test_against_reference(student, oracle, make):
    """hidden_state_jacobian_norms against the reference on fresh inputs"""
    T, D, H = 9, 4, 6
    args = (make.normal(T, D), make.normal(H), make.normal(D, H, scale=0.5), make.normal(H, H, scale=0.6),
            make.normal(H, scale=0.3))
    assert_close(student.hidden_state_jacobian_norms(*args), oracle.hidden_state_jacobian_norms(*args), "norms")


@pytest.mark.points(2)
def test_vanishing_below_one(student, make):
    """With ||Wh||_2 = 0.5 the norms shrink at least geometrically going back in time"""
    T, D, H = 20, 3, 5
    Wh = make.with_spectral_norm(make.normal(H, H), 0.5)
    args = (make.normal(T, D), make.normal(H), make.normal(D, H, scale=0.5), Wh, make.normal(H, scale=0.3))
    norms = as_array(student.hidden_state_jacobian_norms(*args), "norms", (T,))
    bound = 0.5 ** np.arange(T - 1, -1, -1)
    if not np.all(np.isfinite(norms)) or np.any(norms > bound * (1 + 1e-9)) or abs(norms[-1] - 1) > 1e-9:
        raise CheckFailed("norms should be 1 at t = T-1 and at most 0.5 ** (T-1-t) when ||Wh||_2 = 0.5")


@pytest.mark.points(2)
def test_exploding_above_one(student, oracle, make):
    """With zero inputs and spectral radius 1.5 the norms grow at least like 1.5 ** (T-1-t)"""
    T, D, H = 15, 2, 4
    Q, _ = np.linalg.qr(make.normal(H, H))
    Wh = 1.5 * Q  # orthogonal times 1.5: every eigenvalue has modulus 1.5
    args = (np.zeros((T, D)), np.zeros(H), make.normal(D, H), Wh, np.zeros(H))
    norms = as_array(student.hidden_state_jacobian_norms(*args), "norms", (T,))
    assert_close(norms, oracle.hidden_state_jacobian_norms(*args), "norms", 1e-6)
    if norms[0] < 1.5 ** (T - 1) * 0.999:
        raise CheckFailed("norms should grow like 1.5 ** (T-1-t) going back in time here")
