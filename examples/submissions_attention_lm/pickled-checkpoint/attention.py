"""Assignment 3, part 1: attention, and a sequence-to-sequence decoder that uses it.

A decoder that squeezes a whole source sentence into one vector favours the last few
source steps. Attention lets every decoder step look back at all the encoder states
and take a weighted average of them, with weights it computes from the current query.
You build it in three steps:

- Q1 ``masked_softmax``: a softmax that ignores padded positions;
- Q2 three ways of scoring a query against the keys (dot product, "general" or
  multiplicative, additive), each returning the weighted average of the values;
- Q3 one step of an LSTM decoder with attention (as in CS224n's neural machine
  translation assignment) and the teacher-forced training loss.

Conventions (the tests rely on them):

- Batch-major: ``N`` batch size, ``S`` source (key) length, ``T`` target length (the
  number of queries), ``H`` hidden size, ``E`` encoder state size, ``V`` vocabulary.
- Masks are boolean tensors with **True = a real position** (attend to it) and
  False = padding. ``mask=None`` means every position is real.
- A padded position gets attention weight exactly 0. A row whose positions are all
  padding gets all-zero weights (and so an all-zero context), never NaN.
- Attention functions return the pair ``(context, weights)``: ``weights[n, s]`` is how
  much query n attends to key s, ``context[n] = sum_s weights[n, s] * values[n, s]``.
  A query of shape ``(N, Hq)`` gives weights ``(N, S)`` and context ``(N, Hv)``; a
  query of shape ``(N, T, Hq)`` (T queries per batch element) gives ``(N, T, S)`` and
  ``(N, T, Hv)``.
- Weight matrices multiply from the right, ``x @ W``, as in the lectures' ``q W k^T``.
- Work in the inputs' dtype and device (float32 or float64; CPU or CUDA), never modify
  an input in place, and keep everything differentiable: autograd does the backward.

You may not use PyTorch's own attention (``torch.nn.functional.scaled_dot_product_attention``,
``torch.nn.MultiheadAttention``) here: the point is to build it. ``torch.softmax``,
``torch.log_softmax`` and the ``torch.nn.functional`` losses are fine.
"""

import math

import torch
from torch import nn
from torch.nn import functional as F

# ---------------------------------------------------------------------------
# Q1. A softmax that ignores padding


def masked_softmax(scores, mask, dim=-1):
    """Softmax of ``scores`` along ``dim`` over the real positions only.

    out = exp(scores) / (sum of exp(scores) over the real positions along dim) at real
    positions, and exactly 0 at padded ones.

    Inputs:
    - scores: float tensor of any shape, e.g. (N, S) or (N, T, S); any real values
      (scores of 1e4 must not overflow)
    - mask: bool tensor of the same shape as ``scores`` or broadcastable to it (for
      example (N, 1, S) against (N, T, S)); True = real, False = padding. None means
      every position is real (a plain softmax).
    - dim: the axis to normalise over (default: the last)

    Returns a tensor of ``scores``' shape and dtype: along ``dim`` the real positions'
    values are non-negative and sum to 1, padded positions are exactly 0, and a slice
    with no real position at all is all zeros (not NaN, not uniform). The gradient
    with respect to ``scores`` is finite everywhere and zero at padded positions.
    ``scores`` and ``mask`` are not modified.
    """
    # Hint: the lecture's softmax is unchanged by subtracting a constant from every
    # score; what value should a padded score have so that exp() gives exactly 0?
    # Then think about the slice where no position is real: what does your division
    # give there, and what does autograd see on its way back?
    if mask is None:
        return torch.softmax(scores, dim=dim)
    mask = torch.broadcast_to(mask.to(torch.bool), scores.shape)
    filled = scores.masked_fill(~mask, float("-inf"))
    # The largest real score per slice; 0 where the slice has none (it is all -inf).
    top = filled.amax(dim=dim, keepdim=True).detach()
    top = torch.where(torch.isfinite(top), top, torch.zeros_like(top))
    exps = torch.exp(filled - top)          # exp(-inf) = 0 at padding
    total = exps.sum(dim=dim, keepdim=True)
    # A slice with no real position has total 0: divide by 1 there, giving zeros.
    return exps / torch.where(total > 0, total, torch.ones_like(total))


# ---------------------------------------------------------------------------
# Q2. Three attention scorings


