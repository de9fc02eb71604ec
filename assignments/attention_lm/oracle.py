"""Expected values for assignment 3's tests, computed with the reference solution in
the grader only.

Every function takes only the test's own inputs (never a student's output) and
returns data (arrays, numbers, strings, lists and dicts of these). Public tests'
answers are recorded from these by `rnnkit package`.
"""

from autograder.oracle import reference

# ---------------------------------------------------------------------------
# attention and the decoder (Q1-Q3)
# Each function mirrors the attention_driver function of the same name without the
# "attention_" prefix (same arguments, same keys in the reply), run on the reference in
# float64 on the CPU.


def _attention_tensor(value, grad=False):
    import numpy as np
    import torch

    return torch.tensor(np.asarray(value, dtype=np.float64)).requires_grad_(grad)


def _attention_mask(value):
    import numpy as np
    import torch

    return None if value is None else torch.tensor(np.asarray(value, dtype=bool))


def _attention_grad(tensor):
    import numpy as np

    return tensor.grad.numpy().copy() if tensor.grad is not None else np.zeros(tuple(tensor.shape))


def _attention_backward(pairs):
    loss = sum((tensor * _attention_tensor(upstream)).sum() for tensor, upstream in pairs)
    loss.backward()


def attention_masked_softmax(scores, mask=None, dim=-1, dout=None):
    """{"out", "dscores" (with dout)} of the reference masked_softmax."""
    x = _attention_tensor(scores, dout is not None)
    out = reference("attention").masked_softmax(x, _attention_mask(mask), dim=int(dim))
    reply = {"out": out.detach().numpy().copy()}
    if dout is not None:
        _attention_backward([(out, dout)])
        reply["dscores"] = _attention_grad(x)
    return reply


_ATTENTION_PARAMETERS = {"dot": (), "general": ("W",), "additive": ("Wq", "Wk", "v")}


def attention_attention(kind, query, keys, values, mask=None, params=None, scaled=False, dcontext=None,
                        dweights=None):
    """{"context", "weights", and with an upstream gradient "dquery", "dkeys", "dvalues",
    "dparams"} of the reference <kind>_attention."""
    backward = dcontext is not None or dweights is not None
    inputs = {name: _attention_tensor(value, backward)
              for name, value in (("query", query), ("keys", keys), ("values", values))}
    weights_in = {name: _attention_tensor((params or {})[name], backward) for name in _ATTENTION_PARAMETERS[kind]}
    function = getattr(reference("attention"), f"{kind}_attention")
    extra = {"scaled": bool(scaled)} if kind == "dot" else {}
    context, weights = function(inputs["query"], inputs["keys"], inputs["values"], *weights_in.values(),
                                mask=_attention_mask(mask), **extra)
    reply = {"context": context.detach().numpy().copy(), "weights": weights.detach().numpy().copy()}
    if backward:
        _attention_backward([(t, u) for t, u in ((context, dcontext), (weights, dweights)) if u is not None])
        reply.update({"d" + name: _attention_grad(t) for name, t in inputs.items()})
        reply["dparams"] = {name: _attention_grad(t) for name, t in weights_in.items()}
    return reply


def _attention_decoder(config, weights=None):
    import numpy as np
    import torch

    decoder = reference("attention").AttentionDecoder(**config).double()
    if weights is not None:
        decoder.load_state_dict({name: torch.tensor(np.asarray(value, dtype=np.float64))
                                 for name, value in weights.items()}, strict=True)
    return decoder


def attention_decoder_shapes(config):
    """{parameter name: shape as a list} of the reference AttentionDecoder(**config)."""
    return {name: [int(n) for n in value.shape] for name, value in _attention_decoder(config).state_dict().items()}


