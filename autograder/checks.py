"""Assertions for tests whose failure messages are safe to show a student.

A message says what is wrong (type, shape, NaN, size of the error, which input was
modified) and never prints an expected value, so hidden tests' answers stay hidden.
"""

from __future__ import annotations

import numpy as np

from autograder.channel import Handle

DEFAULT_TOLERANCE = 1e-7


class CheckFailed(AssertionError):
    """A student's result is wrong; the message is written for the student."""


def relative_error(x, y) -> float:
    """``max |x - y| / max(1e-8, |x| + |y|)``, elementwise, as CS231n defines it."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.size == 0:
        return 0.0
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def describe(value) -> str:
    if isinstance(value, Handle):
        return f"a {value.type_name} (not plain data: use numpy arrays, numbers, tuples, lists or dicts)"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} values"
    return "None" if value is None else f"a {type(value).__name__}"


def unpack(value, names: list[str], where: str) -> tuple:
    """Check that ``value`` is a tuple of ``len(names)`` values and return it."""
    if not isinstance(value, (tuple, list)) or len(value) != len(names):
        raise CheckFailed(f"{where} should return a tuple ({', '.join(names)}); it returned {describe(value)}")
    return tuple(value)


def as_array(value, name: str, shape=None) -> np.ndarray:
    """Check that ``value`` is a numeric array (of ``shape``, if given) and return it."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and shape in (None, ()):
        value = np.asarray(value, dtype=np.float64)
    if not isinstance(value, np.ndarray):
        raise CheckFailed(f"{name} should be a numpy array; got {describe(value)}")
    if value.dtype.kind not in "biuf":
        raise CheckFailed(f"{name} should hold real numbers; its dtype is {value.dtype}")
    if shape is not None and tuple(value.shape) != tuple(shape):
        raise CheckFailed(f"{name} has shape {tuple(value.shape)}; expected {tuple(shape)}")
    return value


def assert_finite(value: np.ndarray, name: str) -> None:
    bad = ~np.isfinite(np.asarray(value, dtype=np.float64))
    if bad.any():
        kinds = "NaN" if np.isnan(value).any() else "inf"
        raise CheckFailed(f"{name} contains {kinds} in {int(bad.sum())} of {bad.size} entries")


def assert_close(got, expected, name: str, tolerance: float = DEFAULT_TOLERANCE) -> None:
    """``got`` must be an array of ``expected``'s shape, finite where it is, within
    ``tolerance`` relative error (see :func:`relative_error`)."""
    expected = np.asarray(expected)
    got = as_array(got, name, expected.shape)
    finite = np.isfinite(expected)
    bad = finite & ~np.isfinite(got)
    if bad.any():
        kind = "NaN" if np.isnan(got[bad]).any() else "inf"
        where = "" if finite.all() else " where finite values are expected"
        raise CheckFailed(f"{name} contains {kind} in {int(bad.sum())} of {bad.size} entries{where}")
    same = (got == expected) | (np.isnan(got) & np.isnan(expected))
    wrong = ~finite & ~same
    if wrong.any():
        kind = "NaN" if np.isnan(got[wrong]).any() else "inf" if np.isinf(got[wrong]).any() else "finite values"
        raise CheckFailed(f"{name} has {kind} in {int(wrong.sum())} of the entries that should stay as they "
                          "were (inf or NaN)")
    error = relative_error(got[finite], expected[finite])
    if not error <= tolerance:
        raise CheckFailed(f"{name} is wrong: relative error {error:.1e} (allowed {tolerance:.0e})")


def assert_not_mutated(student, what: str) -> None:
    """The student's last call must have left its array arguments unchanged."""
    record = getattr(student, "last_call", None)
    if record is not None and record.mutated:
        raise CheckFailed(f"{what} modified its input(s) {', '.join(record.mutated)} in place; "
                          "work on copies instead")


def numeric_gradient(f, x: np.ndarray, upstream: np.ndarray, step: float = 1e-5, batched: bool = False) -> np.ndarray:
    """Centred-difference gradient of ``sum(f(x) * upstream)`` with respect to ``x``.

    ``f`` takes a float64 array shaped like ``x`` and returns an array shaped like
    ``upstream``; with ``batched=True`` it takes a list of such arrays and returns the
    list of outputs (see :func:`vary_argument`, which makes all the calls in one round
    trip to the student's process). ``x`` is not modified.
    """
    x = np.array(x, dtype=np.float64)
    upstream = np.asarray(upstream, dtype=np.float64)
    points = []
    for i in range(x.size):
        for sign in (1.0, -1.0):
            moved = x.copy()
            moved.reshape(-1)[i] += sign * step
            points.append(moved)
    outputs = f(points) if batched else [f(p) for p in points]
    if not isinstance(outputs, list) or len(outputs) != len(points):
        raise CheckFailed("the function being differentiated returned the wrong number of results")
    values = [as_array(o, "the output being differentiated", upstream.shape).astype(np.float64) for o in outputs]
    grad = np.array([np.sum((values[2 * i] - values[2 * i + 1]) * upstream) / (2 * step) for i in range(x.size)])
    return grad.reshape(x.shape)


def vary_argument(student, name: str, args: tuple, index: int, output: int | None = None):
    """A batched function for :func:`numeric_gradient`: calls ``student.name(*args)`` with
    argument ``index`` replaced by each given value, and keeps element ``output`` of each
    result (the whole result if None)."""
    def evaluate(values):
        calls = [tuple(v if j == index else a for j, a in enumerate(args)) for v in values]
        return student.map(name, calls, output)

    return evaluate


def assert_all_close(got, expected, names: list[str], where: str, tolerance: float = DEFAULT_TOLERANCE) -> None:
    """``got`` must be a tuple of ``len(names)`` arrays, each close to its ``expected``."""
    values = unpack(got, names, where)
    for value, want, name in zip(values, expected, names):
        assert_close(value, want, f"{name} from {where}", tolerance)


def assert_dict_close(got, expected: dict, where: str, tolerance: float = DEFAULT_TOLERANCE) -> None:
    """``got`` must be a dict with ``expected``'s keys, each array close to its expected one."""
    if not isinstance(got, dict) or sorted(got) != sorted(expected):
        raise CheckFailed(f"{where} should be a dict with keys {sorted(expected)}; got {describe(got)}"
                          + (f" with keys {sorted(got)}" if isinstance(got, dict) else ""))
    for name in expected:
        assert_close(got[name], expected[name], f"{where}[{name!r}]", tolerance)


def assert_gradient_matches(analytic, f, x: np.ndarray, upstream: np.ndarray, name: str,
                            tolerance: float = 1e-6, batched: bool = False) -> None:
    """``analytic`` must match the centred-difference gradient of ``sum(f(x) * upstream)``."""
    assert_close(analytic, numeric_gradient(f, x, upstream, batched=batched),
                 f"{name} (compared with a numeric gradient)", tolerance)
