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


class RandomInputs:
    """Inputs from ``rng.rand`` only, so a seed gives bit-identical values on every platform
    (public tests' recorded answers are found by their inputs); each question's case extends it."""

    def __init__(self, rng, student, oracle):
        self.rng, self.student, self.oracle = rng, student, oracle

    def normal(self, *shape, scale=1.0):
        """Roughly standard normal values within +-3.5*scale, identical on every platform."""
        u = self.rng.rand(4, *shape)
        return (u[0] + u[1] + u[2] + u[3] - 2.0) * (np.sqrt(3.0) * scale)

    def integers(self, low, high, *shape):
        """Integers in [low, high), as int64, identical on every platform."""
        return (low + np.floor(self.rng.rand(*shape) * (high - low))).astype(np.int64)


class AttentionCase(RandomInputs):
    """Input factories (from ``rng.rand`` only) and comparisons for Q1-Q3."""

    # -- inputs ------------------------------------------------------------------

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

# -- sampling (Q4-Q5) -----------------------------------------------------------------
# Tests reach the student's sampling module through drivers/sampling_driver.py and the
# reference through oracle.sampling_*; the `smp` fixture builds inputs and judges replies.
#
# Draws are judged by Pearson's chi-square goodness-of-fit test (autograder/stats.py)
# against the intended distribution from the oracle. Significance level per test:
# SAMPLING_ALPHA = 1e-6. Bonferroni: a correct sampler fails one grading with
# probability at most (number of chi-square tests in the grading) x 1e-6. Q4 runs 5
# (public 1, hidden 4); the budget of 1e-4 per grading leaves room for 100 such tests in
# all, or 50 if the chi-square approximation's tail is off by a factor of 2 (simulated
# with 2e6 multinomial samples of 40000 draws after pooling to >= 20 expected per cell:
# within 20% of nominal at 1e-4 and 1e-5). Other questions' chi-square tests use the
# same level and count against the same budget. A draw of a token whose probability is
# exactly 0 after the temperature and the filters fails at once, with no statistics.
SAMPLING_ALPHA = 1e-6
SAMPLING_DRAWS = 40_000


