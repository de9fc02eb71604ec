"""Q1 public tests: masked_softmax. Run them with `rnnkit check`."""

import numpy as np
import pytest

from autograder.checks import CheckFailed, assert_close

pytestmark = pytest.mark.question("masked_softmax")


@pytest.mark.points(1)
def test_padding_gets_zero(att, oracle):
    """(N, S) scores with a mask: exactly 0 at padding, rows sum to 1 over the real positions"""
    scores, mask = att.normal(3, 5), att.mask(3, 5)
    got = att.call("masked_softmax", "masked_softmax", scores, mask)
    att.check_weights(np.asarray(got.get("out")), mask, "masked_softmax")
    assert_close(got.get("out"), oracle.attention_masked_softmax(scores, mask)["out"], "masked_softmax's result")


@pytest.mark.points(1)
def test_fully_masked_row_and_large_scores(att, oracle):
    """Scores of size 1e4 do not overflow, and a row with no real position is all zeros (not NaN)"""
    scores, mask = att.normal(4, 6, scale=1e4), att.mask(4, 6, empty_rows=1)
    got = att.call("masked_softmax", "masked_softmax", scores, mask)
    out = np.asarray(got.get("out"))
    if out.shape == scores.shape and not np.all(np.isfinite(out)):
        raise CheckFailed("masked_softmax gives NaN or inf for scores of size 1e4 or for a row with no real "
                          "position")
    att.check_weights(out, mask, "masked_softmax")
    assert_close(out, oracle.attention_masked_softmax(scores, mask)["out"], "masked_softmax's result")


@pytest.mark.points(1)
def test_gradient(att, oracle):
    """The gradient with respect to the scores, with one fully masked row"""
    scores, mask, dout = att.normal(3, 4), att.mask(3, 4, empty_rows=1), att.normal(3, 4)
    got = att.call("masked_softmax", "masked_softmax", scores, mask, dout=dout)
    expected = oracle.attention_masked_softmax(scores, mask, dout=dout)
    assert_close(got.get("out"), expected["out"], "masked_softmax's result")
    assert_close(got.get("dscores"), expected["dscores"], "the gradient of masked_softmax's scores")
