"""Statistical checks for tests of random samplers.

A sampler's draws cannot be compared with expected values one by one; what can be
checked is that their counts fit the intended distribution. :func:`chi_square_gof`
is Pearson's chi-square goodness-of-fit test, with the p-value from the regularised
upper incomplete gamma function (``torch.special.gammaincc``; no scipy needed).

Pearson's statistic is only chi-square distributed when every cell's expected count
is large, so cells with small expected counts are pooled first (see :func:`pool`).
Tests choose a significance level per test so that, over all the chi-square tests of
one grading together (a Bonferroni bound), a correct sampler fails rarely enough.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Pearson's approximation is good in the far tail only when expected counts are
# large; 20 per (pooled) cell keeps the true tail probability at levels near 1e-6
# within a small factor of the nominal one (checked by simulation).
MIN_EXPECTED = 20.0


@dataclass(frozen=True)
class GoodnessOfFit:
    statistic: float
    dof: int
    p_value: float
    cells: int          # cells after pooling, over all groups
    impossible: int     # draws that fell in cells of probability 0


def pool(expected: np.ndarray, min_expected: float = MIN_EXPECTED) -> np.ndarray:
    """Cell labels (one per entry of ``expected``) that pool the cells with small expected
    counts: cells are taken from the smallest expected count up and merged until each
    pool expects at least ``min_expected``; a last pool still short of it joins the
    previous one. Cells that expect ``min_expected`` or more on their own stay alone.
    Cells of expected count 0 get the label -1 (left out)."""
    expected = np.asarray(expected, dtype=np.float64)
    labels = np.full(expected.shape, -1, dtype=np.int64)
    order = [i for i in np.argsort(expected, kind="stable") if expected[i] > 0]
    label, total, previous = 0, 0.0, -1
    for i in order:
        labels[i] = label
        total += expected[i]
        if total >= min_expected:
            previous, label, total = label, label + 1, 0.0
    if total > 0 and previous >= 0:     # the last pool is short: join it to the one before
        labels[labels == label] = previous
    return labels


def _upper_gamma(a: float, x: float) -> float:
    """Q(a, x), the regularised upper incomplete gamma function, in float64."""
    import torch

    return float(torch.special.gammaincc(torch.tensor(a, dtype=torch.float64), torch.tensor(x, dtype=torch.float64)))


def chi_square_gof(counts, probs, min_expected: float = MIN_EXPECTED) -> GoodnessOfFit:
    """Pearson's chi-square test that ``counts`` were drawn from ``probs``.

    ``counts`` and ``probs`` have the same shape: (V,) for one distribution, or (G, V)
    for G independent groups (each row its own distribution and its own number of
    draws); the groups' statistics and degrees of freedom add up. Each row of
    ``probs`` must sum to 1 (to 1e-9). Draws in cells of probability 0 are counted in
    ``impossible`` (and give p-value 0): callers should report those first, they are
    a certain error, not a statistical one. Negative or non-finite counts are a ValueError.
    """
    counts = np.atleast_2d(np.asarray(counts, dtype=np.float64))
    probs = np.atleast_2d(np.asarray(probs, dtype=np.float64))
    if counts.shape != probs.shape:
        raise ValueError(f"counts {counts.shape} and probs {probs.shape} differ in shape")
    if np.any(probs < 0) or not np.allclose(probs.sum(axis=1), 1.0, rtol=0, atol=1e-9):
        raise ValueError("each row of probs must be a probability distribution")
    if not np.all(np.isfinite(counts)) or np.any(counts < 0):
        raise ValueError("counts must be finite and non-negative: they count draws")
    impossible = int(counts[probs == 0].sum())
    statistic, dof, cells = 0.0, 0, 0
    for observed_row, prob_row in zip(counts, probs):
        n = observed_row.sum()
        if n == 0:
            continue
        expected_row = n * prob_row
        labels = pool(expected_row, min_expected)
        k = int(labels.max()) + 1
        if k <= 0:
            continue
        keep = labels >= 0
        observed = np.bincount(labels[keep], weights=observed_row[keep], minlength=k)
        expected = np.bincount(labels[keep], weights=expected_row[keep], minlength=k)
        statistic += float(np.sum((observed - expected) ** 2 / expected))
        dof += k - 1
        cells += k
    if impossible:
        p_value = 0.0
    elif dof == 0:
        p_value = 1.0
    else:
        p_value = _upper_gamma(dof / 2.0, statistic / 2.0)
    return GoodnessOfFit(statistic, dof, p_value, cells, impossible)