def _check_query(query, keys):
    """(query as (N, T, Hq), whether it came as (N, Hq)); provided."""
    if keys.dim() != 3:
        raise ValueError(f"keys should have shape (N, S, Hk); got {tuple(keys.shape)}")
    if query.dim() == 2:
        return query.unsqueeze(1), True
    if query.dim() == 3:
        return query, False
    raise ValueError(f"query should have shape (N, Hq) or (N, T, Hq); got {tuple(query.shape)}")


def dot_attention(query, keys, values, mask=None, scaled=False):
    """Dot-product attention: score(q, k) = q . k, or q . k / sqrt(Hk) when scaled.

    Inputs:
    - query: (N, Hq) or (N, T, Hq), with Hq == Hk
    - keys: (N, S, Hk)
    - values: (N, S, Hv)
    - mask: bool (N, S), True = real key, or None (all real). The same key mask applies
      to every one of the T queries.
    - scaled: divide the scores by sqrt(Hk) before the softmax (as the Transformer does,
      so the scores' spread does not grow with the key size)

    Returns (context, weights):
    - weights: (N, S) for a 2-D query, (N, T, S) for a 3-D one; a masked softmax of
      the scores over the keys (exactly 0 at padded keys, all 0 for a query whose
      keys are all padding)
    - context: (N, Hv) or (N, T, Hv), the weights' average of the values (all 0 for
      a query whose keys are all padding)

    All float inputs share one dtype (float32 or float64) and device; the results
    have them too. No input is modified.
    """
    # Hint: one batched matrix product gives every query's score against every key;
    # a second one gives every weighted average. Handle the 2-D query by giving it a
    # T axis of length 1 and removing it at the end (see _check_query).
    q, single = _check_query(query, keys)
    scores = q @ keys.transpose(1, 2)                            # (N, T, S)
    if scaled:
        scores = scores / math.sqrt(keys.shape[-1])
    weights = masked_softmax(scores, None if mask is None else mask.unsqueeze(1))
    context = weights @ values                                   # (N, T, Hv)
    if single:
        return context.squeeze(1), weights.squeeze(1)
    return context, weights


def general_attention(query, keys, values, W, mask=None):
    """Multiplicative ("general", Luong et al.) attention: score(q, k) = q W k^T.

    Inputs:
    - query: (N, Hq) or (N, T, Hq)
    - keys: (N, S, Hk)
    - values: (N, S, Hv)
    - W: (Hq, Hk); Hq and Hk may differ
    - mask: bool (N, S), True = real key, or None

    Returns (context, weights) with the shapes, dtype and conventions of
    :func:`dot_attention`'s.
    """
    # Hint: q W is a query that lives in the keys' space.
    q, single = _check_query(query, keys)
    scores = (q @ W) @ keys.transpose(1, 2)                      # (N, T, S)
    weights = masked_softmax(scores, None if mask is None else mask.unsqueeze(1))
    context = weights @ values                                   # (N, T, Hv)
    if single:
        return context.squeeze(1), weights.squeeze(1)
    return context, weights


def additive_attention(query, keys, values, Wq, Wk, v, mask=None):
    """Additive (Bahdanau et al.) attention: score(q, k) = v^T tanh(q Wq + k Wk).

    Inputs:
    - query: (N, Hq) or (N, T, Hq)
    - keys: (N, S, Hk)
    - values: (N, S, Hv)
    - Wq: (Hq, A); Wk: (Hk, A); v: (A,), with A the attention size
    - mask: bool (N, S), True = real key, or None

    Returns (context, weights) with the shapes, dtype and conventions of
    :func:`dot_attention`'s.
    """
    # Hint: project the queries and the keys once each, then let broadcasting form
    # every (query, key) pair: (N, T, 1, A) + (N, 1, S, A).
    q, single = _check_query(query, keys)
    hidden = torch.tanh((q @ Wq).unsqueeze(2) + (keys @ Wk).unsqueeze(1))   # (N, T, S, A)
    scores = hidden @ v                                                      # (N, T, S)
    weights = masked_softmax(scores, None if mask is None else mask.unsqueeze(1))
    context = weights @ values                                   # (N, T, Hv)
    if single:
        return context.squeeze(1), weights.squeeze(1)
    return context, weights


# ---------------------------------------------------------------------------
# Q3. A decoder step with attention, and the teacher-forced loss


