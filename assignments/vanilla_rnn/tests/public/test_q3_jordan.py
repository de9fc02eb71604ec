"""Q3 public tests: a Jordan network step."""

import pytest

from autograder.checks import assert_all_close

pytestmark = pytest.mark.question("jordan")


@pytest.mark.points(2)
def test_jordan_step(student, oracle, make):
    """jordan_step_forward gives the right hidden state and output"""
    N, D, H, O = 3, 4, 5, 2
    inputs = (make.normal(N, D), make.normal(N, O), make.normal(D, H, scale=0.5), make.normal(O, H, scale=0.5),
              make.normal(H, scale=0.5), make.normal(H, O, scale=0.5), make.normal(O, scale=0.5))
    assert_all_close(student.jordan_step_forward(*inputs), oracle.jordan_step_forward(*inputs),
                     ["next_h", "next_y"], "jordan_step_forward")
