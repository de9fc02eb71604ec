"""Assignment 3, part 3: a character-level language model (Q6-Q8).

A language model gives the probability of a text one character at a time,
p(c_1 ... c_T) = prod_t p(c_t | c_1 ... c_{t-1}). Here an LSTM reads the text and,
after each character, its state h_t goes through a linear layer to the logits of
the next character. Training maximises the likelihood of the training text: the
loss is the mean cross-entropy of every next character given the ones before it,
measured in nats; divided by ln 2 it is the number of *bits per character* (bpc),
the usual figure of merit (lower is better; a uniform guess over this vocabulary of
64 characters costs log2(64) = 6 bits).

What you write:

- Q6: ``batchify``, ``get_batch``, ``tbptt_chunks``, ``detach_state`` and
  ``train_step``: cut one long text into batches and train on it with truncated
  backpropagation through time (TBPTT), carrying the hidden state from one chunk to
  the next but not its gradient.
- Q7: ``generate``: continue a prompt by sampling one character at a time with your
  ``sampling.sample_next`` (Q4).
- Q8: train the model (``python char_lm.py --minutes 5``) and submit the checkpoint
  ``char_lm.safetensors`` beside this file. It is scored by its bits per character on
  text you have not seen; ``valid.txt`` gives you an estimate of that score. The grader
  scores models of up to 2,000,000 parameters (the default size has 350,000).

Provided (do not change them; the tests rely on them): the vocabulary ``VOCAB`` with
``encode``/``decode``, ``load_text``, the model ``CharLM``, ``bits_per_char`` and the
command line ``main``.

Conventions:

- Batch-major: a batch of inputs ``x`` is a LongTensor of character ids, shape
  ``(N, T)`` (N rows of T consecutive characters); the model's logits have shape
  ``(N, T, V)`` with V = ``len(VOCAB)``; the targets ``y`` have the shape of ``x``.
- The state of an LSTM is the pair ``(h, c)``, each ``(num_layers, N, H)``; that of
  a GRU is one tensor ``(num_layers, N, H)``; ``None`` means zeros (the start of a
  text). Functions that take a state accept all three forms.
- Every random draw uses an explicit ``torch.Generator`` (never the global one), so a
  seed gives the same result every time.
"""

import argparse
import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

# ---------------------------------------------------------------------------
# Provided: the vocabulary and the data

#: The vocabulary: these 64 characters, in this order (id = position). The texts in
#: data/ contain nothing else.
VOCAB = "\n !'(),-.:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
CHAR_TO_ID = {c: i for i, c in enumerate(VOCAB)}
DATA_DIR = Path(__file__).resolve().parent / "data"


def encode(text):
    """The ids of ``text``'s characters, a 1-D LongTensor of ``len(text)`` entries.

    Raises ValueError naming the first character that is not in ``VOCAB``.
    """
    try:
        return torch.tensor([CHAR_TO_ID[c] for c in text], dtype=torch.long)
    except KeyError as exc:
        raise ValueError(f"character {exc.args[0]!r} is not in the vocabulary") from None


def decode(ids):
    """The text of a sequence of ids (a 1-D tensor, or any iterable of ints)."""
    if isinstance(ids, torch.Tensor):
        ids = ids.tolist()
    return "".join(VOCAB[i] for i in ids)


def load_text(name="train.txt", folder=None):
    """The text of ``data/<name>`` (``train.txt`` or ``valid.txt``) as a string."""
    return (Path(folder) if folder else DATA_DIR).joinpath(name).read_text(encoding="utf-8")


# ---------------------------------------------------------------------------
# Provided: the model


