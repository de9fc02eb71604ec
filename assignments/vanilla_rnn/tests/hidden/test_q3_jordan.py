"""Q3 hidden tests: the Jordan step on fresh inputs."""

import pytest

from autograder.checks import assert_all_close

pytestmark = pytest.mark.question("jordan")


def jordan_inputs(make, N, D, H, O):
    return (make.normal(N, D), make.normal(N, O), make.normal(D, H, scale=0.5), make.normal(O, H, scale=0.5),
            make.normal(H, scale=0.5), make.normal(H, O, scale=0.5), make.normal(O, scale=0.5))


@pytest.mark.points(3)
@pytest.mark.parametrize("N, D, H, O", [(4, 6, 3, 5), (1, 2, 7, 1)])
def test_jordan_non_square(student, oracle, make, N, D, H, O):
    """jordan_step_forward with input, hidden and output sizes all different"""
    inputs = jordan_inputs(make, N, D, H, O)
    assert_all_close(student.jordan_step_forward(*inputs), oracle.jordan_step_forward(*inputs),
                     ["next_h", "next_y"], "jordan_step_forward")


@pytest.mark.points(2)
def test_output_is_fed_back(student, oracle, make):
    """Two chained steps: the second step's feedback is the first step's output"""
    x, y0, *weights = jordan_inputs(make, 3, 4, 5, 2)
    x2 = make.normal(3, 4)
    _, y1 = oracle.jordan_step_forward(x, y0, *weights)
    assert_all_close(student.jordan_step_forward(x2, y1, *weights), oracle.jordan_step_forward(x2, y1, *weights),
                     ["next_h", "next_y"], "jordan_step_forward (second step)")