class AttentionDecoder(nn.Module):
    """An LSTM decoder with multiplicative attention and input feeding (Luong et al.,
    as in CS224n's neural machine translation assignment). The constructor is given.

    At step t, with previous token y_t, previous state (h, c) and previous combined
    output o_prev:

        x_t = [embedding(y_t); o_prev]                     (N, D + H)  input feeding
        h_t, c_t = cell(x_t, (h, c))                       LSTM cell
        e_t[s] = enc_proj[s] . h_t,  enc_proj = enc_hiddens @ W_att^T  (projected once)
        alpha_t = masked softmax of e_t over the real source positions   (N, S)
        a_t = sum_s alpha_t[s] enc_hiddens[s]              (N, E)  attention output
        o_t = tanh(W_u [a_t; h_t])                         (N, H)  combined output
        logits_t = W_vocab o_t                             (N, V)

    The score e_t[s] = h_t^T W_att k_s is Q2's general attention with W = W_att (the
    (H, E) ``att_projection.weight``); projecting the keys once (``enc_proj``) lets
    every step use a plain dot product.

    Submodules (fixed names: the tests load weights by these state_dict keys):
    - ``embedding``: nn.Embedding(vocab_size, embed_size), ``embedding.weight`` (V, D)
    - ``cell``: nn.LSTMCell(embed_size + hidden_size, hidden_size), ``cell.weight_ih``
      (4H, D + H), ``cell.weight_hh`` (4H, H), ``cell.bias_ih``, ``cell.bias_hh`` (4H,)
    - ``att_projection``: nn.Linear(enc_size, hidden_size, bias=False), weight (H, E):
      W_att, applied to the encoder states once per sequence
    - ``combined_output_projection``: nn.Linear(enc_size + hidden_size, hidden_size,
      bias=False), weight (H, E + H): W_u, applied to [a_t; h_t] in that order
    - ``vocab_projection``: nn.Linear(hidden_size, vocab_size, bias=False), weight (V, H)
    - ``h_projection``, ``c_projection``: nn.Linear(enc_size, hidden_size, bias=False),
      used only by :meth:`initial_state`
    There is no dropout, so the module computes the same thing in train and eval mode.
    """

    def __init__(self, vocab_size, embed_size, hidden_size, enc_size):
        super().__init__()
        self.vocab_size, self.embed_size = vocab_size, embed_size
        self.hidden_size, self.enc_size = hidden_size, enc_size
        self.embedding = nn.Embedding(vocab_size, embed_size)
        self.cell = nn.LSTMCell(embed_size + hidden_size, hidden_size)
        self.att_projection = nn.Linear(enc_size, hidden_size, bias=False)
        self.combined_output_projection = nn.Linear(enc_size + hidden_size, hidden_size, bias=False)
        self.vocab_projection = nn.Linear(hidden_size, vocab_size, bias=False)
        self.h_projection = nn.Linear(enc_size, hidden_size, bias=False)
        self.c_projection = nn.Linear(enc_size, hidden_size, bias=False)

    def initial_state(self, enc_hiddens, enc_mask):
        """The decoder's starting point, from the encoder states (given).

        Inputs: enc_hiddens (N, S, E); enc_mask bool (N, S), True = real, or None.
        Returns (state, o_0): state = (h_0, c_0), the projections of the mean of each
        sequence's real encoder states (zeros for a sequence with none), each (N, H);
        o_0 = zeros (N, H), the "previous combined output" before the first step.
        """
        if enc_mask is None:
            mean = enc_hiddens.mean(dim=1)
        else:
            real = enc_mask.to(enc_hiddens.dtype).unsqueeze(2)              # (N, S, 1)
            mean = (enc_hiddens * real).sum(dim=1) / real.sum(dim=1).clamp_min(1.0)
        h0, c0 = self.h_projection(mean), self.c_projection(mean)
        return (h0, c0), enc_hiddens.new_zeros(enc_hiddens.shape[0], self.hidden_size)

    def step(self, prev_tokens, state, o_prev, enc_hiddens, enc_proj, enc_mask):
        """One decoder step (see the class docstring for the equations).

        Inputs:
        - prev_tokens: long (N,), the previous target token of each sequence (the gold
          one in training, the model's own choice when generating)
        - state: the pair (h, c) of the previous LSTM state, each (N, H)
        - o_prev: (N, H), the previous step's combined output (input feeding)
        - enc_hiddens: (N, S, E), the encoder states (the attention's values)
        - enc_proj: (N, S, H), ``self.att_projection(enc_hiddens)``, computed once by
          the caller (the attention's keys)
        - enc_mask: bool (N, S), True = real source position, or None

        Returns (new_state, o_t, logits, weights):
        - new_state: the pair (h_t, c_t), each (N, H)
        - o_t: (N, H), the combined output tanh(W_u [a_t; h_t])
        - logits: (N, V), unnormalised scores of the next token
        - weights: (N, S), the attention distribution alpha_t (exactly 0 at padding)
        All float tensors have the module's dtype (float64 in the tests) and device.
        No input is modified.
        """
        # Hint: this is the lecture's seq2seq-with-attention picture, where the query
        # is the new decoder state. Your Q2 functions do the attention part; keep the
        # concatenation orders of the docstring, since the weights expect them.
        x = torch.cat([self.embedding(prev_tokens), o_prev], dim=1)          # (N, D + H)
        h, c = self.cell(x, state)
        a, weights = dot_attention(h, enc_proj, enc_hiddens, enc_mask)      # (N, E), (N, S)
        o = torch.tanh(self.combined_output_projection(torch.cat([a, h], dim=1)))
        logits = self.vocab_projection(o)
        return (h, c), o, logits, weights