class CharLM(nn.Module):
    """Embedding -> LSTM (or GRU) -> linear layer to the logits of the next character.

    ``CharLM(vocab_size, embed_size, hidden_size, num_layers=1, cell="lstm")`` has three
    submodules, so its ``state_dict`` holds exactly these parameters (G = 4 for an
    LSTM, 3 for a GRU; k = 0 .. num_layers - 1; D_0 = E, D_k = H for k > 0):

    - ``embedding.weight`` (V, E)          : ``nn.Embedding(V, E)``
    - ``rnn.weight_ih_l{k}`` (G*H, D_k), ``rnn.weight_hh_l{k}`` (G*H, H),
      ``rnn.bias_ih_l{k}`` (G*H,), ``rnn.bias_hh_l{k}`` (G*H,)
                                           : ``nn.LSTM``/``nn.GRU(E, H, num_layers, batch_first=True)``
    - ``head.weight`` (V, H), ``head.bias`` (V,) : ``nn.Linear(H, V)``

    The grader rebuilds this model from the shapes of your checkpoint (Q8), so train
    this architecture (any E, H, num_layers and cell) and save its ``state_dict``.

    ``own_rnn=True`` uses ``torch_rnn.LSTM`` / ``torch_rnn.GRU`` from assignment 2 in
    place of PyTorch's (copy your ``torch_rnn.py`` into this folder first): their
    parameters have the same names and shapes, so the checkpoint is the same. It is
    slower; the tests use PyTorch's.

    ``forward(x, state=None)``:
    - x: LongTensor of ids, shape (N, T)
    - state: the state after the previous chunk (see the module docstring), or None
    Returns ``(logits, state)``: logits (N, T, V) for the character after each
    position, and the state after the last one (to pass to the next call).
    """

    def __init__(self, vocab_size, embed_size, hidden_size, num_layers=1, cell="lstm", own_rnn=False):
        super().__init__()
        if cell not in ("lstm", "gru"):
            raise ValueError(f"cell should be 'lstm' or 'gru'; got {cell!r}")
        if own_rnn:
            import torch_rnn  # your module from assignment 2, copied beside this file

            rnn_class = torch_rnn.LSTM if cell == "lstm" else torch_rnn.GRU
        else:
            rnn_class = nn.LSTM if cell == "lstm" else nn.GRU
        self.cell = cell
        self.embedding = nn.Embedding(vocab_size, embed_size)
        self.rnn = rnn_class(embed_size, hidden_size, num_layers=num_layers, batch_first=True)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, x, state=None):
        out, state = self.rnn(self.embedding(x), state)
        return self.head(out), state


def bits_per_char(model, text, streams=16, chunk=500):
    """The model's mean cross-entropy on ``text`` in bits per character.

    The text is cut into ``streams`` rows of consecutive characters (``batchify``'s
    layout, done here without it) that the model reads from a zero state, chunk by
    chunk, carrying the state; every character but each row's first is predicted.
    This is how the grader scores your checkpoint (on text you have not seen).
    """
    ids = encode(text)
    length = len(ids) // streams
    rows = ids[: length * streams].view(streams, length)
    device = next(model.parameters()).device
    rows = rows.to(device)
    was_training = model.training
    model.eval()
    total, count, state = 0.0, 0, None
    with torch.no_grad():
        for start in range(0, length - 1, chunk):
            x = rows[:, start:start + chunk]
            y = rows[:, start + 1:start + 1 + chunk]
            x = x[:, : y.shape[1]]
            logits, state = model(x, state)
            total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), y.reshape(-1),
                                     reduction="sum").item()
            count += y.numel()
    model.train(was_training)
    return total / count / math.log(2)


# ---------------------------------------------------------------------------
# Q6. Batches and truncated backpropagation through time


def batchify(ids, batch_size):
    """Arrange one long text into ``batch_size`` rows of consecutive characters.

    Inputs:
    - ids: 1-D LongTensor of character ids, length M (a whole text, from ``encode``)
    - batch_size: the number of rows N

    Returns a LongTensor of shape (N, L) with L = M // N: row n holds
    ``ids[n * L : (n + 1) * L]``, so each row is a contiguous stretch of the text and
    reading along a row reads the text. The last ``M - N * L`` ids are dropped.

    Training then walks along the rows, T columns at a time: the N rows are N
    independent streams, and the state that row n ends one chunk with is the right
    state to start its next chunk with.
    """
    length = len(ids) // batch_size
    return ids[: length * batch_size].reshape(batch_size, length)


def get_batch(data, i, seq_len):
    """Inputs and next-character targets of the chunk of ``data`` starting at column i.

    Inputs:
    - data: LongTensor (N, L) from ``batchify``
    - i: the first column of the chunk, 0 <= i < L - 1
    - seq_len: the chunk length T (the number of steps to backpropagate through)

    Returns ``(x, y)``, LongTensors of the same shape (N, T') with
    ``T' = min(seq_len, L - 1 - i)``: ``x = data[:, i : i + T']`` and ``y`` is x
    shifted one character to the left, ``y = data[:, i + 1 : i + 1 + T']``: y[n, t]
    is the character that follows x[n, t]. (The last chunk can be shorter, since the
    final character of a row has no target.)
    """
    T = min(seq_len, data.shape[1] - 1 - i)
    return data[:, i:i + T], data[:, i + 1:i + 1 + T]


