"""Q4 public tests: temporal softmax loss with a mask."""

import numpy as np
import pytest

from autograder.checks import CheckFailed, assert_close, unpack

pytestmark = pytest.mark.question("softmax_loss")


@pytest.mark.points(3)
def test_loss_and_gradient(student, oracle, make):
    """temporal_softmax_loss gives the right loss and dscores"""
    N, T, V = 3, 4, 6
    scores, y, mask = make.normal(N, T, V), make.labels(V, N, T), make.mask(N, T)
    loss, dscores = unpack(student.temporal_softmax_loss(scores, y, mask), ["loss", "dscores"],
                           "temporal_softmax_loss")
    want_loss, want_dscores = oracle.temporal_softmax_loss(scores, y, mask)
    assert_close(loss, want_loss, "loss")
    assert_close(dscores, want_dscores, "dscores")


@pytest.mark.points(1)
def test_loss_at_chance(student, make):
    """With near-zero scores the loss is about T * log(V) (every class equally likely)"""
    N, T, V = 100, 5, 10
    scores = make.normal(N, T, V, scale=0.001)
    loss, _ = unpack(student.temporal_softmax_loss(scores, make.labels(V, N, T), np.ones((N, T), bool)),
                     ["loss", "dscores"], "temporal_softmax_loss")
    if not abs(float(loss) - T * np.log(V)) < 0.01:
        raise CheckFailed(f"loss is {float(loss):.4f}; with uniform predictions it should be "
                          f"T * log(V) = {T * np.log(V):.4f} (summed over time, averaged over the batch)")
