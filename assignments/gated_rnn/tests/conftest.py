"""Input factories shared by assignment 2's public and hidden tests.

Inputs come from the ``rng`` fixture (seeded per test; per submission when
grading), so the same test code checks fixed cases locally and fresh ones in
the grader.
"""

import numpy as np
import pytest


class Inputs:
    def __init__(self, rng):
        self.rng = rng

    def normal(self, *shape, scale=1.0):
        """Roughly standard normal values (mean 0, variance 1, within +-3.5), from exact
        arithmetic only, so a seed gives bit-identical inputs on every platform."""
        u = self.rng.rand(4, *shape)
        return (u[0] + u[1] + u[2] + u[3] - 2.0) * (np.sqrt(3.0) * scale)

    # -- numpy parts (Q1-Q5) -------------------------------------------------

    def lstm_step(self, N, D, H, scale=0.5):
        """x (N, D), prev_h (N, H), prev_c (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,) for lstm_step_forward."""
        return (self.normal(N, D), self.normal(N, H), self.normal(N, H), self.normal(D, 4 * H, scale=scale),
                self.normal(H, 4 * H, scale=scale), self.normal(4 * H, scale=scale))

    def lstm(self, N, T, D, H, scale=0.5):
        """x (N, T, D), h0 (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,) for lstm_forward."""
        return (self.normal(N, T, D), self.normal(N, H), self.normal(D, 4 * H, scale=scale),
                self.normal(H, 4 * H, scale=scale), self.normal(4 * H, scale=scale))

    def gru_step(self, N, D, H, scale=0.5):
        """x (N, D), prev_h (N, H), Wx (D, 3H), Wh (H, 3H), bx (3H,), bh (3H,) for gru_step_forward."""
        return (self.normal(N, D), self.normal(N, H), self.normal(D, 3 * H, scale=scale),
                self.normal(H, 3 * H, scale=scale), self.normal(3 * H, scale=scale), self.normal(3 * H, scale=scale))

    def gru(self, N, T, D, H, scale=0.5):
        """x (N, T, D), h0 (N, H), Wx (D, 3H), Wh (H, 3H), bx (3H,), bh (3H,) for gru_forward."""
        return (self.normal(N, T, D), self.normal(N, H), self.normal(D, 3 * H, scale=scale),
                self.normal(H, 3 * H, scale=scale), self.normal(3 * H, scale=scale), self.normal(3 * H, scale=scale))

    def lstm_one_sequence(self, T, D, H, forget_bias=0.0, scale=0.3, recurrent_scale=0.1):
        """x (T, D), h0 (H,), Wx (D, 4H), Wh (H, 4H), b (4H,) for lstm_cell_jacobian_norms, with
        ``forget_bias`` added to the forget gate's block of b (gates i, f, o, g)."""
        b = self.normal(4 * H, scale=scale)
        b[H:2 * H] += forget_bias
        return (self.normal(T, D), self.normal(H), self.normal(D, 4 * H, scale=scale),
                self.normal(H, 4 * H, scale=recurrent_scale), b)

    def pytorch_cell_params(self, gates, D, H, scale=0.5):
        """weight_ih (gates*H, D), weight_hh (gates*H, H), bias_ih, bias_hh (gates*H,): an
        nn.LSTMCell's (gates=4) or nn.GRUCell's (gates=3) parameters, in PyTorch's layout."""
        return (self.normal(gates * H, D, scale=scale), self.normal(gates * H, H, scale=scale),
                self.normal(gates * H, scale=scale), self.normal(gates * H, scale=scale))

    @staticmethod
    def lstm_params_from_pytorch(weight_ih, weight_hh, bias_ih, bias_hh):
        """(Wx, Wh, b) for this kit's LSTM from PyTorch's: transpose, gates i, f, g, o -> i, f, o, g,
        one bias (the sum), as lstm_step_forward's docstring says."""
        H = weight_hh.shape[1]

        def reorder(w):
            return np.concatenate([w[0:H], w[H:2 * H], w[3 * H:4 * H], w[2 * H:3 * H]], axis=0)

        return reorder(weight_ih).T.copy(), reorder(weight_hh).T.copy(), reorder(bias_ih + bias_hh)

    # -- torch parts (Q6-Q8) -------------------------------------------------


@pytest.fixture
def make(rng):
    return Inputs(rng)