def tbptt_chunks(data, seq_len):
    """All the chunks of one pass (an epoch) over ``data``, in order.

    Inputs: data (N, L) from ``batchify``; seq_len T.

    Returns a list of ``(x, y)`` pairs, ``get_batch(data, i, seq_len)`` for
    i = 0, T, 2T, ... while i < L - 1. Together their x cover every column except
    the last, and consecutive chunks continue each other (the state carries over).
    """
    return [get_batch(data, i, seq_len) for i in range(0, data.shape[1] - 1, seq_len)]


def detach_state(state):
    """The same state cut off from the graph that computed it.

    Inputs: state: None, a tensor (GRU), or a tuple ``(h, c)`` of tensors (LSTM).
    Returns the same structure with every tensor detached (``tensor.detach()``):
    the same values, no gradient history.

    Why: the state at the end of a chunk is the right starting point for the next
    chunk (the text continues), but backpropagating into the previous chunk would
    grow the graph without bound, and that chunk's graph is freed after its
    ``backward()`` anyway. Truncated BPTT keeps the values and drops the history.
    """
    if state is None:
        return None
    if isinstance(state, torch.Tensor):
        return state.detach()
    return tuple(detach_state(s) for s in state)


def train_step(model, optimizer, x, y, state, clip):
    """One step of truncated BPTT on one chunk.

    Inputs:
    - model: a ``CharLM``
    - optimizer: a ``torch.optim`` optimizer over the model's parameters
    - x, y: LongTensors (N, T) of inputs and targets (``get_batch``)
    - state: the state the previous chunk ended with (already detached), or None
    - clip: the maximum gradient norm

    In order: clear the gradients; run the model on x from ``state``; the loss is the
    mean cross-entropy of the logits against y over all N*T positions
    (``F.cross_entropy`` takes logits of shape (N*T, V) and targets (N*T,)); backward;
    clip the gradient norm of all the parameters together to ``clip``
    (``torch.nn.utils.clip_grad_norm_``); one optimizer step.

    Returns ``(loss, new_state)``: the loss before the update as a Python float, and
    the state after the chunk, detached (``detach_state``), ready for the next chunk.

    Hint: clipping rescales the whole gradient when its norm exceeds ``clip``, which
    keeps one exploding step (the lecture's steep cliffs of the loss) from undoing
    the training so far.
    """
    optimizer.zero_grad()
    logits, new_state = model(x, state)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), clip)
    optimizer.step()
    return loss.item(), detach_state(new_state)


# ---------------------------------------------------------------------------
# Q7. Generating text


def generate(model, prefix, n, temperature=1.0, top_k=None, top_p=None, seed=0):
    """Continue ``prefix`` with ``n`` characters sampled from the model.

    Inputs:
    - model: a ``CharLM`` (left in the mode it was in: switch to eval only inside)
    - prefix: a non-empty string of characters in ``VOCAB``, the prompt
    - n: the number of characters to generate (n >= 0)
    - temperature, top_k, top_p: passed to ``sampling.sample_next`` for every draw
      (temperature 0 is greedy; ``top_k=1`` too)
    - seed: seeds a new ``torch.Generator`` (on the model's device) that every draw
      uses, so the same seed gives the same text

    Returns a string of exactly n characters: the continuation only, without the prefix.

    How: without gradients (``torch.no_grad()``), run the model over the whole prefix
    from a zero state (this "warms up" the state); the logits at its last position give
    the distribution of the first new character; draw it with
    ``sampling.sample_next(logits, generator, temperature, top_k, top_p)`` (logits of
    shape (1, V)), feed it back as the next input with the state, and repeat.
    Import ``sampling`` inside this function (your module from Q4).
    """
    import sampling

    if not prefix:
        raise ValueError("generate needs a non-empty prefix")
    device = next(model.parameters()).device
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)
    was_training = model.training
    model.eval()
    out = []
    try:
        with torch.no_grad():
            x = encode(prefix).to(device).unsqueeze(0)
            state = None
            for _ in range(n):
                logits, state = model(x, state)
                token = sampling.sample_next(logits[:, -1], generator, temperature, top_k, top_p)
                out.append(int(token[0]))
                x = token.reshape(1, 1).to(device)
    finally:
        model.train(was_training)
    return decode(out)


# ---------------------------------------------------------------------------
# Provided: training from the command line (Q8)


