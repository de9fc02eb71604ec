"""Q6 hidden tests: batches and truncated BPTT."""

import numpy as np
import pytest

from autograder.checks import CheckFailed, assert_close

pytestmark = pytest.mark.question("lm_training")


@pytest.mark.points(1)
def test_batchify(lm, oracle):
    """batchify: rows of consecutive text, with and without a remainder"""
    for M, N in ((int(lm.integers(40, 90)), int(lm.integers(2, 7))), (60, 5), (9, 9)):
        ids = lm.text_ids(M)
        lm.check_ids(lm.student.call("lm_driver.batchify", ids, N), oracle.lm_batchify(ids, N),
                     f"batchify(ids of {M}, {N})")


@pytest.mark.points(1)
def test_chunks(lm, oracle):
    """get_batch and tbptt_chunks at the edges: a short last chunk, a chunk longer than the text"""
    N, L = int(lm.integers(2, 5)), int(lm.integers(15, 30))
    data = lm.integers(0, 64, N, L)
    for T in (int(lm.integers(3, 7)), L - 1, L + 5, 1):
        lm.check_chunks(lm.student.call("lm_driver.tbptt_chunks", data, T), oracle.lm_tbptt_chunks(data, T),
                        f"tbptt_chunks(data ({N}, {L}), {T})")
    i = L - 3
    lm.check_chunks([lm.student.call("lm_driver.get_batch", data, i, 6)], [oracle.lm_get_batch(data, i, 6)],
                    f"get_batch(data ({N}, {L}), {i}, 6)")


@pytest.mark.points(1)
def test_detach_state(lm):
    """detach_state keeps the values and the structure (None, a GRU's tensor, an LSTM's pair) and drops the history"""
    h, c = lm.normal(2, 3, 4), lm.normal(2, 3, 4)
    for kind, arrays, structure in (("lstm", [h, c], "tuple of 2"), ("gru", [h], "tensor"), ("none", [], "none")):
        got = lm.student.call("lm_driver.detach_state", kind, arrays)
        where = {"lstm": "an LSTM's state (h, c)", "gru": "a GRU's state", "none": "None"}[kind]
        if got.get("structure") != structure:
            raise CheckFailed(f"detach_state of {where} gave a {got.get('structure')}; expected a {structure}")
        if got.get("attached"):
            raise CheckFailed(f"detach_state of {where} still has gradient history: use tensor.detach()")
        for k, value in enumerate(arrays):
            assert_close(got["values"][k], value, f"detach_state of {where} (tensor {k})")


@pytest.mark.points(2)
def test_train_step_two_layers(lm):
    """train_step on four consecutive chunks of a two-layer LSTM matches the reference"""
    config = {"vocab_size": int(lm.integers(5, 12)), "embed_size": int(lm.integers(2, 6)),
              "hidden_size": int(lm.integers(3, 8)), "num_layers": 2, "cell": "lstm"}
    got, expected = lm.training(config, N=int(lm.integers(2, 5)), seq_len=int(lm.integers(3, 7)), steps=4)
    lm.check_training(got, expected, config)


@pytest.mark.points(1)
def test_train_step_gru(lm):
    """train_step also trains a GRU language model (its state is one tensor)"""
    config = {"vocab_size": int(lm.integers(5, 12)), "embed_size": 4, "hidden_size": int(lm.integers(3, 8)),
              "num_layers": 1, "cell": "gru"}
    got, expected = lm.training(config, N=3, seq_len=5, steps=3)
    lm.check_training(got, expected, config)


@pytest.mark.points(2)
def test_state_carried_and_detached(lm):
    """train_step returns the state after the chunk, detached: the right values, no gradient history"""
    config = {"vocab_size": 9, "embed_size": 4, "hidden_size": int(lm.integers(3, 7)), "num_layers": 1, "cell": "lstm"}
    got, expected = lm.training(config, N=2, seq_len=int(lm.integers(3, 6)), steps=2)
    if got.get("attached", -1) >= 0:
        raise CheckFailed("train_step returned a state that still has gradient history: return "
                          "detach_state(new_state), so that the next chunk does not backpropagate into this one")
    state = got.get("state")
    if not isinstance(state, list) or len(state) != 2:
        raise CheckFailed("train_step on an LSTM should return the state (h, c) after the chunk")
    for name, value, reference in zip(("h", "c"), state, expected["state"]):
        assert_close(np.asarray(value), reference, f"the state {name} that train_step returns after the last chunk")
    lm.check_training(got, expected, config)