def teacher_forced_loss(decoder, enc_hiddens, enc_mask, targets, pad_id):
    """The mean negative log-likelihood of the target tokens under teacher forcing.

    ``targets[:, 0]`` is the start token; the decoder is asked to predict
    ``targets[:, 1:]``. At every step it is fed the gold previous token
    ``targets[:, t]`` (teacher forcing), never its own prediction, and predicts
    ``targets[:, t + 1]``. Positions whose target is ``pad_id`` do not count.

    Inputs:
    - decoder: an :class:`AttentionDecoder`
    - enc_hiddens: (N, S, E), the encoder states
    - enc_mask: bool (N, S), True = real source position, or None
    - targets: long (N, T) with T >= 2, each row a start token, the sentence, then
      ``pad_id`` to fill the row
    - pad_id: the padding token

    Returns a scalar tensor: the sum over every non-padding target token
    ``targets[n, t]`` (t >= 1) of -log p(targets[n, t] | targets[n, :t], source),
    divided by the number of such tokens (0 when there are none), in the decoder's
    dtype and differentiable with respect to its parameters and ``enc_hiddens``.
    Start from ``decoder.initial_state(enc_hiddens, enc_mask)``.
    """
    # Hint: the encoder states' projection does not change from step to step. Where
    # in the lecture's cross-entropy does a padded token belong, and what should it
    # add to the numerator and to the count?
    enc_proj = decoder.att_projection(enc_hiddens)
    state, o = decoder.initial_state(enc_hiddens, enc_mask)
    total = enc_hiddens.new_zeros(())
    for t in range(targets.shape[1] - 1):
        state, o, logits, _ = decoder.step(targets[:, t], state, o, enc_hiddens, enc_proj, enc_mask)
        gold = targets[:, t + 1]
        nll = -F.log_softmax(logits, dim=-1).gather(1, gold.unsqueeze(1)).squeeze(1)
        total = total + nll.masked_fill(gold == pad_id, 0.0).sum()
    count = (targets[:, 1:] != pad_id).sum()
    return total / count.clamp_min(1).to(total.dtype)


@torch.no_grad()
def greedy_decode(decoder, enc_hiddens, enc_mask, start_id, end_id, max_len):
    """Generate with the decoder's own predictions fed back (given; uses your step).

    Starting from ``start_id``, each step feeds the previous step's most probable
    token back in, as at test time; the decoder never sees the gold targets. This is
    where teacher forcing's train/test mismatch shows: an early mistake changes every
    later input.

    Inputs: enc_hiddens (N, S, E); enc_mask bool (N, S) or None; start_id, end_id:
    token ids; max_len: the most tokens to generate.

    Returns (tokens, weights): tokens long (N, L) with L <= max_len, without the start
    token; a row that produced ``end_id`` is filled with ``end_id`` after it. weights
    (N, L, S): the attention distribution of each generated token.
    """
    N = enc_hiddens.shape[0]
    enc_proj = decoder.att_projection(enc_hiddens)
    state, o = decoder.initial_state(enc_hiddens, enc_mask)
    prev = torch.full((N,), int(start_id), dtype=torch.long, device=enc_hiddens.device)
    done = torch.zeros(N, dtype=torch.bool, device=enc_hiddens.device)
    tokens, weights = [], []
    for _ in range(int(max_len)):
        state, o, logits, alpha = decoder.step(prev, state, o, enc_hiddens, enc_proj, enc_mask)
        prev = torch.where(done, torch.full_like(prev, int(end_id)), logits.argmax(dim=-1))
        tokens.append(prev)
        weights.append(alpha)
        done = done | (prev == end_id)
        if bool(done.all()):
            break
    return torch.stack(tokens, dim=1), torch.stack(weights, dim=1)
