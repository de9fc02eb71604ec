"""Assertion helpers: they catch what is wrong and say so without printing expected values."""

import numpy as np
import pytest

from autograder.channel import Handle
from autograder.checks import (CheckFailed, assert_close, assert_dict_close, assert_gradient_matches, relative_error,
                               unpack)


def test_relative_error_is_cs231n_s():
    assert relative_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert relative_error([1.0], [3.0]) == pytest.approx(0.5)
    assert relative_error([0.0], [0.0]) == 0.0


@pytest.mark.parametrize("got, message", [
    (np.ones((2, 3)), r"x has shape \(2, 3\); expected \(3, 2\)"),
    ([[1.0, 1.0]] * 3, r"x should be a numpy array; got a list of 3 values"),
    (Handle(1, "Tensor"), r"x should be a numpy array; got a Tensor \(not plain data"),
    (np.full((3, 2), np.nan), r"x contains NaN in 6 of 6 entries"),
    (np.array([["a", "b"]] * 3), r"x should hold real numbers"),
    (np.full((3, 2), 1.5), r"x is wrong: relative error 2.0e-01 \(allowed 1e-07\)"),
])
def test_assert_close_says_what_is_wrong(got, message):
    with pytest.raises(CheckFailed, match=message):
        assert_close(got, np.ones((3, 2)), "x")


def test_messages_never_contain_the_expected_values():
    expected = np.array([0.123456789, 9.87654321])
    for got in (np.zeros(2), np.zeros(3), np.array([np.nan, 1.0])):
        with pytest.raises(CheckFailed) as info:
            assert_close(got, expected, "y")
        assert "0.1234" not in str(info.value) and "9.876" not in str(info.value)


def test_non_finite_expected_entries_must_be_kept():
    expected = np.array([np.inf, 1.0])
    assert_close(np.array([np.inf, 1.0]), expected, "g")
    with pytest.raises(CheckFailed, match="g has NaN in 1 of the entries that should stay"):
        assert_close(np.array([np.nan, 1.0]), expected, "g")


def test_unpack_and_dicts():
    with pytest.raises(CheckFailed, match=r"f should return a tuple \(a, b\); it returned a float"):
        unpack(1.0, ["a", "b"], "f")
    with pytest.raises(CheckFailed, match=r"grads should be a dict with keys \['W'\]; got a dict .* \['V'\]"):
        assert_dict_close({"V": np.ones(1)}, {"W": np.ones(1)}, "grads")


def test_gradient_check_catches_a_wrong_gradient_and_a_wrong_output_shape():
    x, upstream = np.array([1.0, 2.0]), np.array([1.0, 1.0])
    assert_gradient_matches(2 * x, lambda v: v**2, x, upstream, "dx")
    with pytest.raises(CheckFailed, match="dx .compared with a numeric gradient. is wrong"):
        assert_gradient_matches(x, lambda v: v**2, x, upstream, "dx")
    with pytest.raises(CheckFailed, match=r"the output being differentiated has shape \(1, 2\); expected \(2,\)"):
        assert_gradient_matches(x, lambda v: v[None], x, upstream, "dx")
