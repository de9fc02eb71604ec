"""Trusted helper for assignment 3's sampling tests (Q4-Q5); it runs in the student's process.

Tests send plain data (numpy arrays, numbers); this driver turns it into tensors and
``torch.Generator`` objects, calls the student's ``sampling`` functions, and sends
plain data back: tokens, counts of draws, filtered logits, and what it noticed about
the call (the result's type, dtype and shape, whether the input was modified, whether
the global random state was used). Tests call its functions as
``student.call("sampling_driver.NAME", ...)``.

It imports ``sampling`` only inside functions: a submission that fails to import
fails the calls, not this file.
"""

import numpy as np
import torch

DTYPES = {"float32": torch.float32, "float64": torch.float64}
FILTERS = ("apply_temperature", "top_k_filter", "top_p_filter")


def _function(name):
    import sampling

    fn = getattr(sampling, name, None)
    if fn is None:
        raise AttributeError(f"sampling defines no function {name}")
    return fn


def _logits(values, dtype):
    return torch.as_tensor(np.asarray(values, dtype=np.float64)).to(DTYPES[dtype])


def _describe(value):
    if isinstance(value, torch.Tensor):
        return {"type": "tensor", "dtype": str(value.dtype).replace("torch.", ""),
                "shape": [int(n) for n in value.shape]}
    return {"type": type(value).__name__, "dtype": "", "shape": []}


def _tokens(value):
    """The reply for a tensor of token ids: its description and, if it is an integer
    tensor, its values as int64."""
    reply = _describe(value)
    if isinstance(value, torch.Tensor) and not value.is_floating_point() and not value.is_complex():
        reply["tokens"] = value.detach().to("cpu", torch.int64).reshape(-1).numpy()
    return reply


def greedy(logits, dtype="float64"):
    """``sampling.greedy`` on ``logits`` (N, V)."""
    x = _logits(logits, dtype)
    before = x.clone()
    reply = _tokens(_function("greedy")(x))
    reply["mutated"] = not torch.equal(x, before)
    return reply


def apply_filter(name, logits, argument, dtype="float64"):
    """``sampling.<name>(logits, argument)`` for one of the filters: the result (as float64,
    with its -inf entries) and its description."""
    if name not in FILTERS:
        raise ValueError(f"unknown filter {name!r}")
    x = _logits(logits, dtype)
    before = x.clone()
    out = _function(name)(x, argument)
    reply = _describe(out)
    if isinstance(out, torch.Tensor) and out.is_floating_point():
        reply["out"] = out.detach().to("cpu", torch.float64).numpy()
    reply["mutated"] = not torch.equal(x, before)
    reply["same_object"] = out is x
    return reply


def _options(temperature, top_k, top_p):
    return {"temperature": float(temperature), "top_k": None if top_k is None else int(top_k),
            "top_p": None if top_p is None else float(top_p)}


def sample_counts(logits, repeats, seed, temperature=1.0, top_k=None, top_p=None, dtype="float64"):
    """One call of ``sampling.sample_next`` on a batch of ``G * repeats`` rows: each of the
    G rows of ``logits`` (G, V) repeated ``repeats`` times (row g of the input is rows
    g, G + g, 2G + g, ... of the batch), with ``torch.Generator().manual_seed(seed)``.
    Replies with the counts of each token per input row, (G, V), and the number of
    draws outside 0..V-1, besides the usual description of the result."""
    base = _logits(logits, dtype)
    G, V = base.shape
    x = base.repeat(int(repeats), 1)
    before = x.clone()
    generator = torch.Generator().manual_seed(int(seed))
    global_state = torch.get_rng_state()
    out = _function("sample_next")(x, generator, **_options(temperature, top_k, top_p))
    reply = _tokens(out)
    reply["mutated"] = not torch.equal(x, before)
    reply["global_rng_used"] = not torch.equal(global_state, torch.get_rng_state())
    tokens = reply.pop("tokens", None)
    if tokens is not None and tokens.shape == (G * int(repeats),):
        valid = (tokens >= 0) & (tokens < V)
        reply["out_of_range"] = int((~valid).sum())
        group = np.arange(tokens.size) % G
        counts = np.zeros((G, V), dtype=np.int64)
        np.add.at(counts, (group[valid], tokens[valid]), 1)
        reply["counts"] = counts
    return reply


def sample_tokens(logits, seed, temperature=1.0, top_k=None, top_p=None, dtype="float64"):
    """``sampling.sample_next`` on ``logits`` (N, V) with ``torch.Generator().manual_seed(seed)``:
    the tokens and the description."""
    x = _logits(logits, dtype)
    before = x.clone()
    generator = torch.Generator().manual_seed(int(seed))
    reply = _tokens(_function("sample_next")(x, generator, **_options(temperature, top_k, top_p)))
    reply["mutated"] = not torch.equal(x, before)
    return reply


