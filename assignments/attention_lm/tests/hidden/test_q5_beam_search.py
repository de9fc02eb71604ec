"""Q5 hidden tests: beam search on fresh toy models (drivers/sampling_driver.py, ToyModel).

The exhaustive search over every complete hypothesis runs in the grader (oracle).
"""

import pytest

from autograder.checks import CheckFailed

pytestmark = pytest.mark.question("beam_search")


def _tokens(smp, V):
    start, end = (int(t) for t in smp.rng.choice(V, 2, replace=False))
    return start, end


@pytest.mark.points(1)
def test_beam_of_one_is_greedy(smp, student, oracle):
    """beam_size = 1 is greedy decoding, whether it ends with the end token or at max_len"""
    for end_bias, L in ((0.0, int(smp.rng.randint(4, 8))), (-30.0, int(smp.rng.randint(2, 6)))):
        V = int(smp.rng.randint(4, 8))
        start, end = _tokens(smp, V)
        table = smp.toy_table(L, V, end, end_bias)
        alpha = smp.uniform(0.3, 1.0)
        reply = student.call("sampling_driver.beam_search", table, start, end, 1, L, alpha)
        smp.check_beam(reply, oracle.sampling_greedy_decode(table, start, end, L, alpha),
                       f"beam_search with beam_size=1, alpha={alpha:.2f}")
    # Greedy ends at once, though a longer sequence scores better: a beam of one is
    # finished when its one hypothesis is (it is not refilled with the best live one).
    V, L = int(smp.rng.randint(4, 7)), int(smp.rng.randint(4, 7))
    start, end = _tokens(smp, V)
    for _ in range(500):
        table = smp.toy_table(L, V, end, end_bias=1.5, scale=1.5)
        greedy = oracle.sampling_greedy_decode(table, start, end, L, 1.0)
        refilled = oracle.sampling_refilled_beam_of_one(table, start, end, L, 1.0)
        if greedy["tokens"] == [end] and refilled["score"] > greedy["score"] + 0.05:
            break
    else:
        raise AssertionError("test inputs: no toy model where greedy decoding stops at once")
    reply = student.call("sampling_driver.beam_search", table, start, end, 1, L, 1.0)
    smp.check_beam(reply, greedy, "beam_search with beam_size=1 where the most likely first token is the end token")


@pytest.mark.points(2)
def test_against_reference(smp, student, oracle):
    """Beams of 2 to 5 with alpha = 1 and 0 find what the reference finds"""
    for _ in range(2):
        V, L, beam = int(smp.rng.randint(4, 7)), int(smp.rng.randint(5, 8)), int(smp.rng.randint(2, 6))
        start, end = _tokens(smp, V)
        table, answers = smp.toy_case(L, V, start, end, alphas=(1.0, 0.0), beam_size=beam)
        for alpha, expected in zip((1.0, 0.0), answers):
            reply = student.call("sampling_driver.beam_search", table, start, end, beam, L, alpha)
            smp.check_beam(reply, expected, f"beam_search with beam_size={beam}, max_len={L}, alpha={alpha:g}")


@pytest.mark.points(1)
def test_wide_beam_alpha_one(smp, student):
    """A beam holding every prefix finds the best score per token (alpha = 1)"""
    V, L = int(smp.rng.randint(3, 6)), int(smp.rng.randint(4, 6))
    start, end = _tokens(smp, V)
    table, (best, _) = smp.toy_case(L, V, start, end, alphas=(1.0, 0.0))
    reply = student.call("sampling_driver.beam_search", table, start, end, best["candidates"], L, 1.0)
    smp.check_beam(reply, best, f"beam_search with a beam holding every prefix (max_len={L}), alpha=1")


@pytest.mark.points(1)
def test_wide_beam_alpha_zero(smp, student):
    """A beam holding every prefix finds the most probable sequence (alpha = 0: no normalisation)"""
    V, L = int(smp.rng.randint(3, 6)), int(smp.rng.randint(4, 6))
    start, end = _tokens(smp, V)
    table, (best, _) = smp.toy_case(L, V, start, end, alphas=(0.0, 1.0))
    reply = student.call("sampling_driver.beam_search", table, start, end, best["candidates"], L, 0.0)
    smp.check_beam(reply, best, f"beam_search with a beam holding every prefix (max_len={L}), alpha=0")


@pytest.mark.points(2)
def test_end_token_and_max_len(smp, student, oracle):
    """Finished hypotheses are set aside; no more than max_len tokens; max_len = 1 works"""
    V = int(smp.rng.randint(4, 7))
    start, end = _tokens(smp, V)
    # The end token almost certain at once: the best is [end], and nothing extends it.
    table = smp.toy_table(5, V, end, end_bias=12.0)
    reply = student.call("sampling_driver.beam_search", table, start, end, 3, 5, 1.0)
    smp.check_beam(reply, oracle.sampling_beam_search(table, start, end, 3, 5, 1.0),
                   "beam_search where the end token is almost certain")
    # The end token (almost) never: every hypothesis runs to max_len, which must stop it.
    L = int(smp.rng.randint(3, 7))
    table = smp.toy_table(L, V, end, end_bias=-40.0)
    reply = student.call("sampling_driver.beam_search", table, start, end, 3, L, 1.0)
    if reply.get("tokens") is not None and len(reply["tokens"]) != L:
        raise CheckFailed(f"beam_search where the end token never comes should return max_len = {L} tokens; it "
                          f"returned {len(reply['tokens'])}")
    smp.check_beam(reply, oracle.sampling_beam_search(table, start, end, 3, L, 1.0),
                   f"beam_search where the end token never comes (max_len={L})")
    # Ends mixed with live hypotheses, one generated token at most.
    table = smp.toy_table(1, V, end, end_bias=0.5)
    for beam in (1, 3):
        reply = student.call("sampling_driver.beam_search", table, start, end, beam, 1, 1.0)
        smp.check_beam(reply, oracle.sampling_beam_search(table, start, end, beam, 1, 1.0),
                       f"beam_search with max_len=1, beam_size={beam}")
