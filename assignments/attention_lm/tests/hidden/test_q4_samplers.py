"""Q4 hidden tests: greedy, temperature, top-k and top-p sampling on fresh inputs.

Every sampling test draws tens of thousands of tokens in one sample_next call with a
fresh generator seed and runs a chi-square test against the reference's distribution
(significance level and its Bonferroni budget: tests/conftest.py, SAMPLING_ALPHA).
"""

import numpy as np
import pytest

from autograder.checks import CheckFailed

pytestmark = pytest.mark.question("samplers")


@pytest.mark.points(1)
def test_greedy_and_temperature(smp, student, oracle):
    """greedy and apply_temperature on fresh logits, float64 and float32, -inf kept"""
    for N, V, dtype in ((int(smp.rng.randint(2, 9)), int(smp.rng.randint(5, 40)), "float64"), (1, 6, "float32")):
        logits = smp.logits(N, V)
        reply = student.call("sampling_driver.greedy", logits, dtype)
        tokens = smp.check_tokens(reply, N, f"greedy on {dtype} logits")
        if not np.array_equal(tokens, oracle.sampling_greedy(logits.astype(dtype))):
            raise CheckFailed(f"greedy picked the wrong token in some rows ({dtype} logits)")
    logits = smp.logits(3, 12)
    logits[:, :3] = -np.inf
    for temperature in (smp.uniform(0.2, 0.9), 1.0, smp.uniform(1.5, 4.0)):
        for dtype in ("float64", "float32"):
            x = logits.astype(dtype)
            reply = student.call("sampling_driver.apply_filter", "apply_temperature", x, temperature, dtype)
            smp.check_filtered(reply, oracle.sampling_filter("apply_temperature", x, temperature), dtype,
                               f"apply_temperature(logits, {temperature:.3f}) on {dtype} logits with -inf entries",
                               1e-7 if dtype == "float64" else 1e-6)


@pytest.mark.points(1)
def test_top_k_filter(smp, student, oracle):
    """top_k_filter on fresh logits for k = 1, a random k, k = V and k > V"""
    N, V = int(smp.rng.randint(2, 6)), int(smp.rng.randint(6, 30))
    logits = smp.logits(N, V)
    for k in (1, int(smp.rng.randint(2, V)), V, V + 3):
        for dtype in ("float64", "float32"):
            x = logits.astype(dtype)
            reply = student.call("sampling_driver.apply_filter", "top_k_filter", x, k, dtype)
            smp.check_filtered(reply, oracle.sampling_filter("top_k_filter", x, k), dtype,
                               f"top_k_filter(logits, {k}) with V = {V} ({dtype})", 0.0)


@pytest.mark.points(1)
def test_top_p_filter(smp, student, oracle):
    """top_p_filter on fresh logits: the crossing token kept, p tiny keeps the argmax, p = 1 keeps all"""
    N, V = int(smp.rng.randint(2, 6)), int(smp.rng.randint(8, 30))
    logits = smp.logits(N, V, scale=2.0)
    for p, what in ((smp.top_p_crossing(logits), "a p crossed inside a token"),
                    (smp.top_p_crossing(logits, 0.5, 0.98), "a larger p"),
                    (1e-9, "p = 1e-9 (only the most likely token)"), (1.0, "p = 1 (every token)")):
        # float32 sums may reach 1 before the least likely tokens: p = 1 in float64 only.
        for dtype in ("float64",) if p == 1.0 else ("float64", "float32"):
            x = logits.astype(dtype)
            reply = student.call("sampling_driver.apply_filter", "top_p_filter", x, p, dtype)
            smp.check_filtered(reply, oracle.sampling_filter("top_p_filter", x, p), dtype,
                               f"top_p_filter with {what} ({dtype})", 0.0)


@pytest.mark.points(1)
def test_full_distribution(smp):
    """sample_next with temperature 1 and top_p = 1 (nothing removed) draws each row from its softmax"""
    V = int(smp.rng.randint(10, 30))
    smp.sample_and_check(smp.logits(2, V), "sample_next(logits, generator, top_p=1.0) on two different rows",
                         top_p=1.0)


@pytest.mark.points(1)
def test_temperature_distribution(smp):
    """sample_next with a temperature far from 1 draws from softmax(logits / temperature)"""
    V = int(smp.rng.randint(8, 20))
    temperature = smp.uniform(0.4, 0.7) if smp.rng.rand() < 0.5 else smp.uniform(1.6, 2.5)
    smp.sample_and_check(smp.logits(1, V), f"sample_next with temperature={temperature:.3f}",
                         temperature=temperature)


@pytest.mark.points(1)
def test_filtered_distributions(smp):
    """sample_next with temperature then top-k, and with temperature then top-p, draws from the filtered softmax"""
    V = int(smp.rng.randint(12, 25))
    logits = smp.logits(1, V)
    temperature, k = smp.uniform(0.5, 0.8), int(smp.rng.randint(3, V - 3))
    smp.sample_and_check(logits, f"sample_next with temperature={temperature:.3f}, top_k={k}",
                         temperature=temperature, top_k=k)
    temperature = smp.uniform(1.5, 2.5)
    tempered = logits / temperature
    p = smp.top_p_crossing(tempered, 0.4, 0.9)
    smp.sample_and_check(logits, f"sample_next with temperature={temperature:.3f}, top_p={p:.3f}",
                         temperature=temperature, top_p=p)


@pytest.mark.points(1)
def test_degenerate_settings_are_greedy(smp, student, oracle):
    """sample_next with top_k = 1, with a tiny top_p, or with temperature 0 returns the argmax"""
    N, V = 50, int(smp.rng.randint(5, 15))
    logits = smp.logits(N, V, scale=0.3)    # flat: a draw would rarely be the argmax of every row
    expected = oracle.sampling_greedy(logits)
    for options, what in (({"top_k": 1}, "top_k=1"), ({"top_p": 1e-9}, "top_p=1e-9"),
                          ({"temperature": 0.0}, "temperature=0"),
                          ({"temperature": 0.0, "top_k": 3, "top_p": 0.5}, "temperature=0 with filters")):
        reply = student.call("sampling_driver.sample_tokens", logits, smp.seed(), **options)
        tokens = smp.check_tokens(reply, N, f"sample_next with {what}")
        if not np.array_equal(tokens, expected):
            raise CheckFailed(f"sample_next with {what} should return the most likely token of every row")


@pytest.mark.points(2)
def test_draws_go_through_the_generator(smp):
    """sample_next is reproducible from its generator alone, whatever the global seed"""
    smp.check_reproducible(smp.logits(300, 8, scale=0.3), "sample_next")
    smp.check_reproducible(smp.logits(300, 12, scale=0.5), "sample_next with temperature, top-k and top-p",
                           temperature=1.3, top_k=9, top_p=0.95)
