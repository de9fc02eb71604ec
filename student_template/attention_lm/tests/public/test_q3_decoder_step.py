"""Q3 public tests: the attention decoder's step and the teacher-forced loss. Run them with `rnnkit check`."""

import pytest

pytestmark = pytest.mark.question("decoder_step")


@pytest.mark.points(2)
def test_step(att):
    """One step: the new state (h_t, c_t), o_t, the logits and the attention weights"""
    config = att.decoder_config(V=7, D=3, H=4, E=5)
    att.decoder_step(config, att.decoder_weights(config), att.step_case(config, N=3, S=4, upstream=False))


@pytest.mark.points(1)
def test_step_gradients(att):
    """Gradients of every parameter and input through one step"""
    config = att.decoder_config(V=5, D=2, H=3, E=4)
    att.decoder_step(config, att.decoder_weights(config), att.step_case(config, N=2, S=3))


@pytest.mark.points(1)
def test_loss(att):
    """The teacher-forced loss of a padded batch of targets"""
    config = att.decoder_config(V=6, D=3, H=4, E=3)
    targets = att.targets(N=3, T=5, V=6, pad_id=0, start_id=1)
    att.decoder_loss(config, att.decoder_weights(config), att.normal(3, 4, 3), att.prefix_mask(3, 4), targets, 0,
                     backward=False)


@pytest.mark.points(1)
def test_loss_gradients(att):
    """The gradients of the teacher-forced loss (every parameter and the encoder states)"""
    config = att.decoder_config(V=5, D=2, H=3, E=4)
    targets = att.targets(N=2, T=4, V=5, pad_id=0, start_id=1)
    att.decoder_loss(config, att.decoder_weights(config), att.normal(2, 3, 4), att.prefix_mask(2, 3), targets, 0)
