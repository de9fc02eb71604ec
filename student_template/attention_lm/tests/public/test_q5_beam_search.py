"""Q5 public tests: beam search with length normalisation. Run them with `rnnkit check`.

The model is a toy one built from a table (see drivers/sampling_driver.py, ToyModel):
the next token's log-probabilities depend on the whole prefix.
"""

import pytest

pytestmark = pytest.mark.question("beam_search")

START, END = 0, 3


@pytest.mark.points(1)
def test_beam_of_one_is_greedy(smp, student, oracle):
    """With beam_size = 1, beam search is greedy decoding"""
    table = smp.toy_table(6, 5, END, end_bias=-0.5)
    reply = student.call("sampling_driver.beam_search", table, START, END, 1, 6, 1.0)
    smp.check_beam(reply, oracle.sampling_greedy_decode(table, START, END, 6, 1.0), "beam_search with beam_size=1")


@pytest.mark.points(1)
def test_beam_of_three(smp, student, oracle):
    """A beam of 3 with alpha = 1 finds what the reference finds"""
    table, (expected, _) = smp.toy_case(6, 5, START, END, alphas=(1.0, 0.0), beam_size=3)
    reply = student.call("sampling_driver.beam_search", table, START, END, 3, 6, 1.0)
    smp.check_beam(reply, expected, "beam_search with beam_size=3, alpha=1")


@pytest.mark.points(1)
def test_wide_beam_finds_the_best_normalised_score(smp, student):
    """A beam holding every prefix finds the sequence of best length-normalised score"""
    table, (best, _) = smp.toy_case(5, 4, START, END, alphas=(1.0, 0.0))
    wide = 4 ** 5
    reply = student.call("sampling_driver.beam_search", table, START, END, wide, 5, 1.0)
    smp.check_beam(reply, best, f"beam_search with beam_size={wide} (every prefix), alpha=1")
