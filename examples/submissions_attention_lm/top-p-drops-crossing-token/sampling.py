"""Assignment 3, part 2: choosing the next token, and beam search.

A language model gives, for every sequence in a batch, a score (a *logit*) for each
possible next token. Turning these scores into one token per sequence is a separate
decision with its own trade-offs: always take the best one (greedy), draw at random
from the softmax (sampling), reshape that distribution first (temperature, top-k,
top-p), or keep several partial sequences alive and choose between them later (beam
search). The functions here make those decisions; they know nothing about the model.

Conventions:

- ``logits`` has shape ``(N, V)``: ``N`` rows (sequences), ``V`` tokens in the
  vocabulary, a floating dtype (float32 or float64). Logits are unnormalised:
  ``softmax(logits, dim=-1)`` is the model's distribution of the next token.
- A filter removes a token by setting its logit to ``-inf`` (``float("-inf")``), so
  that the softmax gives it probability exactly 0. Filters return a NEW tensor of
  the same shape, dtype and device; they never modify their input.
- Token ids are ``torch.long`` (int64).
- Randomness: every random draw goes through the ``torch.Generator`` passed in
  (``torch.multinomial(probs, 1, generator=generator)``), never through the global
  random state (``torch.manual_seed``). The same generator state then gives the
  same tokens, whatever else the program does with random numbers: experiments can
  be repeated, and the autograder can check your draws.
"""

import torch

# ---------------------------------------------------------------------------
# Q4. Greedy, temperature, top-k and top-p sampling


def greedy(logits):
    """The most likely next token of each row.

    Inputs:
    - logits: shape (N, V), floating

    Returns a LongTensor of shape (N,): for each row the index of its largest logit
    (the first such index if several are equal).
    """
    # Hint: no softmax is needed: it does not change which logit is largest.
    return torch.argmax(logits, dim=-1)


def apply_temperature(logits, temperature):
    """Logits rescaled by a temperature: ``logits / temperature``.

    softmax(logits / temperature) is flatter than softmax(logits) for a temperature
    above 1 (more varied, more surprising text) and sharper below 1 (safer, more
    repetitive text); temperature 1 changes nothing.

    Inputs:
    - logits: shape (N, V), floating
    - temperature: a Python float, > 0

    Returns a new tensor of shape (N, V), same dtype. Tokens at -inf stay at -inf.
    """
    # Hint: temperature acts on the logits, before the softmax, not on the
    # probabilities after it.
    return logits / temperature


def top_k_filter(logits, k):
    """Keep the k largest logits of each row; set all the others to -inf.

    Inputs:
    - logits: shape (N, V), floating
    - k: a Python int, 1 <= k; k >= V keeps everything

    Returns a new tensor of shape (N, V), same dtype: each row keeps its k largest
    logits unchanged and has -inf everywhere else. (With ties at the k-th largest
    value, keeping all the tied ones is fine.)
    """
    # Hint: torch.topk gives the k-th largest value of each row; compare with it.
    k = min(int(k), logits.shape[-1])
    kth = torch.topk(logits, k, dim=-1).values[..., -1:]
    return logits.masked_fill(logits < kth, float("-inf"))


def top_p_filter(logits, p):
    """Nucleus (top-p) filtering: keep the most probable tokens that together
    reach probability p; set all the others to -inf.

    Sort a row's tokens by probability (softmax of the row), most probable first,
    and keep tokens until their total probability reaches p (>= p). The token
    whose probability makes the total cross p IS kept. The most probable token is
    always kept, whatever p. With p = 1 every token of positive probability is kept.

    Example: probabilities [0.5, 0.3, 0.15, 0.05] and p = 0.7: 0.5 alone is below
    0.7, 0.5 + 0.3 = 0.8 reaches it, so the first two tokens are kept.

    Inputs:
    - logits: shape (N, V), floating
    - p: a Python float, 0 < p <= 1

    Returns a new tensor of shape (N, V), same dtype: kept logits unchanged, the
    others -inf. (Ties in probability: which of the tied tokens are kept is up to
    you.)
    """
    # Hint: sort, softmax, cumulative sum. A token is kept when the probability
    # of the tokens strictly before it in the sorted order is still below p. Then
    # put the decision back in the original order (Tensor.scatter).
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
    probs = torch.softmax(sorted_logits, dim=-1)
    before = torch.cumsum(probs, dim=-1) - probs
    remove_sorted = torch.cumsum(probs, dim=-1) > p
    remove_sorted[..., 0] = False
    remove = torch.zeros_like(remove_sorted).scatter(-1, order, remove_sorted)
    return logits.masked_fill(remove, float("-inf"))