def attention_decoder_step(config, weights, prev_tokens, h, c, o_prev, enc_hiddens, enc_mask=None, upstream=None):
    """{"h", "c", "o", "logits", "weights", and with upstream "grads", "dh", "dc",
    "do_prev", "denc_hiddens"} of the reference AttentionDecoder.step."""
    import numpy as np
    import torch

    backward = bool(upstream)
    decoder = _attention_decoder(config, weights)
    inputs = {name: _attention_tensor(value, backward)
              for name, value in (("h", h), ("c", c), ("o_prev", o_prev), ("enc_hiddens", enc_hiddens))}
    enc_proj = decoder.att_projection(inputs["enc_hiddens"])
    (h_t, c_t), o, logits, alpha = decoder.step(torch.tensor(np.asarray(prev_tokens, dtype=np.int64)),
                                                (inputs["h"], inputs["c"]), inputs["o_prev"],
                                                inputs["enc_hiddens"], enc_proj, _attention_mask(enc_mask))
    outputs = {"h": h_t, "c": c_t, "o": o, "logits": logits, "weights": alpha}
    reply = {name: t.detach().numpy().copy() for name, t in outputs.items()}
    if backward:
        _attention_backward([(outputs[name], value) for name, value in upstream.items()])
        reply["grads"] = {name: _attention_grad(p) for name, p in decoder.named_parameters()}
        reply.update({"d" + name: _attention_grad(t) for name, t in inputs.items()})
    return reply


def attention_decoder_loss(config, weights, enc_hiddens, enc_mask, targets, pad_id, backward=True):
    """{"loss", and with backward "grads", "denc_hiddens"} of the reference teacher_forced_loss."""
    import numpy as np
    import torch

    attention = reference("attention")
    decoder = _attention_decoder(config, weights)
    enc = _attention_tensor(enc_hiddens, bool(backward))
    loss = attention.teacher_forced_loss(decoder, enc, _attention_mask(enc_mask),
                                         torch.tensor(np.asarray(targets, dtype=np.int64)), int(pad_id))
    reply = {"loss": float(loss.detach())}
    if backward:
        loss.backward()
        reply["grads"] = {name: _attention_grad(p) for name, p in decoder.named_parameters()}
        reply["denc_hiddens"] = _attention_grad(enc)
    return reply

# (end of attention section)

# ---------------------------------------------------------------------------
# sampling and beam search (Q4-Q5)
# Sampling tests never compare draws with expected draws: the oracle gives the intended
# distribution (sampling_probs) and the test runs a chi-square test on the counts.


def _sampling_logits(logits):
    import numpy as np
    import torch

    return torch.as_tensor(np.asarray(logits, dtype=np.float64))


def sampling_greedy(logits):
    """The reference greedy tokens of ``logits`` (N, V), int64."""
    return reference("sampling").greedy(_sampling_logits(logits)).numpy().astype("int64")


def sampling_filter(name, logits, argument):
    """The reference apply_temperature / top_k_filter / top_p_filter of ``logits`` (N, V)."""
    if name not in ("apply_temperature", "top_k_filter", "top_p_filter"):
        raise ValueError(f"unknown filter {name!r}")
    return getattr(reference("sampling"), name)(_sampling_logits(logits), argument).numpy()


def sampling_probs(logits, temperature=1.0, top_k=None, top_p=None):
    """The distribution sample_next draws each row of ``logits`` (G, V) from, (G, V) float64:
    softmax(top_p(top_k(logits / temperature))), or one-hot at the argmax for temperature 0."""
    import torch

    sampling = reference("sampling")
    x = _sampling_logits(logits)
    if temperature == 0:
        return torch.nn.functional.one_hot(sampling.greedy(x), x.shape[-1]).double().numpy()
    x = sampling.apply_temperature(x, temperature)
    if top_k is not None:
        x = sampling.top_k_filter(x, top_k)
    if top_p is not None:
        x = sampling.top_p_filter(x, top_p)
    return torch.softmax(x, dim=-1).numpy()


