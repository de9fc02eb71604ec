"""autograder.stats: Pearson's chi-square goodness-of-fit test used to grade random samplers.

References are computed independently of torch.special.gammaincc: closed forms of the
chi-square survival function (via math.exp / math.erfc) and textbook table values.
"""

import math

import numpy as np
import pytest
import torch

from autograder.stats import MIN_EXPECTED, chi_square_gof, pool


def chi2_sf(x: float, dof: int) -> float:
    """P(X > x) for X ~ chi-square(dof), from the closed forms for integer dof."""
    h = x / 2.0
    if dof % 2 == 0:
        return math.exp(-h) * sum(h**i / math.factorial(i) for i in range(dof // 2))
    # odd dof: erfc(sqrt(x/2)) + sqrt(2x/pi) e^{-x/2} sum_{i<k} x^i / (1*3*...*(2i+1))
    total, term = 0.0, 1.0
    for i in range((dof - 1) // 2):
        term = term * x / (2 * i + 1) if i else 1.0
        total += term
    return math.erfc(math.sqrt(h)) + math.sqrt(2 * x / math.pi) * math.exp(-h) * total


def pearson(counts, probs) -> float:
    counts, probs = np.asarray(counts, float), np.asarray(probs, float)
    expected = counts.sum() * probs
    return float(np.sum((counts - expected) ** 2 / expected))


def test_reference_closed_forms_against_table_values():
    # the reference itself must be right before it judges anything
    assert chi2_sf(3.841, 1) == pytest.approx(0.05, abs=2e-5)
    assert chi2_sf(6.635, 1) == pytest.approx(0.01, abs=2e-5)
    assert chi2_sf(9.210, 2) == pytest.approx(0.01, abs=2e-5)
    assert chi2_sf(7.815, 3) == pytest.approx(0.05, abs=2e-5)
    assert chi2_sf(11.070, 5) == pytest.approx(0.05, abs=2e-5)
    assert chi2_sf(18.307, 10) == pytest.approx(0.05, abs=2e-5)


def test_one_dof_matches_table_value():
    # two equal cells, n = 10000, off by 98: statistic 4 * 98^2 / 10000 = 3.8416 -> p ~ 0.05
    fit = chi_square_gof([5098, 4902], [0.5, 0.5])
    assert fit.dof == 1 and fit.cells == 2 and fit.impossible == 0
    assert fit.statistic == pytest.approx(3.8416, rel=1e-12)
    assert fit.p_value == pytest.approx(0.05, abs=1e-4)
    assert fit.p_value == pytest.approx(chi2_sf(fit.statistic, 1), rel=1e-9)


def test_two_dof_matches_table_value():
    # three equal cells of expected 1000: statistic (55^2 + 21^2 + 76^2) / 1000 = 9.242 -> p ~ 0.01
    fit = chi_square_gof([1055, 1021, 924], [1 / 3, 1 / 3, 1 / 3])
    assert fit.dof == 2
    assert fit.statistic == pytest.approx(9.242, rel=1e-9)
    assert fit.p_value == pytest.approx(0.01, abs=3e-4)
    assert fit.p_value == pytest.approx(math.exp(-9.242 / 2), rel=1e-9)


@pytest.mark.parametrize("cells", [2, 3, 4, 5, 6, 9, 11, 21, 40])
@pytest.mark.parametrize("shift", [0, 3, 12, 40])
def test_p_value_matches_closed_form(cells, shift):
    # large expected counts (no pooling), counts moved from cell to cell by `shift`
    rng = np.random.default_rng(cells * 100 + shift)
    probs = rng.dirichlet(np.ones(cells)) * 0.5 + 0.5 / cells
    probs /= probs.sum()
    n = 20000
    counts = np.round(n * probs).astype(np.int64)
    counts[0] += n - counts.sum()
    counts[0] += shift * 5
    counts[-1] -= shift * 5
    fit = chi_square_gof(counts, probs)
    assert fit.dof == cells - 1 and fit.cells == cells
    assert fit.statistic == pytest.approx(pearson(counts, probs), rel=1e-10)
    assert fit.p_value == pytest.approx(chi2_sf(fit.statistic, cells - 1), rel=1e-8, abs=1e-300)


def test_tiny_p_values_keep_relative_accuracy():
    # 2 cells, way off: statistic 400, p = erfc(sqrt(200)) ~ 1e-89
    fit = chi_square_gof([6000, 4000], [0.5, 0.5])
    assert fit.statistic == pytest.approx(400.0)
    assert fit.p_value == pytest.approx(math.erfc(math.sqrt(200.0)), rel=1e-6)
    assert 0 < fit.p_value < 1e-80


def test_perfect_fit_gives_p_value_one():
    fit = chi_square_gof([250, 250, 500], [0.25, 0.25, 0.5])
    assert fit.statistic == 0.0
    assert fit.p_value == pytest.approx(1.0)


def _numpy_draws(seed, probs, n):
    return np.random.default_rng(seed).multinomial(n, probs)


def _torch_draws(seed, probs, n):
    gen = torch.Generator().manual_seed(seed)
    idx = torch.multinomial(torch.tensor(probs), n, replacement=True, generator=gen)
    return torch.bincount(idx, minlength=len(probs)).numpy()


@pytest.mark.parametrize("draw", [_numpy_draws, _torch_draws])
def test_correct_sampler_passes_and_wrong_one_fails(draw):
    probs = np.array([0.4, 0.25, 0.15, 0.1, 0.05, 0.03, 0.015, 0.005])
    wrong = np.array([0.35, 0.27, 0.17, 0.1, 0.05, 0.03, 0.02, 0.01])   # off by a few percent
    for seed in range(10):
        right_fit = chi_square_gof(draw(seed, probs, 20000), probs)
        assert right_fit.p_value > 1e-4, (seed, right_fit)
        wrong_fit = chi_square_gof(draw(seed, wrong, 20000), probs)
        assert wrong_fit.p_value < 1e-12, (seed, wrong_fit)


def test_p_values_of_a_correct_sampler_are_roughly_uniform():
    rng = np.random.default_rng(12345)
    probs = np.array([0.5, 0.2, 0.2, 0.05, 0.03, 0.02])
    p = np.array([chi_square_gof(rng.multinomial(3000, probs), probs).p_value for _ in range(400)])
    assert 0.05 <= np.mean(p < 0.1) <= 0.16
    assert 0.40 <= np.mean(p < 0.5) <= 0.60
    assert p.min() > 1e-5


# pooling ---------------------------------------------------------------------------------


def test_pool_leaves_large_cells_alone_and_pools_small_ones():
    expected = np.array([100.0, 5.0, 50.0, 6.0, 30.0, 4.0, 7.0])
    labels = pool(expected, 20.0)
    # the four small cells (22 together) form one pool; each large cell is alone
    assert len({labels[i] for i in (1, 3, 5, 6)}) == 1
    big = [labels[i] for i in (0, 2, 4)]
    assert len(set(big)) == 3 and labels[1] not in big


def test_pool_every_pool_reaches_min_expected_and_zero_cells_are_left_out():
    rng = np.random.default_rng(7)
    for _ in range(50):
        expected = rng.exponential(15.0, size=rng.integers(2, 40))
        expected[rng.random(expected.size) < 0.2] = 0.0
        labels = pool(expected, 20.0)
        assert np.all(labels[expected == 0] == -1)
        assert np.all(labels[expected > 0] >= 0)
        kept = labels[labels >= 0]
        if kept.size == 0:
            continue
        k = kept.max() + 1
        assert set(kept) == set(range(k))           # labels 0..k-1, no gaps
        sums = np.bincount(kept, weights=expected[labels >= 0])
        if expected.sum() >= 20.0:
            assert np.all(sums >= 20.0 - 1e-9), (expected, labels)


def test_pool_of_a_total_below_min_expected_is_one_pool():
    labels = pool(np.array([3.0, 0.0, 4.0, 5.0]), 20.0)
    assert list(labels) == [0, -1, 0, 0]


def test_gof_pools_small_expected_cells():
    # 10 cells of expected 500 and 20 of expected 2.5 (50 together): the small ones pool
    probs = np.r_[np.full(10, 0.0995), np.full(20, 0.00025)]
    probs /= probs.sum()
    n = 10000
    counts = np.round(n * probs).astype(np.int64)
    counts[0] += n - counts.sum()
    fit = chi_square_gof(counts, probs)
    assert fit.cells < 30
    assert fit.dof == fit.cells - 1
    # the pooled statistic is Pearson's on pooled cells, its p-value the chi-square tail
    labels = pool(n * probs, MIN_EXPECTED)
    k = labels.max() + 1
    pooled_counts = np.bincount(labels, weights=counts, minlength=k)
    pooled_probs = np.bincount(labels, weights=probs, minlength=k)
    assert fit.cells == k
    assert fit.statistic == pytest.approx(pearson(pooled_counts, pooled_probs), rel=1e-9, abs=1e-12)
    assert fit.p_value == pytest.approx(chi2_sf(fit.statistic, fit.dof), rel=1e-8)


def test_gof_pooling_hides_no_gross_error_in_rare_cells():
    # every draw in one rare cell: pooled or not, the fit must fail
    probs = np.r_[0.9, np.full(100, 0.001)]
    counts = np.zeros(101, dtype=np.int64)
    counts[0], counts[1] = 9000, 1000
    fit = chi_square_gof(counts, probs)
    assert fit.p_value < 1e-12


def test_min_expected_argument_controls_pooling():
    probs = np.array([0.5, 0.3, 0.1, 0.06, 0.04])
    counts = np.array([250, 150, 50, 30, 20])
    assert chi_square_gof(counts, probs, min_expected=1.0).cells == 5
    assert chi_square_gof(counts, probs, min_expected=40.0).cells == 4


# impossible cells -------------------------------------------------------------------------


def test_draws_in_zero_probability_cells_are_impossible_and_fail():
    probs = [0.5, 0.0, 0.5]
    fit = chi_square_gof([500, 3, 497], probs)
    assert fit.impossible == 3
    assert fit.p_value == 0.0


def test_zero_probability_cells_without_draws_are_left_out():
    fit = chi_square_gof([500, 0, 500], [0.5, 0.0, 0.5])
    assert fit.impossible == 0 and fit.cells == 2 and fit.dof == 1
    assert fit.statistic == 0.0 and fit.p_value == pytest.approx(1.0)


# several distributions --------------------------------------------------------------------


def test_groups_add_statistics_and_degrees_of_freedom():
    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.full(6, 5.0), size=4)
    sizes = [5000, 8000, 3000, 12000]
    counts = np.stack([rng.multinomial(n, p) for n, p in zip(sizes, probs)])
    fit = chi_square_gof(counts, probs)
    rows = [chi_square_gof(c, p) for c, p in zip(counts, probs)]
    assert fit.statistic == pytest.approx(sum(r.statistic for r in rows), rel=1e-12)
    assert fit.dof == sum(r.dof for r in rows)
    assert fit.cells == sum(r.cells for r in rows)
    assert fit.p_value == pytest.approx(chi2_sf(fit.statistic, fit.dof), rel=1e-8)
    assert fit.p_value > 1e-4


def test_groups_one_wrong_row_fails_the_whole_test():
    rng = np.random.default_rng(4)
    probs = np.tile([0.4, 0.3, 0.2, 0.1], (5, 1))
    counts = np.stack([rng.multinomial(4000, p) for p in probs])
    assert chi_square_gof(counts, probs).p_value > 1e-4
    counts[2] = rng.multinomial(4000, [0.1, 0.2, 0.3, 0.4])
    assert chi_square_gof(counts, probs).p_value < 1e-12


def test_groups_without_draws_are_skipped():
    probs = np.array([[0.5, 0.5], [0.2, 0.8], [0.9, 0.1]])
    counts = np.array([[520, 480], [0, 0], [900, 100]])
    fit = chi_square_gof(counts, probs)
    assert fit.dof == 1 + 1 and fit.cells == 4
    assert fit.statistic == pytest.approx(pearson([520, 480], [0.5, 0.5]))


def test_no_draws_at_all_gives_p_value_one():
    fit = chi_square_gof([0, 0, 0], [0.2, 0.3, 0.5])
    assert fit.dof == 0 and fit.p_value == 1.0


def test_accepts_lists_and_torch_tensors():
    a = chi_square_gof([480, 520], [0.5, 0.5])
    b = chi_square_gof(torch.tensor([480, 520]), torch.tensor([0.5, 0.5], dtype=torch.float64))
    assert a == b


# bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("counts, probs", [
    ([1, 2, 3], [0.5, 0.5]),
    ([1, 2], [0.2, 0.3, 0.5]),
    ([[1, 2], [3, 4]], [0.5, 0.5, 0.0, 0.0]),
    ([[1, 2], [3, 4]], [[0.5, 0.5]] * 3),
])
def test_shape_mismatch_is_a_clear_error(counts, probs):
    with pytest.raises(ValueError, match="shape"):
        chi_square_gof(counts, probs)


@pytest.mark.parametrize("probs", [
    [0.5, 0.6],                 # sums to 1.1
    [0.5, 0.49],                # sums to 0.99
    [0.5, 0.5 + 1e-6],          # just beyond 1e-9
    [1.5, -0.5],                # sums to 1, negative entry
    [0.5, float("nan")],
])
def test_probs_that_are_not_a_distribution_are_a_clear_error(probs):
    with pytest.raises(ValueError, match="probability distribution"):
        chi_square_gof([10, 10], probs)


def test_each_row_must_be_a_distribution():
    with pytest.raises(ValueError, match="probability distribution"):
        chi_square_gof([[10, 10], [10, 10]], [[0.5, 0.5], [0.5, 0.4]])


def test_rounding_within_tolerance_is_accepted():
    probs = np.full(7, 1 / 7)
    probs[0] += 1e-12
    assert chi_square_gof(np.full(7, 100), probs).dof == 6


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_counts_must_be_finite_and_non_negative(bad):
    with pytest.raises(ValueError, match="non-negative"):
        chi_square_gof([10.0, bad, 5.0], [0.5, 0.25, 0.25])
