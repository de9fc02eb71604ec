"""Q5 public tests: gradient clipping."""

import numpy as np
import pytest

from autograder.checks import assert_close, assert_dict_close, unpack

pytestmark = pytest.mark.question("clipping")


@pytest.mark.points(2)
def test_clip_norm_scales_globally(student, oracle, make):
    """clip_grad_norm rescales all gradients by one common factor"""
    grads = make.grads((3, 4), (4,), (2, 2), scale=2.0)
    clipped, norm = unpack(student.clip_grad_norm(grads, 1.5), ["clipped", "total_norm"], "clip_grad_norm")
    want_clipped, want_norm = oracle.clip_grad_norm(grads, 1.5)
    assert_close(norm, want_norm, "total_norm")
    assert_dict_close(clipped, want_clipped, "clipped")


@pytest.mark.points(1)
def test_clip_norm_below_threshold(student, make):
    """clip_grad_norm leaves gradients alone when their norm is below max_norm"""
    grads = make.grads((3, 2), (5,), scale=0.1)
    norm = float(np.sqrt(sum(np.sum(g**2) for g in grads.values())))
    clipped, total = unpack(student.clip_grad_norm(grads, 10.0), ["clipped", "total_norm"], "clip_grad_norm")
    assert_close(total, norm, "total_norm")
    assert_dict_close(clipped, grads, "clipped")


@pytest.mark.points(1)
def test_clip_value(student, oracle, make):
    """clip_grad_value clips every entry into [-c, c]"""
    grads = make.grads((4, 3), (6,), scale=2.0)
    assert_dict_close(student.clip_grad_value(grads, 0.5), oracle.clip_grad_value(grads, 0.5), "clipped")
