"""Fixtures shared by assignment 3's public and hidden tests, one section per topic.

Inputs come from the ``rng`` fixture (seeded per test; per submission when grading), so
the same test code checks fixed cases locally and fresh ones in the grader. Public
inputs are built from ``rng.rand`` alone (exact arithmetic), so a seed gives the same
values on every platform.
"""

import numpy as np
import pytest

from autograder.checks import CheckFailed, as_array, assert_close
from autograder.checks import describe as describe_value

# -- attention (Q1-Q3) ----------------------------------------------------------------
# Tests reach the student's attention module through drivers/attention_driver.py and
# the reference through oracle.attention_*; the `att` fixture builds inputs for both
# and compares their replies.

ATTENTION_PARAMETERS = {"dot": (), "general": ("W",), "additive": ("Wq", "Wk", "v")}
ATTENTION_FUNCTIONS = {"dot": "dot_attention", "general": "general_attention", "additive": "additive_attention"}
DECODER_OUTPUTS = {"h": "h_t", "c": "c_t", "o": "o_t", "logits": "the logits", "weights": "the attention weights"}
DECODER_INPUTS = {"dh": "h", "dc": "c", "do_prev": "o_prev", "denc_hiddens": "enc_hiddens"}


class AttentionCase:
    """Input factories (from ``rng.rand`` only) and comparisons for Q1-Q3."""

    def __init__(self, rng, student, oracle):
        self.rng, self.student, self.oracle = rng, student, oracle

    # -- inputs ------------------------------------------------------------------

    def normal(self, *shape, scale=1.0):
        """Roughly standard normal values within +-3.5*scale, identical on every platform."""
        u = self.rng.rand(4, *shape)
        return (u[0] + u[1] + u[2] + u[3] - 2.0) * (np.sqrt(3.0) * scale)

    def integers(self, low, high, *shape):
        """Integers in [low, high), as int64, identical on every platform."""
        return (low + np.floor(self.rng.rand(*shape) * (high - low))).astype(np.int64)

    def mask(self, *shape, empty_rows=0):
        """A boolean mask over the last axis (True = real): every slice has at least one
        real position, some have padding (where the last axis is longer than 1), and the
        first ``empty_rows`` slices along the first axis (after shuffling) have none."""
        mask = self.rng.rand(*shape) < 0.6
        flat = mask.reshape(-1, shape[-1])
        for row in flat:
            row[self.integers(0, shape[-1])] = True
        if shape[-1] > 1:
            flat[self.integers(0, flat.shape[0]), self.integers(0, shape[-1])] = False
            for row in flat:
                if not row.any():
                    row[self.integers(0, shape[-1])] = True
        if empty_rows:
            rows = np.argsort(self.rng.rand(shape[0]))[:empty_rows]
            mask[rows] = False
        return mask

    def prefix_mask(self, N, S):
        """(N, S) masks of real prefixes (lengths 1..S, one full and, when S > 1, one shorter)."""
        lengths = self.integers(1, S + 1, N)
        lengths[self.integers(0, N)] = S
        if S > 1 and N > 1:
            lengths[(int(np.argmax(lengths)) + 1) % N] = self.integers(1, S)
        return np.arange(S)[None, :] < lengths[:, None]

    def attention_case(self, kind, N, S, Hq, Hk, Hv, T=None, A=5, mask=True, empty_rows=0, upstream=True):
        """Keyword arguments for attention_driver.attention / oracle.attention_attention
        (without ``kind`` and ``scaled``); ``T=None`` gives a 2-D query."""
        if kind == "dot":
            Hk = Hq
        query_shape = (N, Hq) if T is None else (N, T, Hq)
        case = {"query": self.normal(*query_shape), "keys": self.normal(N, S, Hk), "values": self.normal(N, S, Hv),
                "mask": self.mask(N, S, empty_rows=empty_rows) if mask else None}
        shapes = {"W": (Hq, Hk), "Wq": (Hq, A), "Wk": (Hk, A), "v": (A,)}
        case["params"] = {name: self.normal(*shapes[name], scale=0.7) for name in ATTENTION_PARAMETERS[kind]}
        if upstream:
            case["dcontext"] = self.normal(*query_shape[:-1], Hv)
            case["dweights"] = self.normal(*query_shape[:-1], S)
        return case

    def decoder_config(self, V, D, H, E):
        return {"vocab_size": V, "embed_size": D, "hidden_size": H, "enc_size": E}

    def decoder_weights(self, config, scale=0.5):
        """Fresh weights for every parameter of the documented AttentionDecoder."""
        shapes = self.oracle.attention_decoder_shapes(config)
        return {name: self.normal(*shapes[name], scale=1.0 if name.startswith("embedding") else scale)
                for name in sorted(shapes)}

    def step_case(self, config, N, S, mask=True, empty_rows=0, upstream=True):
        """Keyword arguments for decoder_step (besides config and weights)."""
        H, E, V = config["hidden_size"], config["enc_size"], config["vocab_size"]
        case = {"prev_tokens": self.integers(0, V, N), "h": self.normal(N, H), "c": self.normal(N, H),
                "o_prev": self.normal(N, H, scale=0.5), "enc_hiddens": self.normal(N, S, E),
                "enc_mask": self.mask(N, S, empty_rows=empty_rows) if mask else None}
        if upstream:
            sizes = {"h": H, "c": H, "o": H, "logits": V, "weights": S}
            case["upstream"] = {name: self.normal(N, size) for name, size in sizes.items()}
        return case

    def targets(self, N, T, V, pad_id, start_id):
        """(N, T) int64 targets: the start token, then 1..T-1 tokens other than pad_id (one row
        full length, one shorter when T > 2), then pad_id."""
        tokens = self.integers(0, V - 1, N, T)
        tokens[tokens >= pad_id] += 1                      # never pad_id inside a sentence
        tokens[:, 0] = start_id
        mask = self.prefix_mask(N, T - 1)
        tokens[:, 1:][~mask] = pad_id
        return tokens

    # -- running and comparing -----------------------------------------------------

    def call(self, driver_function, where, *args, **kwargs):
        """The student's reply (a dict), checked for in-place changes of the inputs."""
        reply = self.student.call("attention_driver." + driver_function, *args, **kwargs)
        if not isinstance(reply, dict):
            raise CheckFailed(f"running {where} gave {describe_value(reply)}")
        mutated = reply.get("mutated") or []
        if mutated:
            raise CheckFailed(f"{where} modified its input(s) {', '.join(mutated)} in place; work on new tensors "
                              "instead (for example masked_fill, not masked_fill_)")
        return reply

    @staticmethod
    def close(got, expected, keys, names, where, tolerance=1e-7):
        for key in keys:
            if key in expected:
                assert_close(got.get(key), expected[key], f"{names.get(key, key)} of {where}", tolerance)

    @staticmethod
    def check_weights(weights, mask, where):
        """Each slice of ``weights`` is exactly 0 where ``mask`` is False and sums to 1 over
        its real positions (to 0 where there are none)."""
        mask = np.broadcast_to(np.asarray(mask, dtype=bool), weights.shape)
        bad = ~np.isfinite(weights)
        if bad.any():
            empty = ~mask.any(axis=-1, keepdims=True)
            hint = " (in rows with no real position: what does your division give there?)" \
                if np.all(np.broadcast_to(empty, weights.shape)[bad]) else ""
            raise CheckFailed(f"{where}: the weights contain NaN or inf in {int(bad.sum())} of {bad.size} "
                              f"entries{hint}")
        if np.any(weights[~mask] != 0):
            raise CheckFailed(f"{where}: nonzero weight at {int(np.sum(weights[~mask] != 0))} padded positions; "
                              "padding must get exactly 0")
        if np.any(weights < 0):
            raise CheckFailed(f"{where}: some weights are negative")
        sums = weights.sum(axis=-1)
        real = mask.any(axis=-1)
        if np.any(np.abs(sums[real] - 1) > 1e-9):
            worst = sums[real][np.argmax(np.abs(sums[real] - 1))]
            hint = " (a sum of 0 points at exp() underflowing: which scores set the scale?)" if worst == 0 else ""
            raise CheckFailed(f"{where}: the weights over the real positions do not sum to 1 (the worst slice sums "
                              f"to {worst:.6g}){hint}; normalise along the axis asked for, over the real positions "
                              "only, before the weights are used")
        if np.any(sums[~real] != 0):
            raise CheckFailed(f"{where}: a slice with no real position should get all-zero weights")

    def attention(self, kind, case, scaled=False, where=None, tolerance=1e-7):
        """The student's <kind>_attention against the reference on ``case``: context,
        weights (and their properties) and every gradient given."""
        where = where or self.describe(kind, case, scaled)
        got = self.call("attention", where, kind, scaled=scaled, **case)
        expected = self.oracle.attention_attention(kind, scaled=scaled, **case)
        weights = as_array(got.get("weights"), f"the weights from {where}", np.shape(expected["weights"]))
        assert_close(got.get("context"), expected["context"], f"the context from {where}", tolerance)
        if case.get("mask") is not None:
            mask = np.asarray(case["mask"])
            self.check_weights(weights, mask[:, None, :] if weights.ndim == 3 else mask, where)
        assert_close(weights, expected["weights"], f"the weights from {where}", tolerance)
        for key in ("dquery", "dkeys", "dvalues"):
            if key in expected:
                assert_close(got.get(key), expected[key], f"the gradient of {key[1:]} through {where}", tolerance)
        for name, grad in expected.get("dparams", {}).items():
            assert_close((got.get("dparams") or {}).get(name), grad, f"the gradient of {name} through {where}",
                         tolerance)
        return got

    @staticmethod
    def describe(kind, case, scaled=False):
        query = np.shape(case["query"])
        what = f"{ATTENTION_FUNCTIONS[kind]}({'scaled=True, ' if scaled else ''}query {query}, keys " \
               f"{np.shape(case['keys'])}, values {np.shape(case['values'])}"
        return what + (", no mask)" if case.get("mask") is None else ", with a mask)")

    def decoder_step(self, config, weights, case, where="AttentionDecoder.step", tolerance=1e-7):
        """The student's step against the reference: outputs, weights' properties, gradients."""
        got = self.call("decoder_step", where, config, weights, **case)
        expected = self.oracle.attention_decoder_step(config, weights, **case)
        if case.get("enc_mask") is not None:
            weights_got = as_array(got.get("weights"), f"the attention weights of {where}",
                                   np.shape(expected["weights"]))
            self.check_weights(weights_got, case["enc_mask"], where)
        self.close(got, expected, DECODER_OUTPUTS, DECODER_OUTPUTS, where, tolerance)
        for name, grad in expected.get("grads", {}).items():
            assert_close((got.get("grads") or {}).get(name), grad,
                         f"the gradient of {name} through {where}", tolerance)
        for key, name in DECODER_INPUTS.items():
            if key in expected:
                assert_close(got.get(key), expected[key], f"the gradient of the input {name} through {where}",
                             tolerance)
        return got

    def decoder_loss(self, config, weights, enc_hiddens, enc_mask, targets, pad_id, where="teacher_forced_loss",
                     backward=True, tolerance=1e-7):
        """The student's teacher_forced_loss against the reference: value and gradients."""
        got = self.call("decoder_loss", where, config, weights, enc_hiddens, enc_mask, targets, pad_id,
                        backward=backward)
        expected = self.oracle.attention_decoder_loss(config, weights, enc_hiddens, enc_mask, targets, pad_id,
                                                      backward=backward)
        assert_close(got.get("loss"), expected["loss"], f"the loss from {where}", tolerance)
        for name, grad in expected.get("grads", {}).items():
            assert_close((got.get("grads") or {}).get(name), grad, f"the gradient of {name} through {where}",
                         tolerance)
        if "denc_hiddens" in expected:
            assert_close(got.get("denc_hiddens"), expected["denc_hiddens"],
                         f"the gradient of enc_hiddens through {where}", tolerance)
        return got


@pytest.fixture
def att(rng, student, oracle):
    """Inputs and comparisons for the attention questions (see AttentionCase)."""
    return AttentionCase(rng, student, oracle)

# -- (end of attention section)
