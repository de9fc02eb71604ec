"""Q3 hidden tests: the attention decoder's step and the teacher-forced loss on fresh inputs."""

import numpy as np
import pytest

from autograder.checks import CheckFailed, as_array

pytestmark = pytest.mark.question("decoder_step")


def ids(att, V):
    """A random pad id and a different start id in [0, V)."""
    pad_id = int(att.integers(0, V))
    return pad_id, int((pad_id + att.integers(1, V)) % V)


@pytest.mark.points(1)
def test_step_matches_reference(att):
    """One step with N, S, V, D, H and E all different"""
    for sizes, N, S in (((9, 3, 4, 6), 3, 5), ((6, 5, 2, 3), 4, 2)):
        config = att.decoder_config(*sizes)
        att.decoder_step(config, att.decoder_weights(config), att.step_case(config, N=N, S=S, upstream=False))


@pytest.mark.points(2)
def test_step_gradients(att):
    """Gradients of every parameter and input (h, c, o_prev, the encoder states) through one step"""
    config = att.decoder_config(V=7, D=4, H=3, E=5)
    att.decoder_step(config, att.decoder_weights(config), att.step_case(config, N=3, S=4))
    config = att.decoder_config(V=4, D=2, H=5, E=2)
    att.decoder_step(config, att.decoder_weights(config), att.step_case(config, N=2, S=6))


@pytest.mark.points(1)
def test_step_edge_cases(att):
    """One source position (S = 1), one sequence (N = 1), no mask, and a source that is all padding"""
    config = att.decoder_config(V=5, D=3, H=4, E=2)
    weights = att.decoder_weights(config)
    att.decoder_step(config, weights, att.step_case(config, N=3, S=1), where="AttentionDecoder.step with S = 1")
    att.decoder_step(config, weights, att.step_case(config, N=1, S=3), where="AttentionDecoder.step with N = 1")
    att.decoder_step(config, weights, att.step_case(config, N=2, S=3, mask=False),
                     where="AttentionDecoder.step with enc_mask=None")
    att.decoder_step(config, weights, att.step_case(config, N=3, S=4, empty_rows=1),
                     where="AttentionDecoder.step with a source that is all padding")


@pytest.mark.points(1)
def test_step_ignores_padding(att):
    """Changing the encoder states at padded positions changes none of the step's outputs"""
    config = att.decoder_config(V=6, D=3, H=4, E=5)
    weights = att.decoder_weights(config)
    case = att.step_case(config, N=4, S=5, upstream=False)
    where = "AttentionDecoder.step"
    first = att.decoder_step(config, weights, case)
    padded = ~case["enc_mask"]
    changed = dict(case, enc_hiddens=case["enc_hiddens"].copy())
    changed["enc_hiddens"][padded] = att.normal(int(padded.sum()), 5, scale=100.0)
    second = att.decoder_step(config, weights, changed, where=where + " with other encoder states at padding")
    for key, name in (("h", "h_t"), ("o", "o_t"), ("logits", "the logits"), ("weights", "the attention weights")):
        a, b = as_array(first.get(key), name), as_array(second.get(key), name)
        if a.shape != b.shape or np.max(np.abs(a - b)) > 1e-12:
            raise CheckFailed(f"{name} from {where} changes when only the encoder states at padded source "
                              "positions change")


@pytest.mark.points(1)
def test_loss_matches_reference(att):
    """The loss of a padded batch, with pad and start ids other than 0 and 1"""
    config = att.decoder_config(V=8, D=3, H=4, E=5)
    pad_id, start_id = ids(att, 8)
    targets = att.targets(N=4, T=6, V=8, pad_id=pad_id, start_id=start_id)
    att.decoder_loss(config, att.decoder_weights(config), att.normal(4, 5, 5), att.prefix_mask(4, 5), targets,
                     pad_id, backward=False)


@pytest.mark.points(1)
def test_loss_gradients(att):
    """The loss's gradients: every parameter and the encoder states"""
    config = att.decoder_config(V=6, D=2, H=3, E=4)
    pad_id, start_id = ids(att, 6)
    targets = att.targets(N=3, T=5, V=6, pad_id=pad_id, start_id=start_id)
    att.decoder_loss(config, att.decoder_weights(config), att.normal(3, 4, 4), att.prefix_mask(3, 4), targets,
                     pad_id)


@pytest.mark.points(1)
def test_loss_excludes_padding(att):
    """Padding tokens do not count: extra padding leaves the loss unchanged (it is a mean over real tokens)"""
    config = att.decoder_config(V=7, D=3, H=4, E=3)
    weights = att.decoder_weights(config)
    pad_id, start_id = ids(att, 7)
    enc, mask = att.normal(3, 4, 3), att.prefix_mask(3, 4)
    targets = att.targets(N=3, T=4, V=7, pad_id=pad_id, start_id=start_id)
    first = att.decoder_loss(config, weights, enc, mask, targets, pad_id, backward=False)
    longer = np.concatenate([targets, np.full((3, 3), pad_id, dtype=np.int64)], axis=1)
    # and one more sequence with nothing to predict: its start token, then padding
    longer = np.concatenate([longer, np.full((1, 7), pad_id, dtype=np.int64)], axis=0)
    longer[3, 0] = start_id
    enc = np.concatenate([enc, att.normal(1, 4, 3)], axis=0)
    mask = np.concatenate([mask, att.prefix_mask(1, 4)], axis=0)
    second = att.decoder_loss(config, weights, enc, mask, longer, pad_id, backward=False,
                              where="teacher_forced_loss with more padding")
    if abs(float(first["loss"]) - float(second["loss"])) > 1e-9 * max(1.0, abs(float(first["loss"]))):
        raise CheckFailed("teacher_forced_loss changes when padding is added to the targets (three more columns, "
                          "and a sequence with no token to predict): padded tokens must count neither in the sum "
                          "nor in the number of tokens")


@pytest.mark.points(1)
def test_loss_short_targets(att):
    """Targets of length 2 (a single prediction), one sequence, one source position"""
    config = att.decoder_config(V=5, D=2, H=3, E=4)
    weights = att.decoder_weights(config)
    pad_id, start_id = ids(att, 5)
    targets = att.targets(N=3, T=2, V=5, pad_id=pad_id, start_id=start_id)
    att.decoder_loss(config, weights, att.normal(3, 1, 4), None, targets, pad_id,
                     where="teacher_forced_loss with T = 2, S = 1 and no mask")
    targets = att.targets(N=1, T=5, V=5, pad_id=pad_id, start_id=start_id)
    att.decoder_loss(config, weights, att.normal(1, 3, 4), att.prefix_mask(1, 3), targets, pad_id,
                     where="teacher_forced_loss with N = 1")
