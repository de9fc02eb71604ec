"""The companion notebook of assignment attention_lm: its cells, in order (see build.py)."""

from build import code, free_response, md

CELLS = [
    md(r"""
# Assignment 3: attention, sequence-to-sequence and sampling

In assignment 2 the recurrent network carried everything it knew in one state vector. That is a
bottleneck: a decoder that must produce a translation from the encoder's *last* state favours the
last few source words, whatever the sentence is about. **Attention** lets every decoder step look
back at all the encoder states and take a weighted average of them, with weights that depend on
what the decoder is looking for right now.

This assignment has three parts, one module each:

- `attention.py` (Q1-Q3): a softmax that ignores padding, three ways of scoring a query against
  keys, and one step of an LSTM decoder with attention, trained with teacher forcing;
- `sampling.py` (Q4-Q5): turning a model's scores into the next token (greedy, temperature,
  top-k, top-p) and beam search;
- `char_lm.py` (Q6-Q8): a character-level language model trained with truncated BPTT, text
  generated from it, and your trained checkpoint.

This notebook explains the ideas and runs experiments on your functions. Check your work at any
time with `rnnkit check` in this folder (or `pytest tests -x`).

**Conventions.** Everything is PyTorch and batch-major: `N` batch, `S` source (key) length, `T`
target length, `H` hidden size, `V` vocabulary size. Masks are boolean with **True = a real
position**, False = padding.
"""),

    code(r"""
import math
import time
from pathlib import Path

import attention as A  # your modules: attention.py, char_lm.py, sampling.py
import char_lm as LM
import matplotlib.pyplot as plt
import numpy as np
import sampling as S
import torch
import torch.nn.functional as F
from torch import nn

torch.manual_seed(0)
torch.set_num_threads(1)   # the models here are small: one thread beats splitting every small operation
%matplotlib inline
"""),

    md(r"""
## 1. A softmax that ignores padding

Attention compares a query $q$ with a bank of vectors $k_1, \dots, k_S$ (the *keys*), turns the
scores into weights with a softmax,

$$\alpha_s = \frac{\exp(e_s)}{\sum_{s'} \exp(e_{s'})}, \qquad e_s = \operatorname{score}(q, k_s),$$

and returns the weighted average of the *values* $v_s$: $\;c = \sum_s \alpha_s v_s$ (in the
lecture's words, a new summary vector of the bank).

Sentences in a batch have different lengths, so the bank is padded to the longest. A padded
position is not part of the sentence: it must get weight **exactly 0**, and the weights of the real
positions must still sum to 1. Setting padded scores to $-\infty$ before the softmax does that,
with one trap: a row with *no* real position (an empty sequence) gives $0/0$ = NaN, which then
spreads to every gradient. The convention here is all-zero weights for such a row.

**Q1.** Implement `masked_softmax`. Then check the three cases below: a full row, a padded row, an
empty row; and scores so large that a naive `exp` overflows.
"""),

    code(r"""
scores = torch.tensor([[1.0, 2.0, 3.0, 4.0, 5.0],
                       [1.0, 2.0, 3.0, 4.0, 5.0],
                       [1.0, 2.0, 3.0, 4.0, 5.0]])
lengths = torch.tensor([5, 3, 0])
mask = torch.arange(5)[None, :] < lengths[:, None]        # True = real position
weights = A.masked_softmax(scores, mask)
print(weights.numpy().round(3))
print("row sums:", weights.sum(dim=1).tolist())
print("huge scores:", A.masked_softmax(torch.tensor([[1e4, 1e4 - 1, -1e4]]), None).numpy().round(3))
"""),

    md(r"""
## 2. Three ways to score a query against the keys

The score says how well key $k_s$ matches what the query $q$ is looking for:

| name | score $e_s$ | parameters |
| --- | --- | --- |
| dot product | $q^\top k_s$ (scaled: $q^\top k_s / \sqrt{H_k}$) | none; needs $H_q = H_k$ |
| general (multiplicative) | $q^\top W k_s$ | $W$ of shape $(H_q, H_k)$ |
| additive | $v^\top \tanh(W_q^\top q + W_k^\top k_s)$ | $W_q (H_q, A)$, $W_k (H_k, A)$, $v (A)$ |

All three return the same pair `(context, weights)`. In a sequence-to-sequence model the query is
the decoder's current state and the keys and values are the encoder's states.

**Q2.** Implement `dot_attention`, `general_attention` and `additive_attention` with your
`masked_softmax`. Below: one query per sequence against padded banks of different lengths. Each row
of a heatmap is one sequence's attention distribution; the hatched cells are padding and must be
exactly zero.
"""),

    code(r"""
def show_weights(ax, weights, lengths, title, xlabel="key position s", ylabel=None):
    # weights (rows, S) as a heatmap; padding (positions >= length) hatched
    columns = weights.shape[1]
    image = ax.imshow(weights, cmap="viridis", vmin=0, vmax=max(float(weights.max()), 1e-9), aspect="auto")
    for row, length in enumerate(lengths):
        if length < columns:
            ax.add_patch(plt.Rectangle((length - 0.5, row - 0.5), columns - length, 1, fill=False, hatch="//",
                                       edgecolor="white", linewidth=0))
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    return image


torch.manual_seed(1)
N, Sk, H = 4, 9, 16
lengths = torch.tensor([9, 6, 3, 7])
mask = torch.arange(Sk)[None, :] < lengths[:, None]
query, keys, values = torch.randn(N, H), torch.randn(N, Sk, H), torch.randn(N, Sk, H)
W = torch.randn(H, H) / math.sqrt(H)
Wq, Wk, v = torch.randn(H, 8), torch.randn(H, 8), torch.randn(8)
results = {
    "dot": A.dot_attention(query, keys, values, mask),
    "scaled dot": A.dot_attention(query, keys, values, mask, scaled=True),
    "general": A.general_attention(query, keys, values, W, mask),
    "additive": A.additive_attention(query, keys, values, Wq, Wk, v, mask),
}
fig, axes = plt.subplots(1, 4, figsize=(15, 2.8), sharey=True)
for ax, (name, (context, weights)) in zip(axes, results.items()):
    image = show_weights(ax, weights.detach().numpy(), lengths.tolist(), name)
axes[0].set_yticks(range(N), [f"length {k}" for k in lengths.tolist()])
fig.colorbar(image, ax=axes, label="attention weight")
plt.show()
print("context shape:", tuple(results["dot"][0].shape), "  weight at padding:",
      max(float(w[~mask].abs().max()) for _, w in results.values()))
"""),

    md(r"""
**Why scale the dot product?** For random vectors with unit-variance entries, $q^\top k$ is a sum of
$H_k$ terms and its standard deviation grows like $\sqrt{H_k}$. Large scores make the softmax
nearly one-hot, and a one-hot softmax has almost zero gradient: learning stalls. Dividing by
$\sqrt{H_k}$ keeps the scores' spread the same at every size. Measured with your `dot_attention`:
"""),

    code(r"""
sizes = [4, 16, 64, 256, 1024]
for scaled in (False, True):
    largest = []
    for size in sizes:
        q, k = torch.randn(200, size), torch.randn(200, 10, size)
        largest.append(A.dot_attention(q, k, k, scaled=scaled)[1].max(dim=1).values.mean().item())
    plt.semilogx(sizes, largest, "o-", label="scaled by 1/sqrt(H)" if scaled else "plain dot product")
plt.axhline(0.1, color="grey", linestyle=":", label="uniform over 10 keys")
plt.xlabel("key size H"); plt.ylabel("mean largest weight")
plt.title("Dot-product attention saturates as H grows, unless scaled")
plt.legend(); plt.show()
"""),

    md(r"""
## 3. A decoder with attention, and teacher forcing

The decoder generates the output one token at a time. At step $t$ it reads the previous token
$y_{t-1}$, updates its LSTM state $h_t$, uses $h_t$ as the **query** against the encoder states,
and combines the context $a_t$ with $h_t$ to score the next token:

$$h_t = \operatorname{LSTM}([E y_{t-1}; o_{t-1}], h_{t-1}), \quad
\alpha_t = \operatorname{softmax}_{\text{real } s}(h_t^\top W_{att} z_s), \quad
a_t = \sum_s \alpha_{t,s} z_s, \quad
o_t = \tanh(W_u [a_t; h_t]), \quad p(y_t) = \operatorname{softmax}(W_{vocab}\, o_t).$$

(Feeding $o_{t-1}$ back in, *input feeding*, tells the decoder what it attended to last time.)

**Training: teacher forcing.** Maximum likelihood asks for $\log p(y_1, \dots, y_T \mid x) =
\sum_t \log p(y_t \mid y_{<t}, x)$, so at every step the decoder is given the **gold** previous
token $y_{t-1}$, whatever it would have predicted. All steps' losses are known at once, and
training is fast and stable.

**Testing: free running.** At test time there is no gold output: the decoder is fed its **own**
previous prediction. After one mistake it is in a situation it never saw in training (a prefix
that is not a gold prefix), and mistakes compound. This train/test mismatch is called **exposure
bias**.

**Q3.** Implement `AttentionDecoder.step` and `teacher_forced_loss`. Then we train a small encoder
and your decoder on a toy task, **reversing** a sequence of symbols, and look at the mismatch.
The encoder (given here) is a bidirectional LSTM, so each $z_s$ knows its neighbours.
"""),

    code(r"""
PAD, START, END = 0, 1, 2
SYMBOLS = 10                                     # symbols are the tokens 3 .. 12
VOCAB_SIZE = 3 + SYMBOLS


def reverse_batch(n, min_len, max_len, generator):
    # source: random symbols, padded; target: START, the source reversed, END, padded
    lengths = torch.randint(min_len, max_len + 1, (n,), generator=generator)
    source = torch.full((n, int(lengths.max())), PAD)
    target = torch.full((n, int(lengths.max()) + 2), PAD)
    for i, k in enumerate(lengths.tolist()):
        symbols = torch.randint(3, VOCAB_SIZE, (k,), generator=generator)
        source[i, :k] = symbols
        target[i, 0], target[i, 1:k + 1], target[i, k + 1] = START, symbols.flip(0), END
    return source, source != PAD, target


class Encoder(nn.Module):
    def __init__(self, vocab_size, embed_size, hidden_size):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_size)
        self.rnn = nn.LSTM(embed_size, hidden_size, batch_first=True, bidirectional=True)

    def forward(self, source, mask):           # -> encoder states z, shape (N, S, 2 * hidden_size)
        packed = nn.utils.rnn.pack_padded_sequence(self.embedding(source), mask.sum(1).cpu(), batch_first=True,
                                                   enforce_sorted=False)
        states, _ = self.rnn(packed)
        return nn.utils.rnn.pad_packed_sequence(states, batch_first=True, total_length=source.shape[1])[0]


source, mask, target = reverse_batch(3, 3, 6, torch.Generator().manual_seed(0))
print("source:\n", source, "\ntarget:\n", target)
"""),

    md(r"""
A training loop that can also do **scheduled sampling** (Bengio et al., 2015), one remedy for
exposure bias: at each step, with probability `own`, the decoder is fed a token *drawn from its own*
prediction instead of the gold token, so during training it already meets prefixes with mistakes
in them. `own` starts at 0 (pure teacher forcing) and grows during training. With `own = 0` the
loop uses your `teacher_forced_loss`.

**Try it** (not graded): complete the marked lines of `scheduled_sampling_loss`, three lines that
choose each sequence's next input. Until you do, the comparison below shows teacher forcing only.
"""),

    code(r"""
def scheduled_sampling_loss(decoder, states, mask, target, own, generator):
    # Like teacher_forced_loss, but each sequence's next input is, with probability `own`, a token drawn
    # from the model's own prediction (softmax of the logits, torch.multinomial with `generator`) instead
    # of the gold token. No gradient flows through the draw (logits.detach()).
    keys = decoder.att_projection(states)
    state, o = decoder.initial_state(states, mask)
    previous, total = target[:, 0], states.new_zeros(())
    for t in range(target.shape[1] - 1):
        state, o, logits, _ = decoder.step(previous, state, o, states, keys, mask)
        gold = target[:, t + 1]
        total = total + F.cross_entropy(logits, gold, ignore_index=PAD, reduction="sum")
        # BEGIN SOLUTION
        use_own = torch.rand(gold.shape, generator=generator) < own
        guess = torch.multinomial(torch.softmax(logits.detach(), dim=-1), 1, generator=generator)[:, 0]
        previous = torch.where(use_own, guess, gold)
        # END SOLUTION
    return total / (target[:, 1:] != PAD).sum()


def train_reverser(seconds, max_own=0.0, seed=0):
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    encoder, decoder = Encoder(VOCAB_SIZE, 16, 32), A.AttentionDecoder(VOCAB_SIZE, 16, 32, 64)
    parameters = [*encoder.parameters(), *decoder.parameters()]
    optimizer = torch.optim.Adam(parameters, lr=3e-3)
    history, start = [], time.perf_counter()
    while time.perf_counter() - start < seconds:
        source, mask, target = reverse_batch(64, 4, 12, generator)
        states = encoder(source, mask)
        own = max_own * min(1.0, 2 * (time.perf_counter() - start) / seconds)   # ramp up over the first half
        if own == 0:
            loss = A.teacher_forced_loss(decoder, states, mask, target, PAD)
        else:
            loss = scheduled_sampling_loss(decoder, states, mask, target, own, generator)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(parameters, 1.0)
        optimizer.step()
        history.append(loss.item())
    return encoder, decoder, history


SECONDS = 10
forced = train_reverser(SECONDS)
print(f"teacher forcing: {len(forced[2])} steps, loss {forced[2][0]:.2f} -> {forced[2][-1]:.3f}")
"""),

    md(r"""
Now compare the two ways of running the trained model on held-out sequences, including lengths
(13-16) longer than any seen in training: **teacher-forced** (gold prefixes, as in training; what the
training loss measures) and **free-running** greedy decoding (its own prefixes, as at test time; your
decoder inside the given `greedy_decode`).
"""),

    code(r"""
def compare(encoder, decoder, n=400, max_len=16):
    # per-position accuracy teacher-forced and free-running, and the teacher-forced loss
    source, mask, target = reverse_batch(n, 4, max_len, torch.Generator().manual_seed(123))
    with torch.no_grad():
        states = encoder(source, mask)
        loss = A.teacher_forced_loss(decoder, states, mask, target, PAD).item()
        keys = decoder.att_projection(states)
        state, o = decoder.initial_state(states, mask)
        forced_guess = []
        for t in range(target.shape[1] - 1):
            state, o, logits, _ = decoder.step(target[:, t], state, o, states, keys, mask)
            forced_guess.append(logits.argmax(dim=-1))
        forced_guess = torch.stack(forced_guess, dim=1)
        free, weights = A.greedy_decode(decoder, states, mask, START, END, target.shape[1] - 1)
    gold = target[:, 1:]
    real = gold != PAD
    free_guess = torch.full_like(gold, -1)
    free_guess[:, :free.shape[1]] = free
    guesses = {"teacher-forced": forced_guess, "free-running": free_guess}
    per_position = {name: (((guess == gold) & real).sum(0) / real.sum(0).clamp_min(1)).numpy()[:-1]
                    for name, guess in guesses.items()}
    tokens_right = {name: ((guess == gold) & real).sum().item() / real.sum().item()
                    for name, guess in guesses.items()}
    return loss, per_position, tokens_right, (source, mask, free, weights)


loss, per_position, tokens_right, example = compare(*forced[:2])
print(f"teacher-forced loss {loss:.3f} nats per token")
for name, right in tokens_right.items():
    print(f"{name:15s} tokens right {right:.3f}")
"""),

    md(r"""
What the model attends to: for a few held-out sequences, the weights of each generated token
(rows) over the source positions (columns), from free-running decoding. Reversing means the first
output token should look at the last real source position, and so on: an anti-diagonal. Padding is
hatched; it gets no attention.
"""),

    code(r"""
source, mask, free, weights = example
fig, axes = plt.subplots(1, 4, figsize=(15, 3.5))
for ax, n in zip(axes, [0, 1, 2, 3]):
    length = int(mask[n].sum())
    steps = min(length + 1, weights.shape[1])
    show_weights(ax, weights[n, :steps].numpy(), [weights.shape[2]] * steps, f"source length {length}",
                 ylabel="output step" if n == 0 else None)
    ax.add_patch(plt.Rectangle((length - 0.5, -0.5), weights.shape[2] - length, steps, fill=False, hatch="//",
                               edgecolor="white", linewidth=0))
plt.show()
"""),

    md(r"""
Now the remedy: the same model and the same training time, with scheduled sampling (up to half of
the inputs drawn from the model's own predictions). The plot shows accuracy at each output position,
for both models, teacher-forced and free-running. Positions beyond 13 (12 symbols and the end
token) are longer than anything seen in training.
"""),

    code(r"""
runs = {"teacher forcing only": (loss, per_position, tokens_right)}
try:
    scheduled = train_reverser(SECONDS, max_own=0.5)
    runs["scheduled sampling"] = compare(*scheduled[:2])[:3]
except NotImplementedError:
    print("scheduled_sampling_loss is not complete yet (not graded): showing teacher forcing only")

fig, ax = plt.subplots(figsize=(9, 3.5))
positions = np.arange(1, len(per_position["free-running"]) + 1)
for (label, (_, curves, _)), colour in zip(runs.items(), ["tab:blue", "tab:orange"]):
    ax.plot(positions, curves["teacher-forced"], ":", color=colour, label=f"{label}: teacher-forced")
    ax.plot(positions, curves["free-running"], "-", color=colour, label=f"{label}: free-running")
ax.axvline(13.5, color="grey", linewidth=0.5)
ax.set_xlabel("output position"); ax.set_ylabel("accuracy"); ax.legend(fontsize=8)
ax.set_title("Exposure bias: free-running accuracy falls behind teacher-forced accuracy")
plt.show()
for label, (tf_loss, _, right) in runs.items():
    gap = right["teacher-forced"] - right["free-running"]
    print(f"{label:21s} teacher-forced loss {tf_loss:.3f}; tokens right: teacher-forced {right['teacher-forced']:.3f}, "
          f"free-running {right['free-running']:.3f} (gap {gap:.3f})")
"""),

    md(r"""
What to see (a ten-second training run is noisy: run it again with another seed): the dotted
teacher-forced curves sit above the solid free-running ones, and the gap opens up towards the end
of long sequences, where a free-running decoder has had the most chances to go wrong and then to be
confused by its own mistake. (A sequence the model gets *entirely* right is the same either way:
the difference is what happens after the first mistake.) The training loss is measured
teacher-forced, so it is an optimistic estimate of test-time quality.

Scheduled sampling usually narrows the gap: the model has learned to recover from its own
mistakes. It is not free: its teacher-forced loss is higher (it no longer optimises the pure
likelihood), and in a short run it may learn the task itself more slowly. Other remedies change
what is trained (professor forcing, from the lecture, trains the free-running dynamics to look like
the teacher-forced ones) or how the output is searched for (beam search, section 6).
"""),

    free_response("exposure_bias", 3, r"""
In your own words: why is the teacher-forced loss an optimistic estimate of how well the decoder
does at test time? Use the plot above (where do the curves part, and why there?). Then give one
drawback of scheduled sampling: what does it do to the training objective, and why does it ramp
`own` up from 0 rather than start high?
"""),

    md(r"""
## 4. A character-level language model

A language model gives the probability of a text one character at a time,
$p(c_1, \dots, c_T) = \prod_t p(c_t \mid c_{<t})$, and maximum likelihood training minimises the
cross-entropy of each next character. Measured in bits (divide nats by $\ln 2$), the loss is the
**bits per character** (bpc) the model needs to encode the text: a uniform guess over the $V$
characters of the vocabulary costs $\log_2 V \approx 6$ bits; a good model of this text gets below 2.

The training text is one long string. `batchify` cuts it into $N$ rows, each a contiguous stretch,
and training walks along the rows $T$ characters at a time (**truncated BPTT**, as in assignment 1):
the state is carried from one chunk to the next, so the model sees the past, but the gradient stops
at the chunk boundary. Clipping the gradient norm keeps an occasional exploding step from undoing
the training.

**Q6.** Implement `batchify`, `get_batch`, `tbptt_chunks`, `detach_state` and `train_step`. The cell
below trains a small model for about 40 seconds. The real run for Q8 is longer: in a terminal, in
this folder,

    python char_lm.py --minutes 5

which trains a larger model, prints the validation bpc as it goes, and saves `char_lm.safetensors`
(submit it beside `char_lm.py`). It uses all your cores (`--threads N` to choose); this notebook
uses one, which is faster for its small models.
"""),

    code(r"""
DATA = Path("data") if Path("data/train.txt").is_file() else LM.DATA_DIR
train_text, valid_text = LM.load_text("train.txt", DATA), LM.load_text("valid.txt", DATA)
print(f"{len(train_text):,} training characters, {len(valid_text):,} validation characters; "
      f"vocabulary of {len(LM.VOCAB)}")

torch.manual_seed(0)
model = LM.CharLM(len(LM.VOCAB), 32, 128)
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
data = LM.batchify(LM.encode(train_text), 32)
lm_history, state, start = [], None, time.perf_counter()
chunks = LM.tbptt_chunks(data, 64)
while time.perf_counter() - start < 40:
    for x, y in chunks:
        loss, state = LM.train_step(model, optimizer, x, y, state, clip=1.0)
        lm_history.append(loss / math.log(2))
        if time.perf_counter() - start >= 40:
            break
    state = None                                   # a new pass starts each row from its beginning
valid_bpc = LM.bits_per_char(model, valid_text[:20000])
smooth = np.convolve(lm_history, np.ones(10) / 10, mode="valid")
plt.figure(figsize=(8, 3.5))
plt.plot(lm_history, alpha=0.3, label="each chunk")
plt.plot(np.arange(9, len(lm_history)), smooth, label="mean of 10 chunks")
plt.axhline(math.log2(len(LM.VOCAB)), color="grey", linestyle=":", label="uniform guess")
plt.axhline(valid_bpc, color="tab:red", linestyle="--", label=f"validation after training: {valid_bpc:.2f}")
plt.xlabel("training step (one chunk of 32 x 64 characters)"); plt.ylabel("bits per character")
plt.title(f"A small character LSTM, {time.perf_counter() - start:.0f} s of training")
plt.legend(); plt.show()
"""),

    md(r"""
## 5. Choosing the next character

The model gives logits; a **decoding rule** turns them into a character. Greedy decoding always
takes the most probable one, which makes text that is safe and repetitive. Sampling from
$\operatorname{softmax}(z)$ is faithful to the model, including its long tail of unlikely characters,
where the nonsense lives. Three knobs reshape the distribution before the draw:

- **temperature** $\tau$: sample from $\operatorname{softmax}(z / \tau)$; $\tau < 1$ sharpens (towards
  greedy as $\tau \to 0$), $\tau > 1$ flattens (towards uniform);
- **top-k**: keep only the $k$ most probable tokens;
- **top-p** (nucleus): keep the smallest set of most probable tokens whose probabilities add up to
  at least $p$, so the number kept adapts to how sure the model is.

**Q4.** Implement `greedy`, `apply_temperature`, `top_k_filter`, `top_p_filter` and `sample_next`.
Below, the model's distribution of the character after a prompt, reshaped each way.
"""),

    code(r"""
prompt = "And God sa"
with torch.no_grad():
    logits = model.eval()(LM.encode(prompt)[None])[0][:, -1]   # (1, V): the next character's logits
model.train()
top = torch.topk(logits[0], 12).indices                            # the 12 most probable characters
labels = [repr(LM.VOCAB[i])[1:-1] or " " for i in top.tolist()]
shaped = {"softmax (temperature 1)": logits, "temperature 0.5": S.apply_temperature(logits, 0.5),
          "temperature 2": S.apply_temperature(logits, 2.0), "top-k, k = 3": S.top_k_filter(logits, 3),
          "top-p, p = 0.9": S.top_p_filter(logits, 0.9)}
fig, axes = plt.subplots(1, len(shaped), figsize=(16, 2.8), sharey=True)
for ax, (name, z) in zip(axes, shaped.items()):
    ax.bar(range(12), torch.softmax(z, dim=-1)[0, top].numpy())
    ax.set_xticks(range(12), labels)
    ax.set_title(name, fontsize=10)
axes[0].set_ylabel(f"p(next | {prompt!r})")
plt.show()
print("greedy choice:", repr(LM.VOCAB[int(S.greedy(logits))]))
"""),

    md(r"""
**Q7.** Implement `generate`, which continues a prompt one sampled character at a time (with your
`sample_next`). Samples from the small model above at several settings; each uses its own seeded
generator, so running the cell again gives the same text.
"""),

    code(r"""
settings = [{"temperature": 0.0}, {"temperature": 0.5}, {"temperature": 1.0}, {"temperature": 1.5},
            {"temperature": 1.0, "top_k": 5}, {"temperature": 1.0, "top_p": 0.8}]
for setting in settings:
    name = ", ".join(f"{key}={value}" for key, value in setting.items())
    text = LM.generate(model, "And God said", 120, seed=0, **setting)
    print(f"--- {name}\nAnd God said{text}\n")
"""),

    free_response("temperature", 2, r"""
Describe how the samples change from temperature 0 to 1.5, and explain the two ends from the formula
$\operatorname{softmax}(z / \tau)$. Why might top-p be a better choice than top-k for a model that is
sometimes very sure of the next character (after "Go", say) and sometimes not (after a space)?
"""),

    md(r"""
## 6. Beam search

Greedy decoding picks the best *next* token, which need not lead to the best *sequence*: a
slightly worse first choice can open up a much more probable continuation. **Beam search** keeps
the $B$ best partial sequences (the beam) at every step, extends each by every token, and keeps
the $B$ best of those; finished sequences (that produced the end token) are set aside. With
$B = 1$ it is greedy decoding.

Scores are sums of log-probabilities, and each token adds a negative term, so raw scores favour
short sequences. **Length normalisation** divides by $\text{length}^\alpha$: $\alpha = 0$ is the raw
score, $\alpha = 1$ the mean log-probability per token.

**Q5.** Implement `beam_search`. Below, the language model completes a prompt up to the end of the
line (end token: the newline character), greedily and with wider beams. `step_fn` reads the prompt
and the prefix, and returns the next character's log-probabilities.
"""),

    code(r"""
prompt = "And the LORD said unto Mos"
context = LM.encode(prompt[:-1])                 # the beam's prefixes start with the prompt's last character
newline = LM.VOCAB.index("\n")
model.eval()


def step_fn(prefixes):
    with torch.no_grad():
        full = torch.cat([context.expand(prefixes.shape[0], -1), prefixes], dim=1)
        return torch.log_softmax(model(full)[0][:, -1], dim=-1)


rows = []
for beam_size in (1, 3, 8):
    for alpha in (0.0, 1.0):
        tokens, score = S.beam_search(step_fn, LM.encode(prompt[-1]).item(), newline, beam_size, 60, alpha)
        rows.append((beam_size, alpha, score, prompt + LM.decode(tokens).rstrip("\n")))
model.train()
for beam_size, alpha, score, text in rows:
    print(f"beam {beam_size}, alpha {alpha:.0f}: score {score:8.3f}  {text!r}")
"""),

    md(r"""
What to see: wider beams find completions with higher scores (that is what they search for), and
with $\alpha = 0$ they prefer to stop early. A higher score is not always better text: the most
probable sequence under a small model is often bland or repetitive, which is one reason open-ended
generation samples (section 5) while translation, with a single right answer, uses beam search.

**Questions to think about** (not graded):
1. Can beam search with $B = 3$ return a sequence with a *lower* score than greedy decoding?
   (Hint: is the greedy sequence always in the beam? What is compared when the beam is pruned, and
   what at the end?)
2. How does the cost of one beam-search step grow with $B$ and with $V$?
"""),

    md(r"""
## 7. Your trained model (Q8)

Q8 scores the checkpoint you submit, `char_lm.safetensors`, by its bits per character on text you
have not seen. Train it from a terminal (`python char_lm.py --minutes 5`; more minutes, a larger
`--hidden` or `--layers 2` may do better), then measure it here on `valid.txt`, which estimates that
score, and read what it writes.
"""),

    code(r"""
checkpoint = Path("char_lm.safetensors")
if checkpoint.is_file():
    trained = LM.load(checkpoint)
    print(f"{checkpoint}: validation {LM.bits_per_char(trained, valid_text):.3f} bits per character")
    print("And God said" + LM.generate(trained, "And God said", 300, temperature=0.8, seed=0))
else:
    print(f"no {checkpoint} here yet: run  python char_lm.py --minutes 5  in this folder")
"""),
]
