"""Q6 public tests: truncated backpropagation through time."""

import pytest

from autograder.checks import assert_close, assert_dict_close, unpack

pytestmark = pytest.mark.question("truncated_bptt")


@pytest.mark.points(3)
def test_tbptt_step(student, oracle, make):
    """tbptt_step gives the right loss, updated parameters and last hidden state"""
    N, T, D, H, V = 2, 5, 3, 4, 6
    params = make.lm_params(D, H, V)
    args = (params, make.normal(N, T, D), make.labels(V, N, T), make.normal(N, H), 0.1, 1.0)
    loss, new_params, h_last = unpack(student.tbptt_step(*args), ["loss", "new_params", "h_last"], "tbptt_step")
    want_loss, want_params, want_h = oracle.tbptt_step(*args)
    assert_close(loss, want_loss, "loss")
    assert_close(h_last, want_h, "h_last")
    assert_dict_close(new_params, want_params, "new_params")
