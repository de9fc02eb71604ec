"""Q7 public tests: generating text. Run them with `rnnkit check`."""

import pytest

from autograder.checks import CheckFailed

pytestmark = pytest.mark.question("lm_generate")
CONFIG = {"vocab_size": 64, "embed_size": 16, "hidden_size": 32, "num_layers": 1, "cell": "lstm"}


@pytest.mark.points(1)
def test_length_and_vocabulary(lm):
    """generate returns exactly n characters of the vocabulary (and "" for n = 0)"""
    got, _, _ = lm.generate(CONFIG, 40, seed=3)
    lm.check_text(got["text"], 40, "generate(model, prefix, 40, seed=3)")
    got, _, _ = lm.generate(CONFIG, 0)
    lm.check_text(got["text"], 0, "generate(model, prefix, 0)")


@pytest.mark.points(1)
def test_seed(lm):
    """the same seed gives the same text (whatever the global RNG), different seeds different texts"""
    weights, prefix = lm.weights(CONFIG, 0.3), lm.prefix(4)
    first = lm.student.call("lm_driver.generate", CONFIG, weights, prefix, 60, seed=11, repeat=True)
    other = lm.student.call("lm_driver.generate", CONFIG, weights, prefix, 60, seed=12)
    if first.get("again") != first.get("text"):
        raise CheckFailed("generate with the same seed gave two different texts: draw every character with a "
                          "torch.Generator seeded with `seed` (never the global RNG)")
    if other.get("text") == first.get("text"):
        raise CheckFailed("generate with seeds 11 and 12 gave the same 60 characters: seed the generator with `seed`")


@pytest.mark.points(1)
def test_greedy(lm, oracle):
    """top_k=1 gives the reference's greedy continuation of the prefix"""
    got, weights, prefix = lm.generate(CONFIG, 30, prefix_length=8, top_k=1, seed=5, scale=1.0)
    expected = oracle.lm_greedy(CONFIG, weights, prefix, 30)
    if got["text"] != expected["text"]:
        at = next((i for i, (a, b) in enumerate(zip(got["text"], expected["text"])) if a != b), 0)
        raise CheckFailed(f"generate(model, {prefix!r}, 30, top_k=1) is not the greedy continuation (it differs "
                          f"from character {at} on): run the model over the whole prefix first, then feed each "
                          "drawn character back with the state")
