"""Q1 hidden tests: masked_softmax on fresh inputs, against the reference and its definition."""

import numpy as np
import pytest

from autograder.checks import CheckFailed, as_array, assert_close

pytestmark = pytest.mark.question("masked_softmax")


def run(att, oracle, scores, mask, dim=-1, dout=None, what=""):
    """The student's masked_softmax against the reference (result and, with dout, gradient)."""
    where = f"masked_softmax{what}"
    got = att.call("masked_softmax", where, scores, mask, dim=dim, dout=dout)
    expected = oracle.attention_masked_softmax(scores, mask, dim=dim, dout=dout)
    out = as_array(got.get("out"), f"the result of {where}", np.shape(scores))
    if mask is not None:
        att.check_weights(np.moveaxis(out, dim, -1), np.moveaxis(np.broadcast_to(mask, np.shape(scores)), dim, -1),
                          where)
    assert_close(out, expected["out"], f"the result of {where}")
    if dout is not None:
        assert_close(got.get("dscores"), expected["dscores"], f"the gradient of the scores of {where}")
    return got


@pytest.mark.points(1)
def test_matches_reference(att, oracle):
    """Non-square (N, S) and (N, T, S) scores, with full-shape and broadcast (N, 1, S) masks"""
    run(att, oracle, att.normal(4, 7), att.mask(4, 7), what=" on (4, 7) scores")
    run(att, oracle, att.normal(3, 2, 5, scale=3.0), att.mask(3, 2, 5), what=" on (3, 2, 5) scores")
    run(att, oracle, att.normal(2, 4, 6), att.mask(2, 1, 6), what=" on (2, 4, 6) scores with a (2, 1, 6) mask")


@pytest.mark.points(1)
def test_other_axis(att, oracle):
    """dim=1 of (N, S, T) scores and dim=0 of (S, N) scores: normalise along the axis asked for"""
    run(att, oracle, att.normal(3, 6, 4), att.mask(3, 4, 6).transpose(0, 2, 1), dim=1,
        what=" along dim=1 of (3, 6, 4) scores")
    run(att, oracle, att.normal(5, 3), att.mask(3, 5).T, dim=0, what=" along dim=0 of (5, 3) scores")


@pytest.mark.points(1)
def test_padded_scores_do_not_matter(att, oracle):
    """Scores at padded positions have no effect, even huge ones; mask=None is a plain softmax"""
    scores, mask = att.normal(4, 6), att.mask(4, 6)
    first = run(att, oracle, scores, mask, what=" (first call)")
    changed = scores.copy()
    changed[~mask] = att.normal(int((~mask).sum()), scale=1e3)
    second = run(att, oracle, changed, mask, what=" with other scores at padded positions")
    if not np.array_equal(np.asarray(first["out"]), np.asarray(second["out"])):
        raise CheckFailed("masked_softmax's result changes when only the scores at padded positions change")
    run(att, oracle, att.normal(3, 5), None, what=" with mask=None")


@pytest.mark.points(1)
def test_stable_and_fully_masked(att, oracle):
    """Scores of size 1e4 (float64 and float32), one real position, and rows with none"""
    scores, mask = att.normal(5, 4, scale=1e4), att.mask(5, 4, empty_rows=2)
    mask[int(np.argmax(mask.any(axis=1)))] = [True, False, False, False]
    run(att, oracle, scores, mask, what=" on scores of size 1e4 with fully masked rows")
    got = att.call("masked_softmax", "masked_softmax in float32", scores, mask, dtype="float32")
    if got.get("dtype") != "float32":
        raise CheckFailed(f"masked_softmax of float32 scores gave {got.get('dtype')}; keep the input's dtype")
    out = as_array(got.get("out"), "the float32 result of masked_softmax", scores.shape)
    att.check_weights(out.astype(np.float64) / np.where(out.sum(-1, keepdims=True) > 0, out.sum(-1, keepdims=True),
                                                          1), mask, "masked_softmax in float32")
    expected = oracle.attention_masked_softmax(scores.astype(np.float32).astype(np.float64), mask)["out"]
    if not np.all(np.isfinite(out)) or np.max(np.abs(out - expected)) > 1e-5:
        raise CheckFailed("masked_softmax in float32 is wrong or not finite for scores of size 1e4")


@pytest.mark.points(1)
def test_gradient(att, oracle):
    """Gradients: finite everywhere, zero at padding and for fully masked rows, and the reference's"""
    scores, mask, dout = att.normal(5, 6, scale=2.0), att.mask(5, 6, empty_rows=1), att.normal(5, 6)
    got = run(att, oracle, scores, mask, dout=dout, what=" (backward)")
    dscores = np.asarray(got["dscores"])
    if np.any(dscores[~mask] != 0):
        raise CheckFailed("the gradient of masked_softmax's scores should be exactly zero at padded positions")
    scores, mask, dout = att.normal(2, 3, 4), att.mask(2, 1, 4), att.normal(2, 3, 4)
    run(att, oracle, scores, mask, dout=dout, what=" (backward, (2, 3, 4) scores)")