def sample_reproducible(logits, seed, other_seed, global_seeds, temperature=1.0, top_k=None, top_p=None):
    """Draws of ``sampling.sample_next`` on ``logits`` (N, V), float64, three times:
    with ``manual_seed(seed)`` after ``torch.manual_seed(global_seeds[0])``, again with
    ``manual_seed(seed)`` after ``torch.manual_seed(global_seeds[1])``, and with
    ``manual_seed(other_seed)``. Replies with the three token arrays (None where the
    result is not an integer tensor) and whether the global random state changed."""
    x = _logits(logits, "float64")
    options = _options(temperature, top_k, top_p)
    sample_next = _function("sample_next")
    reply = {"global_rng_used": False}
    for name, seed_now, global_seed in (("first", seed, global_seeds[0]), ("again", seed, global_seeds[1]),
                                        ("other", other_seed, global_seeds[1])):
        torch.manual_seed(int(global_seed))
        state = torch.get_rng_state()
        out = sample_next(x.clone(), torch.Generator().manual_seed(int(seed_now)), **options)
        reply["global_rng_used"] |= not torch.equal(state, torch.get_rng_state())
        described = _tokens(out)
        reply[name] = described.get("tokens")
        reply[name + "_description"] = {k: described[k] for k in ("type", "dtype", "shape")}
    return reply


# ---------------------------------------------------------------------------
# beam search on a toy model (Q5)


class ToyModel:
    """A next-token model given by a table W (L, V, V): the logits after a prefix
    x_0 .. x_{t-1} are sum_i W[i, x_i], their log_softmax the log-probabilities. It
    records what the search asked it."""

    def __init__(self, table, start_token, end_token, max_len):
        self.table = torch.as_tensor(np.asarray(table, dtype=np.float64))
        self.start, self.end, self.max_len = int(start_token), int(end_token), int(max_len)
        self.calls = 0
        self.rows = 0
        self.problems = []

    def _problem(self, text):
        if text not in self.problems:
            self.problems.append(text)

    def __call__(self, prefixes):
        if not isinstance(prefixes, torch.Tensor):
            raise TypeError(f"step_fn takes a LongTensor of prefixes (B, t); it was given a {type(prefixes).__name__}")
        if prefixes.is_floating_point() or prefixes.is_complex() or prefixes.dtype == torch.bool:
            raise TypeError(f"step_fn takes a LongTensor of prefixes (B, t); it was given dtype {prefixes.dtype}")
        if prefixes.dim() != 2 or prefixes.shape[0] == 0 or prefixes.shape[1] == 0:
            raise ValueError(f"step_fn takes prefixes of shape (B, t) with B, t >= 1; it was given shape "
                             f"{tuple(prefixes.shape)}")
        prefixes = prefixes.detach().to("cpu", torch.int64)
        B, t = prefixes.shape
        V = self.table.shape[-1]
        if prefixes.min() < 0 or prefixes.max() >= V:
            raise ValueError(f"step_fn was given token ids outside 0..{V - 1}")
        self.calls += 1
        self.rows += B
        if t > self.max_len:
            self._problem(f"step_fn was asked for the next token after a prefix of length {t}: more than "
                          f"max_len = {self.max_len} tokens would be generated")
        if torch.any(prefixes[:, 0] != self.start):
            self._problem("step_fn was given a prefix that does not start with the start token")
        if t > 1 and torch.any(prefixes[:, 1:] == self.end):
            self._problem("step_fn was given a prefix that contains the end token: a finished hypothesis "
                          "was extended")
        steps = min(t, self.table.shape[0])
        logits = self.table[torch.arange(steps)[None, :], prefixes[:, :steps]].sum(dim=1)
        return torch.log_softmax(logits, dim=-1)


def beam_search(table, start_token, end_token, beam_size, max_len, alpha=1.0):
    """``sampling.beam_search`` on the toy model of ``table`` (see ToyModel). Replies with
    the tokens (a list of ints, or None with a description of what came back instead),
    the score, and what the model was asked."""
    model = ToyModel(table, start_token, end_token, max_len)
    result = _function("beam_search")(model, int(start_token), int(end_token), int(beam_size), int(max_len),
                                      float(alpha))
    reply = {"calls": model.calls, "rows": model.rows, "problems": list(model.problems),
             "tokens": None, "score": None, "result": _describe(result)["type"]}
    if isinstance(result, (tuple, list)) and len(result) == 2:
        tokens, score = result
        if isinstance(tokens, torch.Tensor):
            reply["tokens_type"] = "tensor"
        elif isinstance(tokens, (list, tuple)) and all(isinstance(t, (int, np.integer)) or
                                                       (isinstance(t, torch.Tensor) and t.numel() == 1
                                                        and not t.is_floating_point()) for t in tokens):
            reply["tokens"] = [int(t) for t in tokens]
        else:
            reply["tokens_type"] = type(tokens).__name__
        if isinstance(score, torch.Tensor) and score.numel() == 1:
            score = score.item()
        if isinstance(score, (float, int, np.floating)) and not isinstance(score, bool):
            reply["score"] = float(score)
    return reply
