"""Q5 hidden tests: clipping by global norm and by value, with edge cases."""

import numpy as np
import pytest

from autograder.checks import CheckFailed, assert_close, assert_dict_close, assert_not_mutated, unpack

pytestmark = pytest.mark.question("clipping")


def clip_norm(student, grads, max_norm):
    return unpack(student.clip_grad_norm(grads, max_norm), ["clipped", "total_norm"], "clip_grad_norm")


@pytest.mark.points(3)
def test_global_norm(student, oracle, make):
    """Several gradients are clipped together by their global norm, not one by one"""
    grads = make.grads((5, 3), (3,), (4, 4), (2,), scale=3.0)
    clipped, norm = clip_norm(student, grads, 2.0)
    want_clipped, want_norm = oracle.clip_grad_norm(grads, 2.0)
    assert_close(norm, want_norm, "total_norm")
    assert_dict_close(clipped, want_clipped, "clipped")


@pytest.mark.points(1)
def test_direction_is_kept(student, make):
    """After clipping, the gradients point the same way and their global norm equals max_norm"""
    grads = make.grads((6,), (2, 3), scale=5.0)
    clipped, _ = clip_norm(student, grads, 1.0)
    if not isinstance(clipped, dict) or sorted(clipped) != sorted(grads):
        raise CheckFailed("clipped should be a dict with the same keys as grads")
    flat = np.concatenate([np.asarray(clipped[k], dtype=float).ravel() for k in sorted(grads)])
    original = np.concatenate([grads[k].ravel() for k in sorted(grads)])
    assert_close(np.linalg.norm(flat), 1.0, "the global norm after clipping")
    assert_close(flat, original / np.linalg.norm(original), "the clipped gradients' direction")


@pytest.mark.points(1)
def test_zero_gradients(student):
    """All-zero gradients: norm 0, gradients unchanged, no NaN"""
    grads = {"W": np.zeros((3, 2)), "b": np.zeros(2)}
    clipped, norm = clip_norm(student, grads, 1.0)
    assert_close(norm, 0.0, "total_norm")
    assert_dict_close(clipped, grads, "clipped")


@pytest.mark.points(1)
def test_non_finite_norm(student, make):
    """An infinite gradient entry: the norm is reported as inf and finite entries stay as they were"""
    grads = make.grads((3, 3), (4,))
    grads["g0"][1, 2] = np.inf
    clipped, norm = clip_norm(student, grads, 1.0)
    if not (isinstance(norm, (int, float, np.ndarray)) and np.isinf(float(norm))):
        raise CheckFailed("total_norm should be inf when a gradient entry is inf")
    assert_dict_close(clipped, grads, "clipped")


@pytest.mark.points(1)
def test_inputs_not_modified(student, oracle, make):
    """clip_grad_norm returns new arrays and leaves grads unchanged"""
    grads = make.grads((4, 2), (3,), scale=4.0)
    clipped, _ = clip_norm(student, grads, 0.5)
    assert_not_mutated(student, "clip_grad_norm")
    assert_dict_close(clipped, oracle.clip_grad_norm(grads, 0.5)[0], "clipped")


@pytest.mark.points(2)
def test_clip_value(student, oracle, make):
    """clip_grad_value against the reference, and the input is not modified"""
    grads = make.grads((5, 4), (7,), (2, 2), scale=2.0)
    clipped = student.clip_grad_value(grads, 0.8)
    assert_not_mutated(student, "clip_grad_value")
    assert_dict_close(clipped, oracle.clip_grad_value(grads, 0.8), "clipped")