def _sampling_toy_log_probs(table, prefixes):
    """The toy model of sampling_driver.ToyModel: log-probabilities (M, V) of the next token
    after each row of ``prefixes`` (M, t): log_softmax(sum_i table[i, prefix_i])."""
    import numpy as np

    table = np.asarray(table, dtype=np.float64)
    prefixes = np.asarray(prefixes, dtype=np.int64)
    steps = min(prefixes.shape[1], table.shape[0])
    logits = table[np.arange(steps)[None, :], prefixes[:, :steps]].sum(axis=1)
    logits = logits - logits.max(axis=1, keepdims=True)
    return logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))


def sampling_beam_search(table, start_token, end_token, beam_size, max_len, alpha=1.0):
    """The reference beam search on the toy model of ``table``: {"tokens", "score"}."""
    import torch

    def step_fn(prefixes):
        return torch.as_tensor(_sampling_toy_log_probs(table, prefixes.numpy()))

    tokens, score = reference("sampling").beam_search(step_fn, int(start_token), int(end_token), int(beam_size),
                                                      int(max_len), float(alpha))
    return {"tokens": [int(t) for t in tokens], "score": float(score)}


def sampling_greedy_decode(table, start_token, end_token, max_len, alpha=1.0):
    """Greedy decoding of the toy model (the most likely next token until the end token or
    max_len tokens): {"tokens", "score"}, the score length-normalised with ``alpha``."""
    import numpy as np

    prefix, total = [int(start_token)], 0.0
    while len(prefix) - 1 < max_len and (len(prefix) == 1 or prefix[-1] != end_token):
        logp = _sampling_toy_log_probs(table, np.array([prefix]))[0]
        token = int(np.argmax(logp))
        total += float(logp[token])
        prefix.append(token)
    tokens = prefix[1:]
    return {"tokens": tokens, "score": total / len(tokens) ** alpha}


def sampling_refilled_beam_of_one(table, start_token, end_token, max_len, alpha=1.0):
    """What a beam of one returns when, wrongly, a finished hypothesis is replaced by the
    best live one (so the search goes on along the most likely non-end tokens): the best
    of [path[:s] + end for each s] and the max_len path. {"tokens", "score"}. Tests use
    it to choose inputs on which that mistake shows."""
    import numpy as np

    prefix, total = [int(start_token)], 0.0
    options = []
    for step in range(1, int(max_len) + 1):
        logp = _sampling_toy_log_probs(table, np.array([prefix]))[0]
        options.append(((total + float(logp[end_token])) / step ** alpha, prefix[1:] + [int(end_token)]))
        logp[end_token] = -np.inf
        token = int(np.argmax(logp))
        total += float(logp[token])
        prefix.append(token)
    options.append((total / int(max_len) ** alpha, prefix[1:]))
    score, tokens = max(options, key=lambda item: item[0])
    return {"tokens": tokens, "score": float(score)}


def sampling_beam_exhaustive(table, start_token, end_token, max_len, alpha=1.0):
    """Every complete hypothesis of the toy model (ended by the end token, or max_len tokens
    long), scored as beam_search scores them: {"tokens", "score"} of the best one,
    "margin" (its score minus the second best's), "count" (how many there are), and
    "candidates" (the most candidates at one step: a beam this wide prunes nothing)."""
    import numpy as np

    live = np.array([[int(start_token)]], dtype=np.int64)
    sums = np.zeros(1)
    complete = []     # (score, tokens)
    widest = 1
    for step in range(1, int(max_len) + 1):
        logp = _sampling_toy_log_probs(table, live)
        V = logp.shape[1]
        widest = max(widest, live.shape[0] * V)
        totals = sums[:, None] + logp
        for row in range(live.shape[0]):
            complete.append((totals[row, end_token] / step ** alpha, live[row, 1:].tolist() + [int(end_token)]))
        keep = np.array([v for v in range(V) if v != end_token])
        rows = np.repeat(np.arange(live.shape[0]), keep.size)
        tokens = np.tile(keep, live.shape[0])
        live = np.concatenate([live[rows], tokens[:, None]], axis=1)
        sums = totals[rows, tokens]
    for row in range(live.shape[0]):
        complete.append((sums[row] / int(max_len) ** alpha, live[row, 1:].tolist()))
    complete.sort(key=lambda item: -item[0])
    margin = complete[0][0] - complete[1][0] if len(complete) > 1 else float("inf")
    return {"tokens": [int(t) for t in complete[0][1]], "score": float(complete[0][0]), "margin": float(margin),
            "count": len(complete), "candidates": int(widest)}

