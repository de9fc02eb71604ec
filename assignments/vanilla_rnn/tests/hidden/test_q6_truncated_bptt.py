"""Q6 hidden tests: truncated BPTT steps and training over chunks."""

import numpy as np
import pytest

from autograder.checks import assert_close, assert_dict_close, assert_not_mutated, unpack

pytestmark = pytest.mark.question("truncated_bptt")
STEP = ["loss", "new_params", "h_last"]
TRAIN = ["losses", "params", "h"]


@pytest.mark.points(3)
def test_step(student, oracle, make):
    """tbptt_step against the reference, with clipping active"""
    N, T, D, H, V = 3, 6, 4, 5, 7
    args = (make.lm_params(D, H, V, scale=1.0), make.normal(N, T, D), make.labels(V, N, T),
            make.normal(N, H), 0.5, 0.3)
    loss, new_params, h_last = unpack(student.tbptt_step(*args), STEP, "tbptt_step")
    assert_not_mutated(student, "tbptt_step")
    want_loss, want_params, want_h = oracle.tbptt_step(*args)
    assert_close(loss, want_loss, "loss")
    assert_close(h_last, want_h, "h_last")
    assert_dict_close(new_params, want_params, "new_params")


@pytest.mark.points(2)
def test_hidden_state_is_carried(student, oracle, make):
    """With learning_rate = 0, the final state equals one rnn_forward over the whole sequence"""
    N, T, D, H, V = 2, 11, 3, 4, 5
    params = make.lm_params(D, H, V)
    x, y, h0 = make.normal(N, T, D), make.labels(V, N, T), make.normal(N, H)
    _, _, h = unpack(student.tbptt_train(params, x, y, h0, 4, 0.0, 1.0), TRAIN, "tbptt_train")
    full = oracle.rnn_forward(x, h0, params["Wx"], params["Wh"], params["b"])
    assert_close(h, full[:, -1], "h after the last chunk")


@pytest.mark.points(3)
def test_train(student, oracle, make):
    """tbptt_train against the reference, T not a multiple of the chunk length"""
    N, T, D, H, V = 2, 10, 3, 4, 6
    check_train(student, oracle, make.lm_params(D, H, V), make.normal(N, T, D), make.labels(V, N, T),
                make.normal(N, H), 3, 0.2, 1.0)


@pytest.mark.points(1)
def test_single_step_chunks(student, oracle, make):
    """tbptt_train with chunks of one step (the shortest truncation)"""
    N, T, D, H, V = 2, 4, 3, 3, 4
    check_train(student, oracle, make.lm_params(D, H, V), make.normal(N, T, D), make.labels(V, N, T),
                make.normal(N, H), 1, 0.1, 5.0)


def check_train(student, oracle, *args):
    losses, params, h = unpack(student.tbptt_train(*args), TRAIN, "tbptt_train")
    want_losses, want_params, want_h = oracle.tbptt_train(*args)
    assert_close(losses, np.asarray(want_losses), "losses")
    assert_dict_close(params, want_params, "params")
    assert_close(h, want_h, "h")
