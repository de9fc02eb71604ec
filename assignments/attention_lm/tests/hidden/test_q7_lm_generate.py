"""Q7 hidden tests: generating text."""

import pytest

from autograder.checks import CheckFailed

pytestmark = pytest.mark.question("lm_generate")


def _config(lm, cell="lstm", layers=1):
    return {"vocab_size": 64, "embed_size": int(lm.integers(4, 10)), "hidden_size": int(lm.integers(16, 33)),
            "num_layers": layers, "cell": cell}


def _first_difference(got, expected):
    return next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b), min(len(got), len(expected)))


@pytest.mark.points(1)
def test_length_vocabulary_and_mode(lm):
    """exactly n characters of the vocabulary with temperature, top-k and top-p; the model's mode is restored"""
    config = _config(lm)
    for n, options in ((int(lm.integers(20, 60)), {"temperature": 0.7, "top_p": 0.9}),
                       (1, {"top_k": 5}), (int(lm.integers(5, 30)), {"temperature": 1.5})):
        got, _, _ = lm.generate(config, n, prefix_length=int(lm.integers(1, 8)), seed=int(lm.integers(0, 1000)),
                                **options)
        lm.check_text(got["text"], n, f"generate(model, prefix, {n}, {options})")
        if not got.get("training"):
            raise CheckFailed("generate left a model that was in training mode in eval mode: restore its mode "
                              "(model.train(was_training)) before returning")


@pytest.mark.points(1)
def test_seed(lm):
    """the same seed gives the same text, whatever the global RNG; another seed another text"""
    config = _config(lm, "gru")
    weights, prefix, seed = lm.weights(config, 0.3), lm.prefix(3), int(lm.integers(0, 10**6))
    first = lm.student.call("lm_driver.generate", config, weights, prefix, 80, seed=seed, top_p=0.95, repeat=True)
    other = lm.student.call("lm_driver.generate", config, weights, prefix, 80, seed=seed + 1, top_p=0.95)
    if first.get("again") != first.get("text"):
        raise CheckFailed("generate with the same seed gave two different texts: draw every character with a "
                          "torch.Generator seeded with `seed` (never the global RNG)")
    if other.get("text") == first.get("text"):
        raise CheckFailed("generate with two different seeds gave the same 80 characters: seed the generator with `seed`")


@pytest.mark.points(2)
def test_greedy_lstm(lm, oracle):
    """top_k=1 gives the reference's greedy continuation (a longer prefix, a two-layer LSTM)"""
    config = _config(lm, "lstm", 2)
    n = int(lm.integers(30, 60))
    got, weights, prefix = lm.generate(config, n, prefix_length=int(lm.integers(8, 20)), top_k=1,
                                       seed=int(lm.integers(0, 1000)), scale=1.0)
    expected = oracle.lm_greedy(config, weights, prefix, n)
    if got["text"] != expected["text"]:
        raise CheckFailed(f"generate(model, prefix, {n}, top_k=1) is not the greedy continuation (it differs from "
                          f"character {_first_difference(got['text'], expected['text'])} on): run the model over the "
                          "whole prefix first, then feed each drawn character back with the state")


@pytest.mark.points(1)
def test_greedy_gru_one_character_prefix(lm, oracle):
    """top_k=1 from a one-character prefix with a GRU"""
    config = _config(lm, "gru")
    got, weights, prefix = lm.generate(config, 25, prefix_length=1, top_k=1, scale=1.0)
    expected = oracle.lm_greedy(config, weights, prefix, 25)
    if got["text"] != expected["text"]:
        raise CheckFailed(f"generate(model, {prefix!r}, 25, top_k=1) with a GRU is not the greedy continuation "
                          f"(it differs from character {_first_difference(got['text'], expected['text'])} on)")