# (end of sampling section)

# ---------------------------------------------------------------------------
# the character-level language model (Q6-Q8)
# Functions named lm_* mirror drivers/lm_driver.py (same arguments, same replies), run on
# the reference char_lm in float64 on the CPU. Q8 (the checkpoint) needs no oracle: the
# test scores the submitted weights itself, in the grader.


def _lm_ids(value):
    import numpy as np
    import torch

    return torch.as_tensor(np.asarray(value).astype(np.int64))


def lm_state_dict_shapes(config):
    """{parameter name: shape} of the reference ``CharLM(**config)``."""
    model = reference("char_lm").CharLM(**config)
    return {name: [int(n) for n in value.shape] for name, value in model.state_dict().items()}


def lm_vocab():
    return reference("char_lm").VOCAB


def lm_batchify(ids, batch_size):
    return reference("char_lm").batchify(_lm_ids(ids), int(batch_size)).numpy()


def lm_get_batch(data, i, seq_len):
    x, y = reference("char_lm").get_batch(_lm_ids(data), int(i), int(seq_len))
    return [x.numpy(), y.numpy()]


def lm_tbptt_chunks(data, seq_len):
    return [[x.numpy(), y.numpy()] for x, y in reference("char_lm").tbptt_chunks(_lm_ids(data), int(seq_len))]


def _lm_model(config, weights):
    import numpy as np
    import torch

    model = reference("char_lm").CharLM(**config).double()
    model.load_state_dict({name: torch.as_tensor(np.asarray(value, dtype=np.float64)) for name, value in weights.items()})
    return model


def lm_train_steps(config, weights, data, seq_len, steps, lr, clip):
    """What lm_driver.train_steps reports for the reference, plus ``norms``: each step's
    gradient norm before clipping (tests check that clipping was active)."""
    import copy

    import torch
    import torch.nn.functional as F

    char_lm = reference("char_lm")
    model = _lm_model(config, weights)
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=float(lr))
    data, seq_len = _lm_ids(data), int(seq_len)
    losses, norms, state = [], [], None
    for step in range(int(steps)):
        i = step * seq_len
        x, y = data[:, i:i + seq_len], data[:, i + 1:i + 1 + seq_len]
        probe = copy.deepcopy(model)
        logits, _ = probe(x, state)
        F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1)).backward()
        norms.append(float(torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in probe.parameters()]))))
        loss, state = char_lm.train_step(model, optimizer, x, y, state, float(clip))
        losses.append(loss)
    tensors = [state] if isinstance(state, torch.Tensor) else list(state)
    return {"losses": losses, "norms": norms, "attached": -1,
            "weights": {name: value.detach().numpy().copy() for name, value in model.state_dict().items()},
            "state": [t.detach().numpy() for t in tensors]}


def lm_greedy(config, weights, prefix, n):
    """The greedy continuation (argmax at every step) of ``prefix`` by ``CharLM(**config)``
    with these weights, and ``margin``: the smallest gap between the best and the second
    best logit over the steps (a test needs it clear of rounding)."""
    import torch

    char_lm = reference("char_lm")
    model = _lm_model(config, weights).eval()
    out, margin = [], float("inf")
    with torch.no_grad():
        x, state = char_lm.encode(prefix).unsqueeze(0), None
        for _ in range(int(n)):
            logits, state = model(x, state)
            top = torch.topk(logits[0, -1], 2).values
            margin = min(margin, float(top[0] - top[1]))
            token = int(logits[0, -1].argmax())
            out.append(token)
            x = torch.tensor([[token]])
    return {"text": char_lm.decode(out), "margin": margin}

# (end of language-model section)
