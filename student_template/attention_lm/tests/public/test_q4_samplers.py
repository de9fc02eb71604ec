"""Q4 public tests: greedy, temperature, top-k and top-p. Run them with `rnnkit check`.

Sampling is judged by counting: many draws in one sample_next call, compared with the
intended distribution by a chi-square test (see tests/conftest.py).
"""

import numpy as np
import pytest

from autograder.checks import CheckFailed

pytestmark = pytest.mark.question("samplers")


@pytest.mark.points(1)
def test_greedy(smp, student, oracle):
    """greedy returns each row's most likely token as a LongTensor (N,)"""
    logits = smp.logits(4, 7)
    tokens = smp.check_tokens(student.call("sampling_driver.greedy", logits), 4, "greedy")
    if not np.array_equal(tokens, oracle.sampling_greedy(logits)):
        raise CheckFailed("greedy picked the wrong token in some rows")


@pytest.mark.points(1)
def test_temperature_and_top_k(smp, student, oracle):
    """apply_temperature divides the logits; top_k_filter keeps the k largest, -inf elsewhere"""
    logits = smp.logits(3, 8)
    for name, argument in (("apply_temperature", 0.5), ("apply_temperature", 2.0), ("top_k_filter", 3),
                           ("top_k_filter", 1)):
        reply = student.call("sampling_driver.apply_filter", name, logits, argument)
        smp.check_filtered(reply, oracle.sampling_filter(name, logits, argument), "float64",
                           f"{name}(logits, {argument})")


@pytest.mark.points(1)
def test_top_p_keeps_the_crossing_token(smp, student, oracle):
    """top_p_filter keeps the smallest set reaching p, the token that crosses p included"""
    example = np.log(np.array([[0.5, 0.3, 0.15, 0.05], [0.05, 0.15, 0.3, 0.5]]))
    reply = student.call("sampling_driver.apply_filter", "top_p_filter", example, 0.7)
    smp.check_filtered(reply, oracle.sampling_filter("top_p_filter", example, 0.7), "float64",
                       "top_p_filter on the docstring's example (p = 0.7)")
    logits = smp.logits(3, 9)
    p = smp.top_p_crossing(logits)
    reply = student.call("sampling_driver.apply_filter", "top_p_filter", logits, p)
    smp.check_filtered(reply, oracle.sampling_filter("top_p_filter", logits, p), "float64",
                       f"top_p_filter(logits, {p:.3f})")


@pytest.mark.points(1)
def test_sample_next_distribution(smp):
    """sample_next with temperature 0.7 and top_k = 6 draws from the intended distribution"""
    smp.sample_and_check(smp.logits(1, 10), "sample_next(logits, generator, temperature=0.7, top_k=6)",
                         temperature=0.7, top_k=6, draws=20_000)


@pytest.mark.points(1)
def test_sample_next_uses_the_generator(smp):
    """sample_next draws through its generator: the same seed gives the same tokens"""
    smp.check_reproducible(smp.logits(200, 5, scale=0.5), "sample_next")
