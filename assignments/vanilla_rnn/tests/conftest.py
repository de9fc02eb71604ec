"""Input factories shared by assignment 1's public and hidden tests.

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
        """Roughly standard normal values (mean 0, variance 1, within +-3.5).

        A sum of uniforms rather than randn: it uses only exact arithmetic, so the
        same seed gives bit-identical inputs on every platform, and the stored
        expected values of the public tests are found on a student's machine.
        """
        u = self.rng.rand(4, *shape)
        return (u[0] + u[1] + u[2] + u[3] - 2.0) * (np.sqrt(3.0) * scale)

    def rnn(self, N, T, D, H, scale=0.5):
        """x (N, T, D), h0 (N, H), Wx (D, H), Wh (H, H), b (H,) for rnn_forward."""
        return (self.normal(N, T, D), self.normal(N, H), self.normal(D, H, scale=scale),
                self.normal(H, H, scale=scale), self.normal(H, scale=scale))

    def step(self, N, D, H, scale=0.5):
        """x (N, D), prev_h (N, H), Wx, Wh, b for rnn_step_forward."""
        return (self.normal(N, D), self.normal(N, H), self.normal(D, H, scale=scale),
                self.normal(H, H, scale=scale), self.normal(H, scale=scale))

    def labels(self, V, *shape):
        return self.rng.randint(0, V, size=shape)

    def mask(self, *shape, p=0.7):
        return self.rng.rand(*shape) < p

    def grads(self, *shapes, scale=1.0):
        return {f"g{i}": self.normal(*shape, scale=scale) for i, shape in enumerate(shapes)}

    def lm_params(self, D, H, V, scale=0.3):
        return {"Wx": self.normal(D, H, scale=scale), "Wh": self.normal(H, H, scale=scale),
                "b": self.normal(H, scale=scale), "Wy": self.normal(H, V, scale=scale),
                "by": self.normal(V, scale=scale)}

    def with_spectral_norm(self, W, target):
        """W rescaled so that its largest singular value is ``target``."""
        return W * (target / np.linalg.norm(W, 2))


@pytest.fixture
def make(rng):
    return Inputs(rng)