class SamplingCase(RandomInputs):
    """Input factories (from ``rng.rand`` only) and checks for Q4-Q5."""

    # -- inputs ---------------------------------------------------------------------

    def logits(self, N, V, scale=1.5):
        """Logits (N, V) with no two equal values in a row (no ties anywhere: in the logits,
        the probabilities, or the sorted cumulative sums that top-p compares with p)."""
        while True:
            x = self.normal(N, V, scale=scale)
            gaps = np.diff(np.sort(x, axis=1), axis=1)
            if V < 2 or gaps.min() > 1e-6:
                return x

    def seed(self):
        return int(self.rng.randint(1, 2**31 - 1))

    def uniform(self, low, high):
        return float(low + (high - low) * self.rng.rand())

    def top_p_crossing(self, logits, low=0.2, high=0.95):
        """A p for top-p filtering of ``logits`` (G, V) that is at least 1e-4 away from every
        cumulative sum of sorted probabilities (so float32 and float64 arithmetic agree on
        what is kept), leaves at least one token out of every row, and is crossed inside a
        token other than the first (of probability above 0.02) in at least one row: a
        filter that drops the crossing token gets that row wrong."""
        x = np.asarray(logits, dtype=np.float64)
        probs = np.exp(x - x.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        sorted_probs = -np.sort(-probs, axis=1)
        cumulative = np.cumsum(sorted_probs, axis=1)
        for _ in range(1000):
            p = self.uniform(low, high)
            ranks = [int(np.searchsorted(total, p)) for total in cumulative]   # each row's crossing token
            if (np.abs(cumulative - p).min() >= 1e-4 and max(ranks) <= x.shape[1] - 2
                    and any(j >= 1 and row[j] > 0.02 for j, row in zip(ranks, sorted_probs))):
                return p
        raise AssertionError("test inputs: no suitable p for top-p filtering")

    def toy_table(self, L, V, end_token, end_bias=0.0, scale=1.2):
        """A toy model's table (L, V, V) for sampling_driver.beam_search: the logits after a
        prefix are the sum of table[i, prefix_i]; ``end_bias`` is added to the end token's
        logit at every step."""
        table = self.normal(L, V, V, scale=scale)
        table[0, :, end_token] += end_bias
        return table

    def toy_case(self, L, V, start, end, alphas=(0.0, 1.0), end_bias=-0.5, beam_size=None, tries=200):
        """A toy table whose best hypothesis (exhaustive, or beam search of ``beam_size``
        when given) differs between the ``alphas``, with no near-tie at the top."""
        for _ in range(tries):
            table = self.toy_table(L, V, end, end_bias)
            if beam_size is None:
                answers = [self.oracle.sampling_beam_exhaustive(table, start, end, L, a) for a in alphas]
                if min(answer["margin"] for answer in answers) < 1e-3:
                    continue
            else:
                answers = [self.oracle.sampling_beam_search(table, start, end, beam_size, L, a) for a in alphas]
            if len({tuple(answer["tokens"]) for answer in answers}) == len(alphas):
                return table, answers
        raise AssertionError("test inputs: no toy model where the length normalisation matters")

    # -- checks ---------------------------------------------------------------------

    @staticmethod
    def check_tokens(reply, N, where):
        """The reply describes a LongTensor of shape (N,); returns its tokens."""
        if reply.get("type") != "tensor":
            raise CheckFailed(f"{where} should return a torch tensor of token ids; it returned a {reply.get('type')}")
        if reply.get("dtype") != "int64":
            raise CheckFailed(f"{where} should return a LongTensor (torch.int64); its dtype is {reply.get('dtype')}")
        if list(reply.get("shape")) != [N]:
            raise CheckFailed(f"{where} returned shape {tuple(reply.get('shape'))}; expected ({N},)")
        if reply.get("mutated"):
            raise CheckFailed(f"{where} modified its logits in place; work on a new tensor instead")
        return as_array(reply.get("tokens"), f"the tokens from {where}", (N,))

    @staticmethod
    def check_filtered(reply, expected, dtype, where, tolerance=1e-7):
        """A filter's reply: a new tensor of the input's shape and dtype, equal to the
        reference (-inf exactly where the reference has -inf)."""
        if reply.get("type") != "tensor":
            raise CheckFailed(f"{where} should return a torch tensor; it returned a {reply.get('type')}")
        if reply.get("dtype") != dtype:
            raise CheckFailed(f"{where} should keep the logits' dtype ({dtype}); it returned {reply.get('dtype')}")
        if reply.get("mutated") or reply.get("same_object"):
            raise CheckFailed(f"{where} modified its input in place; return a new tensor instead")
        got = as_array(reply.get("out"), f"the result of {where}", np.shape(expected))
        removed, kept = np.isneginf(expected), np.isneginf(got)
        if np.any(removed & ~kept):
            raise CheckFailed(f"{where} kept {int((removed & ~kept).sum())} logits that should be -inf")
        if np.any(kept & ~removed):
            raise CheckFailed(f"{where} set {int((kept & ~removed).sum())} logits to -inf that should be kept")
        assert_close(np.where(removed, 0.0, got), np.where(removed, 0.0, expected), f"the kept logits of {where}",
                     tolerance)

    def check_counts(self, reply, probs, repeats, where):
        """A sample_counts reply against the intended distribution ``probs`` (G, V)."""
        from autograder.stats import chi_square_gof

        probs = np.asarray(probs, dtype=np.float64)
        G, V = probs.shape
        self.check_tokens({**reply, "tokens": np.zeros(G * repeats, dtype=np.int64)}, G * repeats, where)
        if reply.get("out_of_range"):
            raise CheckFailed(f"{where} drew {reply['out_of_range']} token ids outside 0..{V - 1}")
        counts = as_array(reply.get("counts"), f"the counts of {where}'s draws", (G, V))
        impossible = int(counts[probs == 0].sum())
        if impossible:
            raise CheckFailed(f"{where} drew {impossible} times (of {G * repeats}) a token whose probability is "
                              "exactly 0 after the temperature and the filters: it should have been removed")
        fit = chi_square_gof(counts, probs)
        if not fit.p_value >= SAMPLING_ALPHA:
            raise CheckFailed(f"the {G * repeats} draws of {where} do not follow the intended distribution: "
                              f"chi-square = {fit.statistic:.1f} on {fit.dof} degrees of freedom, p-value "
                              f"{fit.p_value:.1e} (a correct sampler gets below {SAMPLING_ALPHA:.0e} once in "
                              "a million gradings)")

    def sample_and_check(self, logits, where, temperature=1.0, top_k=None, top_p=None, draws=SAMPLING_DRAWS):
        """Draw ``draws`` tokens in one sample_next call (the rows of ``logits`` (G, V) each
        repeated) with a fresh seed, and run the chi-square test on the counts."""
        logits = np.asarray(logits, dtype=np.float64)
        repeats = draws // logits.shape[0]
        options = {"temperature": temperature, "top_k": top_k, "top_p": top_p}
        reply = self.student.call("sampling_driver.sample_counts", logits, repeats, self.seed(), **options)
        self.check_counts(reply, self.oracle.sampling_probs(logits, **options), repeats, where)
        return reply

    def check_reproducible(self, logits, where, **options):
        """Same generator seed, different global seeds: the same tokens; another generator
        seed: other tokens; the global random state untouched."""
        N = np.shape(logits)[0]
        reply = self.student.call("sampling_driver.sample_reproducible", logits, self.seed(), self.seed(),
                                  [self.seed(), self.seed()], **options)
        tokens = {}
        for name in ("first", "again", "other"):
            tokens[name] = self.check_tokens({**reply[name + "_description"], "tokens": reply[name]}, N, where)
        if reply.get("global_rng_used"):
            raise CheckFailed(f"{where} used PyTorch's global random state: draw through the generator it is given "
                              "(torch.multinomial(..., generator=generator))")
        if not np.array_equal(tokens["first"], tokens["again"]):
            raise CheckFailed(f"{where} gave different tokens for two generators seeded alike: every random draw "
                              "must go through the generator it is given")
        if np.array_equal(tokens["first"], tokens["other"]):
            raise CheckFailed(f"{where} gave the same {N} tokens for generators with different seeds: the draws must "
                              "come from the generator it is given")

    def check_beam(self, reply, expected, where, tolerance=1e-7):
        """A beam_search reply against the expected {"tokens", "score"}."""
        if reply.get("tokens") is None:
            if "tokens_type" in reply:
                raise CheckFailed(f"{where} should return its tokens as a list of ints; they were a "
                                  f"{reply['tokens_type']}")
            raise CheckFailed(f"{where} should return a pair (tokens, score); it returned a {reply.get('result')}")
        if reply.get("score") is None:
            raise CheckFailed(f"{where} should return its score as a float")
        if reply.get("problems"):
            raise CheckFailed(f"{where}: " + "; ".join(reply["problems"]))
        tokens = list(reply["tokens"])
        if tokens != list(expected["tokens"]):
            got_len, want_len = len(tokens), len(expected["tokens"])
            detail = f" (it has {got_len} tokens, the right one {want_len})" if got_len != want_len else ""
            raise CheckFailed(f"{where} returned the wrong sequence{detail}")
        assert_close(reply["score"], expected["score"], f"the score from {where}", tolerance)


@pytest.fixture
def smp(rng, student, oracle):
    return SamplingCase(rng, student, oracle)
# -- (end of sampling section)

# -- language model (Q6-Q8) -------------------------------------------------------------
# Q6-Q7 reach the student's char_lm through drivers/lm_driver.py and the reference through
# oracle.lm_*; the `lm` fixture builds tiny float64 models and inputs for both. Q8 scores
# the submitted checkpoint here, in the grader (never in the student's process): the
# weights are loaded into the reference architecture rebuilt from their shapes.

import hashlib
import math
from pathlib import Path

#: char_lm.VOCAB (the assignment fixes it; id = position).
LM_VOCAB = "\n !'(),-.:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


class LMCase(RandomInputs):
    """Inputs (from ``rng.rand`` only) and comparisons for Q6-Q7."""

    def text_ids(self, length, vocab_size=None):
        return self.integers(0, vocab_size or len(LM_VOCAB), length)

    def weights(self, config, scale=0.5):
        """Fresh weights {name: array} for the reference CharLM(**config)."""
        shapes = self.oracle.lm_state_dict_shapes(config)
        return {name: self.normal(*shapes[name], scale=scale) for name in sorted(shapes)}

    def prefix(self, length):
        return "".join(LM_VOCAB[i] for i in self.integers(0, len(LM_VOCAB), length))

    # -- Q6 ----------------------------------------------------------------------

    def check_ids(self, got, expected, where):
        expected = np.asarray(expected)
        got = as_array(got, where, expected.shape)
        if not np.array_equal(got, expected):
            rows, cols = np.nonzero(got != expected) if got.ndim == 2 else (np.nonzero(got != expected)[0], None)
            at = f"[{rows[0]}, {cols[0]}]" if cols is not None else f"[{rows[0]}]"
            raise CheckFailed(f"{where} is wrong: it differs first at {at}")

    def check_chunks(self, got, expected, where):
        if not isinstance(got, (list, tuple)):
            raise CheckFailed(f"{where} should be a list of (x, y) pairs; got {describe_value(got)}")
        if len(got) != len(expected):
            raise CheckFailed(f"{where} gave {len(got)} chunks; expected {len(expected)}")
        for k, (pair, (x, y)) in enumerate(zip(got, expected)):
            self.check_ids(pair[0], x, f"x of chunk {k} of {where}")
            self.check_ids(pair[1], y, f"y of chunk {k} of {where}")

    def training(self, config, N, seq_len, steps, lr=0.5, clip=0.05, scale=0.5):
        """Run train_step for ``steps`` consecutive chunks on the student's side and the
        reference's from the same weights and data; returns (got, expected)."""
        weights = self.weights(config, scale)
        data = self.integers(0, config["vocab_size"], N, steps * seq_len + 1 + int(self.integers(0, 3)))
        args = (config, weights, data, seq_len, steps, lr, clip)
        expected = self.oracle.lm_train_steps(*args)
        if min(expected["norms"]) <= clip:
            raise RuntimeError("test construction: clipping should be active at every step")
        got = self.student.call("lm_driver.train_steps", *args)
        if not isinstance(got, dict):
            raise CheckFailed(f"train_steps gave {describe_value(got)}")
        return got, expected

    @staticmethod
    def describe(config):
        return (f"CharLM({config['vocab_size']}, {config['embed_size']}, {config['hidden_size']}, "
                f"num_layers={config.get('num_layers', 1)}, cell={config.get('cell', 'lstm')!r})")

    def check_training(self, got, expected, config):
        where = f"train_step on {self.describe(config)} with SGD and clip"
        assert_close(np.asarray(got.get("losses"), dtype=float) if got.get("losses") is not None else None,
                     np.asarray(expected["losses"]), f"the losses of consecutive chunks ({where})")
        weights = got.get("weights") or {}
        for name in expected["weights"]:
            assert_close(weights.get(name), expected["weights"][name],
                         f"{name} after {len(expected['losses'])} steps of {where} (is the gradient norm clipped "
                         "to `clip` over all parameters together, after backward and before the step?)")

    # -- Q7 ----------------------------------------------------------------------

    def generate(self, config, n, prefix_length=5, scale=0.8, **options):
        """(the student's reply from lm_driver.generate, config, weights, prefix)."""
        weights = self.weights(config, scale)
        prefix = self.prefix(prefix_length)
        got = self.student.call("lm_driver.generate", config, weights, prefix, n, **options)
        if not isinstance(got, dict) or not isinstance(got.get("text"), str):
            raise CheckFailed(f"generate gave {describe_value(got)}; expected a string")
        return got, weights, prefix

    @staticmethod
    def check_text(text, n, where):
        if len(text) != n:
            raise CheckFailed(f"{where} returned {len(text)} characters; expected exactly n = {n} "
                              "(the continuation only, without the prefix)")
        strange = sorted(set(text) - set(LM_VOCAB))
        if strange:
            raise CheckFailed(f"{where} returned characters outside the vocabulary: {strange[:5]}")


@pytest.fixture
def lm(rng, student, oracle):
    return LMCase(rng, student, oracle)


# -- Q8: scoring a submitted checkpoint ---------------------------------------------------
# The model is rebuilt from the checkpoint's shapes: V = len(LM_VOCAB) rows of
# embedding.weight, E its columns, H = rnn.weight_hh_l0's columns, an LSTM when
# weight_hh_l0 has 4H rows and a GRU when 3H, one layer per rnn.weight_ih_l{k}.
# Sizes are bounded so that scoring stays a few seconds on a CPU.

LM_FILES = ("char_lm.safetensors", "char_lm.npz")
LM_MAX_PARAMETERS = 2_000_000   # about 3.5 s to score on one CPU thread
LM_MAX_LAYERS = 4
LM_MAX_SIZE = 2048
LM_SAVE_HINT = ("train it with `python char_lm.py --minutes 5` (or your own loop) and save it beside char_lm.py "
                "with safetensors.torch.save_file(model.state_dict(), 'char_lm.safetensors')")
_lm_scores: dict = {}


def lm_expected_shapes(V, E, H, layers, gates):
    shapes = {"embedding.weight": (V, E), "head.weight": (V, H), "head.bias": (V,)}
    for k in range(layers):
        shapes.update({f"rnn.weight_ih_l{k}": (gates * H, E if k == 0 else H), f"rnn.weight_hh_l{k}": (gates * H, H),
                       f"rnn.bias_ih_l{k}": (gates * H,), f"rnn.bias_hh_l{k}": (gates * H,)})
    return shapes


def lm_model_from_arrays(arrays, name):
    """The reference architecture (embedding, nn.LSTM or nn.GRU, head) in float32 with
    these weights; CheckFailed says what does not fit."""
    import torch

    from autograder.checkpoints import check_shapes

    for key in ("embedding.weight", "rnn.weight_hh_l0", "rnn.weight_ih_l0"):
        if key not in arrays:
            raise CheckFailed(f"{name} has no parameter {key}: it should hold a CharLM's state_dict; "
                              f"{LM_SAVE_HINT}")
    for key, value in arrays.items():
        if key.startswith(("embedding.", "rnn.weight_", "head.weight")) and value.ndim != 2:
            raise CheckFailed(f"{name}: {key} has shape {tuple(value.shape)}; a CharLM's is a matrix")
    V, E = arrays["embedding.weight"].shape
    if V != len(LM_VOCAB):
        raise CheckFailed(f"{name}: embedding.weight has {V} rows; the vocabulary has {len(LM_VOCAB)} characters "
                          "(build CharLM(len(VOCAB), ...))")
    rows, H = arrays["rnn.weight_hh_l0"].shape
    gates = rows // H if H and rows % H == 0 else 0
    if gates not in (3, 4):
        raise CheckFailed(f"{name}: rnn.weight_hh_l0 has shape {(rows, H)}; an LSTM's is (4H, H) and a GRU's (3H, H)")
    layers = sum(1 for key in arrays if key.startswith("rnn.weight_ih_l"))
    if not (1 <= E <= LM_MAX_SIZE and 1 <= H <= LM_MAX_SIZE and 1 <= layers <= LM_MAX_LAYERS):
        raise CheckFailed(f"{name}: E = {E}, H = {H}, {layers} layers is outside what the grader scores "
                          f"(E and H at most {LM_MAX_SIZE}, at most {LM_MAX_LAYERS} layers)")
    check_shapes(arrays, lm_expected_shapes(V, E, H, layers, gates), name)
    total = sum(int(v.size) for v in arrays.values())
    if total > LM_MAX_PARAMETERS:
        raise CheckFailed(f"{name} has {total:,} parameters, more than the {LM_MAX_PARAMETERS:,} the grader scores: "
                          "train a smaller model")
    for key, value in arrays.items():
        if not np.all(np.isfinite(value)):
            raise CheckFailed(f"{name}: {key} holds NaN or infinite values: the training diverged "
                              "(lower the learning rate, clip the gradient)")

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = torch.nn.Embedding(V, E)
            self.rnn = (torch.nn.LSTM if gates == 4 else torch.nn.GRU)(E, H, num_layers=layers, batch_first=True)
            self.head = torch.nn.Linear(H, V)

        def forward(self, x, state=None):
            out, state = self.rnn(self.embedding(x), state)
            return self.head(out), state

    model = Model()
    model.load_state_dict({key: torch.as_tensor(np.asarray(value, dtype=np.float32)) for key, value in arrays.items()})
    return model.eval()


def lm_bits_per_char(model, text, streams=16, chunk=500):
    """char_lm.bits_per_char: ``streams`` rows of consecutive characters, each read from a
    zero state; every character but each row's first is predicted."""
    import torch
    import torch.nn.functional as F

    ids = torch.tensor([LM_VOCAB.index(c) for c in text], dtype=torch.long)
    length = len(ids) // streams
    rows = ids[: length * streams].view(streams, length)
    total, count, state = 0.0, 0, None
    with torch.no_grad():
        for start in range(0, length - 1, chunk):
            x, y = rows[:, start:start + chunk], rows[:, start + 1:start + 1 + chunk]
            logits, state = model(x[:, : y.shape[1]], state)
            total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum").item()
            count += y.numel()
    return total / count / math.log(2)


def _lm_one_thread(function, *args):
    """Run on one torch thread: the grader runs beside other work, where several threads
    contend (the reference's scoring takes 0.5 s on one thread and 10 s or more on two
    busy cores)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return function(*args)
    finally:
        torch.set_num_threads(threads)


@pytest.fixture
def lm_checkpoint_bpc(submitted_file):
    """``lm_checkpoint_bpc(text_path)``: (bits per character of the submitted checkpoint on
    that text, the checkpoint's file name); computed once per file and text. A missing or
    unusable checkpoint raises CheckFailed with what to do."""
    from autograder.checkpoints import load_checkpoint

    def score(text_path):
        for name in LM_FILES:
            data = submitted_file(name)
            if data is not None:
                break
        else:
            raise CheckFailed(f"no trained model: there is no {LM_FILES[0]} (or {LM_FILES[1]}) beside your code; "
                              + LM_SAVE_HINT)
        key = (hashlib.sha256(data).hexdigest(), name, str(text_path))
        if key not in _lm_scores:
            try:
                arrays = load_checkpoint(data, name)
                text = Path(text_path).read_text(encoding="utf-8")
                _lm_scores[key] = (_lm_one_thread(lm_bits_per_char, lm_model_from_arrays(arrays, name), text), None)
            except CheckFailed as exc:
                _lm_scores[key] = (None, str(exc))
        bpc, problem = _lm_scores[key]
        if problem:
            raise CheckFailed(problem)
        if not math.isfinite(bpc):
            raise CheckFailed(f"{name} gives a non-finite loss: the training diverged")
        return bpc, name
    return score


@pytest.fixture
def lm_credit(lm_checkpoint_bpc, partial_credit):
    """``lm_credit(text_path, text_name, good, poor)``: Q8's score on one text. All the test's
    points at ``good`` bits per character or below, none at ``poor`` or above, and a share
    linear in between (the fraction is rounded down to whole percent)."""
    def check(text_path, text_name, good, poor):
        bpc, name = lm_checkpoint_bpc(text_path)
        advice = "train longer or a larger model (see `python char_lm.py --help`), and check your validation bpc"
        levels = f"all points at {good:.2f} or below, none at {poor:.2f} or above"
        if not bpc < poor:
            raise CheckFailed(f"{name} scores {bpc:.3f} bits per character on {text_name} ({levels}): {advice}")
        fraction = math.floor(100 * min(1.0, (poor - bpc) / (poor - good))) / 100
        if fraction < 1:
            partial_credit(fraction, f"{name} scores {bpc:.3f} bits per character on {text_name}: {fraction:.0%} "
                                     f"of the points ({levels}): {advice}")
        return bpc
    return check

# -- (end of language-model section)