def sample_next(logits, generator, temperature=1.0, top_k=None, top_p=None):
    """Draw one next token per row.

    In this order: divide by the temperature, keep the top_k largest logits (if
    top_k is not None), apply top-p filtering (if top_p is not None), take the
    softmax, and draw one token per row with
    ``torch.multinomial(probs, 1, generator=generator)``.
    Temperature 0 means greedy decoding: the argmax of each row, no draw.

    Inputs:
    - logits: shape (N, V), floating; not modified
    - generator: a torch.Generator; the only source of randomness
    - temperature: a Python float >= 0
    - top_k: None or a Python int >= 1
    - top_p: None or a Python float, 0 < top_p <= 1

    Returns a LongTensor of shape (N,), on the device of the logits.
    """
    # Hint: this is the functions above, chained; the generator goes to
    # torch.multinomial.
    if temperature == 0:
        return greedy(logits)
    scores = apply_temperature(logits, temperature)
    if top_k is not None:
        scores = top_k_filter(scores, top_k)
    if top_p is not None:
        scores = top_p_filter(scores, top_p)
    probs = torch.softmax(scores, dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


# ---------------------------------------------------------------------------
# Q5. Beam search with length normalisation


def beam_search(step_fn, start_token, end_token, beam_size, max_len, alpha=1.0):
    """The most likely sequence a model generates, approximately, by beam search.

    A hypothesis is a prefix: the start token followed by the tokens generated so
    far. Its log-probability is the sum of the log-probabilities of its generated
    tokens, and its score is that sum divided by ``length ** alpha``, where length is
    the number of generated tokens (the end token counts, the start token does not).
    alpha = 0 compares raw log-probabilities, which favours short sequences (each
    token adds a negative term); alpha = 1 compares the average log-probability per
    token.

    The search, one step at a time, starting from the single prefix [start_token]:

    1. Call ``step_fn`` once on all live prefixes (stacked into a (B, t) tensor) to
       get their next-token log-probabilities (B, V).
    2. Every live prefix extended by every token is a candidate. Keep the
       ``beam_size`` candidates with the largest log-probability (all candidates of
       a step have the same length, so this is also the largest score).
    3. Among those kept, the ones that end with ``end_token`` are finished: set them
       aside (they are never extended again). The others are the live prefixes of
       the next step (so there may be fewer than beam_size of them).
    4. Stop when no prefix is live, or when ``max_len`` tokens have been generated:
       live prefixes of length max_len then count as finished too.

    Return the finished hypothesis with the highest score. With beam_size = 1 this
    is greedy decoding.

    Inputs:
    - step_fn: a function from prefixes, a LongTensor (B, t) whose rows all start
      with start_token, to next-token log-probabilities, a floating tensor (B, V)
    - start_token, end_token: Python ints
    - beam_size: a Python int >= 1
    - max_len: a Python int >= 1, the most tokens to generate
    - alpha: a Python float >= 0, the length-normalisation exponent

    Returns ``(tokens, score)``: tokens a list of Python ints, the generated tokens
    without the start token, ending with end_token unless the hypothesis reached
    max_len; score a Python float, computed as above.
    """
    # Hint: keep the live prefixes as one (B, t) tensor and their log-probabilities
    # as a (B,) tensor; add the (B, V) step log-probabilities, flatten, topk.
    # A candidate's row and token are its flat index divided by V and modulo V.
    prefixes = torch.tensor([[start_token]], dtype=torch.long)
    sums = torch.zeros(1, dtype=torch.float64)
    finished = []  # (score, tokens)

    def score(total, length):
        return total / length ** alpha

    for step in range(1, max_len + 1):
        logp = step_fn(prefixes).detach().to(device="cpu", dtype=torch.float64)
        vocab = logp.shape[-1]
        candidates = (sums[:, None] + logp).reshape(-1)
        kept = torch.topk(candidates, min(beam_size, candidates.numel())).indices
        rows, tokens = kept // vocab, kept % vocab
        ended = tokens == end_token
        for i in torch.nonzero(ended).flatten().tolist():
            seq = prefixes[rows[i], 1:].tolist() + [end_token]
            finished.append((score(candidates[kept[i]].item(), step), seq))
        live = ~ended
        prefixes = torch.cat([prefixes[rows[live]], tokens[live, None]], dim=1)
        sums = candidates[kept[live]]
        if prefixes.shape[0] == 0:
            break
    else:
        for i in range(prefixes.shape[0]):
            finished.append((score(sums[i].item(), max_len), prefixes[i, 1:].tolist()))

    best_score, best_tokens = max(finished, key=lambda item: item[0])
    return best_tokens, float(best_score)
