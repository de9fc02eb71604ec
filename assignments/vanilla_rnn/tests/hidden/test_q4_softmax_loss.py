"""Q4 hidden tests: temporal softmax loss, masks and numerical stability."""

import numpy as np
import pytest

from autograder.checks import as_array, assert_close, assert_finite, assert_gradient_matches, unpack, vary_argument

pytestmark = pytest.mark.question("softmax_loss")


def loss_and_grad(student, scores, y, mask):
    return unpack(student.temporal_softmax_loss(scores, y, mask), ["loss", "dscores"], "temporal_softmax_loss")


@pytest.mark.points(3)
def test_against_reference(student, oracle, make):
    """Loss and gradient against the reference with N, T and V all different"""
    N, T, V = 4, 7, 5
    scores, y, mask = make.normal(N, T, V), make.labels(V, N, T), make.mask(N, T)
    loss, dscores = loss_and_grad(student, scores, y, mask)
    want_loss, want_dscores = oracle.temporal_softmax_loss(scores, y, mask)
    assert_close(loss, want_loss, "loss")
    assert_close(dscores, want_dscores, "dscores")


@pytest.mark.points(2)
def test_masked_steps_are_ignored(student, make):
    """Changing the scores at masked steps changes neither the loss nor the gradient; their gradient is zero"""
    N, T, V = 3, 6, 4
    scores, y, mask = make.normal(N, T, V), make.labels(V, N, T), make.mask(N, T, p=0.5)
    mask[:, 0] = True
    mask[0, 1] = False
    loss, dscores = loss_and_grad(student, scores, y, mask)
    changed = scores.copy()
    changed[~mask] += make.normal(int((~mask).sum()), V, scale=5.0)
    loss2, dscores2 = loss_and_grad(student, changed, y, mask)
    assert_close(loss2, loss, "loss after changing masked scores")
    assert_close(as_array(dscores, "dscores", scores.shape)[~mask], np.zeros(((~mask).sum(), V)),
                 "dscores at masked steps")
    assert_close(dscores2, dscores, "dscores after changing masked scores")


@pytest.mark.points(1)
def test_fully_masked_sequence(student, oracle, make):
    """A sequence whose every step is masked contributes nothing (and no NaN)"""
    N, T, V = 3, 4, 5
    scores, y, mask = make.normal(N, T, V), make.labels(V, N, T), make.mask(N, T)
    mask[1] = False
    loss, dscores = loss_and_grad(student, scores, y, mask)
    want_loss, want_dscores = oracle.temporal_softmax_loss(scores, y, mask)
    assert_close(loss, want_loss, "loss")
    assert_close(dscores, want_dscores, "dscores")


@pytest.mark.points(1)
def test_large_scores_are_stable(student, oracle, make):
    """Scores in the thousands give a finite loss and gradient (a stable softmax)"""
    N, T, V = 2, 3, 4
    scores, y, mask = make.normal(N, T, V, scale=1000.0), make.labels(V, N, T), np.ones((N, T), bool)
    loss, dscores = loss_and_grad(student, scores, y, mask)
    assert_finite(as_array(loss, "loss", ()), "loss")
    assert_finite(as_array(dscores, "dscores", scores.shape), "dscores")
    assert_close(loss, oracle.temporal_softmax_loss(scores, y, mask)[0], "loss", 1e-6)


@pytest.mark.points(2)
def test_matches_numeric_gradient(student, make):
    """dscores agrees with centred differences of your own loss"""
    N, T, V = 2, 3, 4
    scores, y, mask = make.normal(N, T, V), make.labels(V, N, T), make.mask(N, T)
    mask[0, 0] = True
    _, dscores = loss_and_grad(student, scores, y, mask)

    loss_of = vary_argument(student, "temporal_softmax_loss", (scores, y, mask), 0, output=0)
    assert_gradient_matches(dscores, loss_of, scores, np.ones(()), "dscores", batched=True)