def train(minutes=5.0, embed_size=64, hidden_size=256, num_layers=1, cell="lstm", batch_size=32,
          seq_len=100, lr=2e-3, clip=1.0, seed=0, out="char_lm.safetensors", log_every=50, own_rnn=False,
          data_dir=None):
    """Train a CharLM on data/train.txt for ``minutes`` of wall-clock time with Adam,
    print the validation bits per character after every epoch (a pass over the text),
    and save the weights that did best on it to ``out`` with ``save``. Returns the model
    with those weights. Uses your Q6 functions.
    ``data_dir``: the folder of train.txt and valid.txt (default: data/ beside this file)."""
    torch.manual_seed(seed)
    data = batchify(encode(load_text("train.txt", data_dir)), batch_size)
    valid = load_text("valid.txt", data_dir)
    model = CharLM(len(VOCAB), embed_size, hidden_size, num_layers, cell, own_rnn=own_rnn)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    start, steps, epoch, recent, best = time.perf_counter(), 0, 0, [], float("inf")
    deadline = start + 60 * minutes
    while time.perf_counter() < deadline:
        state = None
        for x, y in tbptt_chunks(data, seq_len):
            loss, state = train_step(model, optimizer, x, y, state, clip)
            recent.append(loss)
            steps += 1
            if steps % log_every == 0:
                print(f"epoch {epoch} step {steps}: train {sum(recent) / len(recent) / math.log(2):.3f} bpc "
                      f"({time.perf_counter() - start:.0f} s)", flush=True)
                recent = []
            if time.perf_counter() >= deadline:
                break
        epoch += 1
        # Keep the weights that do best on the validation text (early stopping): a small
        # corpus is soon overfitted.
        score = bits_per_char(model, valid)
        if score < best:
            best = score
            save(model, out)
        print(f"after epoch {epoch} ({time.perf_counter() - start:.0f} s): validation {score:.3f} bpc"
              + (" (saved)" if score == best else ""), flush=True)
    print(f"{steps} steps in {time.perf_counter() - start:.0f} s; saved {out}: validation {best:.3f} bpc")
    model.load_state_dict(load(out).state_dict())
    return model


def save(model, path="char_lm.safetensors"):
    """Save the model's weights as float32 (safetensors, or .npz for a path ending in .npz)."""
    weights = {name: value.detach().to("cpu", torch.float32).contiguous()
               for name, value in model.state_dict().items()}
    if str(path).endswith(".npz"):
        import numpy as np

        np.savez(path, **{name: value.numpy() for name, value in weights.items()})
    else:
        from safetensors.torch import save_file

        save_file(weights, str(path))


def load(path="char_lm.safetensors"):
    """A CharLM with the weights of a checkpoint saved by ``save`` (sizes read from it)."""
    if str(path).endswith(".npz"):
        import numpy as np

        with np.load(path, allow_pickle=False) as archive:
            weights = {name: torch.from_numpy(archive[name]) for name in archive.files}
    else:
        from safetensors.torch import load_file

        weights = load_file(str(path))
    V, E = weights["embedding.weight"].shape
    H = weights["rnn.weight_hh_l0"].shape[1]
    layers = sum(1 for name in weights if name.startswith("rnn.weight_ih_l"))
    cell = "lstm" if weights["rnn.weight_hh_l0"].shape[0] == 4 * H else "gru"
    model = CharLM(V, E, H, layers, cell)
    model.load_state_dict(weights)
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description="Train the character-level language model on data/train.txt.")
    parser.add_argument("--minutes", type=float, default=5.0, help="training time (wall clock)")
    parser.add_argument("--embed", type=int, default=64, help="embedding size E")
    parser.add_argument("--hidden", type=int, default=256, help="hidden size H")
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--cell", choices=["lstm", "gru"], default="lstm")
    parser.add_argument("--batch", type=int, default=32, help="rows N")
    parser.add_argument("--seq-len", type=int, default=100, help="TBPTT chunk length T")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--clip", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: PyTorch's default)")
    parser.add_argument("--own-rnn", action="store_true", help="use your torch_rnn from assignment 2")
    parser.add_argument("--out", default="char_lm.safetensors")
    parser.add_argument("--data", default=None, help="folder of train.txt and valid.txt (default: data/ here)")
    parser.add_argument("--sample", type=int, default=300, help="characters to generate at the end")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    model = train(args.minutes, args.embed, args.hidden, args.layers, args.cell, args.batch, args.seq_len,
                  args.lr, args.clip, args.seed, args.out, own_rnn=args.own_rnn, data_dir=args.data)
    if args.sample:
        print(generate(model, "And God said", args.sample, temperature=0.8, seed=args.seed))


if __name__ == "__main__":
    main()
