"""Q6 public tests: batches and truncated BPTT. Run them with `rnnkit check`."""

import pytest

from autograder.checks import CheckFailed

pytestmark = pytest.mark.question("lm_training")


@pytest.mark.points(1)
def test_batchify(lm, oracle):
    """batchify cuts one text into rows of consecutive characters, dropping the remainder"""
    ids = lm.text_ids(103)
    lm.check_ids(lm.student.call("lm_driver.batchify", ids, 4), oracle.lm_batchify(ids, 4), "batchify(ids of 103, 4)")


@pytest.mark.points(1)
def test_get_batch_and_chunks(lm, oracle):
    """get_batch gives inputs and next-character targets; tbptt_chunks covers a pass, the last chunk shorter"""
    data = lm.integers(0, 64, 3, 23)
    lm.check_chunks([lm.student.call("lm_driver.get_batch", data, 5, 7)], [oracle.lm_get_batch(data, 5, 7)],
                    "get_batch(data (3, 23), 5, 7)")
    lm.check_chunks(lm.student.call("lm_driver.tbptt_chunks", data, 5), oracle.lm_tbptt_chunks(data, 5),
                    "tbptt_chunks(data (3, 23), 5)")


@pytest.mark.points(2)
def test_train_step(lm):
    """train_step on three consecutive chunks (SGD, clipping active) matches the reference's losses and weights"""
    config = {"vocab_size": 7, "embed_size": 3, "hidden_size": 5, "num_layers": 1, "cell": "lstm"}
    got, expected = lm.training(config, N=2, seq_len=4, steps=3)
    lm.check_training(got, expected, config)
    if got.get("attached", -1) >= 0:
        raise CheckFailed("train_step returned a state that still has gradient history: return "
                          "detach_state(new_state), so that the next chunk does not backpropagate into this one")
