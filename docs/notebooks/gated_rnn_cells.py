"""The companion notebook of assignment gated_rnn: its cells, in order (see build.py)."""

from build import code, free_response, md

CELLS = [
    md(r"""
# Assignment 2: LSTM and GRU cells

In assignment 1 you saw the gradients of a vanilla (Elman) RNN vanish: every step back in time
multiplies by $\operatorname{diag}(1 - h_k^2)\, W_h^\top$, and unless $W_h$'s spectral radius is
right at 1 the product shrinks (or grows) geometrically. Gated cells fix this by giving the network a
path through time that is *additive* and controlled by learned gates.

The first part of this assignment (Q1-Q5) builds the LSTM and the GRU in numpy, forward and backward,
and measures how gradients travel through them; you write it in `gated_layers.py`. The second part
(Q6-Q8) builds the same cells as PyTorch modules that can stand in for `torch.nn.RNN/LSTM/GRU`, and
then an LSTM layer fast enough to compete with PyTorch's own; you write it in `torch_rnn.py`. This
notebook explains the ideas and runs experiments on your functions. Check your work at any time with
`rnnkit check` in this folder (or `pytest tests -x`).

**Conventions.** As in assignment 1: batch-major `x (N, T, D)`, row vectors (`x @ Wx + h @ Wh + b`).
The weights of all gates are packed side by side so one matrix product computes every gate:
LSTM `Wx (D, 4H)` in the order i, f, o, g; GRU `Wx (D, 3H)` in PyTorch's order r, z, n.
"""),

    code(r"""
import gated_layers as L  # your module
import matplotlib.pyplot as plt
import numpy as np

from autograder.checks import numeric_gradient, relative_error

np.random.seed(231)
%matplotlib inline


def grad_check(name, mine, f, x, upstream):
    print(f"{name}: relative error {relative_error(mine, numeric_gradient(f, x, upstream)):.1e}  (expect below 1e-7)")
"""),

    md(r"""
## 1. The LSTM cell

An LSTM carries two vectors from step to step: the hidden state $h_t$ (what the cell shows the world)
and the **cell state** $c_t$ (its memory). Four vectors are computed from $x_t$ and $h_{t-1}$:

$$i = \sigma(a_i),\quad f = \sigma(a_f),\quad o = \sigma(a_o),\quad g = \tanh(a_g),
\qquad a = x_t W_x + h_{t-1} W_h + b,$$

and then

$$c_t = f \odot c_{t-1} + i \odot g, \qquad h_t = o \odot \tanh(c_t).$$

The sigmoids are *switches* between 0 and 1: the **forget gate** $f$ decides how much of the old
memory to keep, the **input gate** $i$ how much of the candidate $g$ to write, the **output gate**
$o$ how much of the memory to show. The cell update is a weighted *sum*, not a squashing function of
a matrix product: that is the shortcut (like a ResNet's skip connection) through which information
and gradients travel.

**Gate order.** This kit packs the gates as i, f, o, g (as CS231n does). PyTorch's `nn.LSTM` stores
`weight_ih (4H, D)` with the blocks in the order i, f, **g, o**: to load PyTorch's weights you
transpose and swap the last two blocks, and add its two biases (see `lstm_step_forward`'s docstring).
Mixing the orders up gives a network that runs without error and computes the wrong thing.

**Q1.** Implement `lstm_step_forward` and `lstm_step_backward`. The cell state reaches the loss in two
ways (directly through $c_t \to c_{t+1}$ and through $h_t = o \odot \tanh(c_t)$): add both.
"""),

    code(r"""
N, D, H = 3, 4, 5
x, prev_h, prev_c = np.random.randn(N, D), np.random.randn(N, H), np.random.randn(N, H)
Wx, Wh, b = np.random.randn(D, 4 * H) * 0.5, np.random.randn(H, 4 * H) * 0.5, np.random.randn(4 * H) * 0.5
next_h, next_c, cache = L.lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)
dnext_h, dnext_c = np.random.randn(N, H), np.random.randn(N, H)
dx, dprev_h, dprev_c, dWx, dWh, db = L.lstm_step_backward(dnext_h, dnext_c, cache)


def loss_of(args):  # sum(next_h * dnext_h) + sum(next_c * dnext_c), as a function of one argument
    h, c, _ = L.lstm_step_forward(*args)
    return np.concatenate([h, c], axis=1)


upstream = np.concatenate([dnext_h, dnext_c], axis=1)
inputs = [x, prev_h, prev_c, Wx, Wh, b]
for name, mine, index in [("dx", dx, 0), ("dprev_h", dprev_h, 1), ("dprev_c", dprev_c, 2), ("dWh", dWh, 4), ("db", db, 5)]:
    grad_check(name, mine, lambda v, i=index: loss_of([v if j == i else a for j, a in enumerate(inputs)]),
               inputs[index], upstream)
"""),

    md(r"""
## 2. An LSTM over a sequence

Unrolled, the LSTM is the same computation repeated with shared weights, starting from $h_0$ and a
zero cell state. Backpropagation through time now carries **two** gradients from step $t+1$ back to
step $t$: one for $h_t$ and one for $c_t$.

**Q2.** Implement `lstm_forward` and `lstm_backward` with your step functions.
"""),

    code(r"""
N, T, D, H = 2, 5, 3, 4
x, h0 = np.random.randn(N, T, D), np.random.randn(N, H)
Wx, Wh, b = np.random.randn(D, 4 * H) * 0.5, np.random.randn(H, 4 * H) * 0.5, np.random.randn(4 * H) * 0.5
h, cache = L.lstm_forward(x, h0, Wx, Wh, b)
dh = np.random.randn(*h.shape)
dx, dh0, dWx, dWh, db = L.lstm_backward(dh, cache)
print("h:", h.shape)
inputs = [x, h0, Wx, Wh, b]
for name, mine, index in [("dx", dx, 0), ("dh0", dh0, 1), ("dWh", dWh, 3), ("db", db, 4)]:
    grad_check(name, mine, lambda v, i=index: L.lstm_forward(*[v if j == i else a for j, a in enumerate(inputs)])[0],
               inputs[index], dh)
"""),

    md(r"""
## 3. The GRU cell

The GRU (2014) is a simplified LSTM: no separate cell state, and one **update gate** $z$ that both
keeps the old state and admits the new one. With PyTorch's definition, which this kit follows exactly,

$$r = \sigma(x W_{r} + b_{ir} + h U_{r} + b_{hr}),\qquad z = \sigma(x W_{z} + b_{iz} + h U_{z} + b_{hz}),$$
$$n = \tanh\big(x W_{n} + b_{in} + r \odot (h U_{n} + b_{hn})\big),\qquad h' = (1 - z) \odot n + z \odot h.$$

The **reset gate** $r$ decides how much of the previous state the candidate $n$ may look at. Where it
acts matters: PyTorch (and cuDNN) apply it *after* the matrix product, to $h U_n + b_{hn}$; the
original paper and some textbooks write $(r \odot h) U_n$ instead. Both are reasonable models, but
they are different models, and weights trained for one are wrong for the other. Because $r$
multiplies $b_{hn}$ and not $b_{in}$, the GRU needs two bias vectors, `bx` and `bh`.

The update $h' = (1 - z) \odot n + z \odot h$ is again a gated *sum*: with $z$ near 1 the state is
copied forward almost unchanged, and so is its gradient.

**Q3.** Implement `gru_step_forward` and `gru_step_backward`.
"""),

    code(r"""
N, D, H = 3, 4, 5
x, prev_h = np.random.randn(N, D), np.random.randn(N, H)
Wx, Wh = np.random.randn(D, 3 * H) * 0.5, np.random.randn(H, 3 * H) * 0.5
bx, bh = np.random.randn(3 * H) * 0.5, np.random.randn(3 * H) * 0.5
next_h, cache = L.gru_step_forward(x, prev_h, Wx, Wh, bx, bh)
dnext_h = np.random.randn(N, H)
grads = L.gru_step_backward(dnext_h, cache)
inputs = [x, prev_h, Wx, Wh, bx, bh]
for index, name in enumerate(["dx", "dprev_h", "dWx", "dWh", "dbx", "dbh"]):
    grad_check(name, grads[index],
               lambda v, i=index: L.gru_step_forward(*[v if j == i else a for j, a in enumerate(inputs)])[0],
               inputs[index], dnext_h)
"""),

    md(r"""
## 4. A batched GRU

**Q4.** Implement `gru_forward` and `gru_backward`. Every step processes the whole batch at once; the
only loop is over time. Below, a batch of $N$ sequences gives the same states as $N$ runs of one
sequence each.
"""),

    code(r"""
N, T, D, H = 4, 6, 3, 5
x, h0 = np.random.randn(N, T, D), np.random.randn(N, H)
Wx, Wh = np.random.randn(D, 3 * H) * 0.5, np.random.randn(H, 3 * H) * 0.5
bx, bh = np.random.randn(3 * H) * 0.5, np.random.randn(3 * H) * 0.5
h, cache = L.gru_forward(x, h0, Wx, Wh, bx, bh)
one_by_one = np.concatenate([L.gru_forward(x[n:n + 1], h0[n:n + 1], Wx, Wh, bx, bh)[0] for n in range(N)])
print("batch = one by one:", np.allclose(h, one_by_one))
dh = np.random.randn(*h.shape)
dx, dh0, dWx, dWh, dbx, dbh = L.gru_backward(dh, cache)
inputs = [x, h0, Wx, Wh, bx, bh]
for name, mine, index in [("dx", dx, 0), ("dh0", dh0, 1), ("dWh", dWh, 3), ("dbh", dbh, 5)]:
    grad_check(name, mine, lambda v, i=index: L.gru_forward(*[v if j == i else a for j, a in enumerate(inputs)])[0],
               inputs[index], dh)
"""),

    md(r"""
## 5. Why the cell path keeps gradients alive

For the Elman RNN the gradient reaching an early state is a product of one-step Jacobians,

$$\frac{\partial h_{T-1}}{\partial h_t} = \prod_{k=t+1}^{T-1} \operatorname{diag}(1 - h_k^2)\, W_h^\top,$$

and each factor has a matrix $W_h$ and a squashing derivative $\le 1$ in it: the product shrinks
geometrically whenever the spectral radius is below 1. The lecture's remedy: give the error signal a
path whose derivative is 1, an identity.

That is the LSTM's cell. Along the direct path $c_k = f_k \odot c_{k-1} + i_k \odot g_k$, one step
back multiplies by

$$\frac{\partial c_k}{\partial c_{k-1}}\Big|_{\text{direct}} = \operatorname{diag}(f_k),$$

with **no weight matrix and no tanh derivative**: if the forget gates are near 1, the product of
many of them stays near 1, and gradients flow back over long distances (Hochreiter and Schmidhuber's
"constant error carousel"). The network *learns* when to keep ($f \approx 1$) and when to forget
($f \approx 0$). This is also why LSTM forget-gate biases are commonly initialised to a positive
value such as 1: the memory starts out long.

**Q5.** Implement `lstm_cell_jacobian_norms`: the spectral norm of the *total* Jacobian
$\partial c_{T-1} / \partial c_t$, counting the direct path and the paths through $h_t$. Then run the
experiment: the Elman RNN at several spectral radii (from assignment 1) against the LSTM at several
forget-gate biases, on the same inputs.
"""),

    code(r'''
def elman_jacobian_norms(x, h0, Wx, Wh, b):
    """Assignment 1's hidden_state_jacobian_norms: ||d h_{T-1} / d h_t||_2 for every t."""
    hs, h = [], h0
    for t in range(x.shape[0]):
        h = np.tanh(x[t] @ Wx + h @ Wh + b)
        hs.append(h)
    norms, product = np.ones(len(hs)), np.eye(len(h0))
    for k in range(len(hs) - 1, 0, -1):
        product = product @ (np.diag(1.0 - hs[k] ** 2) @ Wh.T)
        norms[k - 1] = np.linalg.norm(product, 2)
    return norms


T, D, H = 60, 3, 8
x = np.random.randn(T, D)
steps_back = np.arange(T - 1, -1, -1)
fig, axes = plt.subplots(1, 2, figsize=(12, 4), sharey=True)

base = np.random.randn(H, H)
for rho in [0.5, 0.9, 1.0, 1.2]:
    Wh_elman = base * (rho / np.max(np.abs(np.linalg.eigvals(base))))
    norms = elman_jacobian_norms(x, np.zeros(H), np.random.randn(D, H) * 0.5, Wh_elman, np.zeros(H))
    axes[0].semilogy(steps_back, norms, label=f"spectral radius {rho}")
axes[0].set_title("Elman RNN: ||d h_{T-1} / d h_t||")

Wx = np.random.randn(D, 4 * H) * 0.3
Wh = np.random.randn(H, 4 * H) * 0.05
for forget_bias in [-2.0, 0.0, 2.0, 5.0]:
    b = np.zeros(4 * H)
    b[H:2 * H] = forget_bias
    norms = L.lstm_cell_jacobian_norms(x, np.zeros(H), Wx, Wh, b)
    axes[1].semilogy(steps_back, norms, label=f"forget-gate bias {forget_bias:+.0f} (f about {1 / (1 + np.exp(-forget_bias)):.2f})")
axes[1].set_title("LSTM: ||d c_{T-1} / d c_t||")
for ax in axes:
    ax.set_xlabel("steps back in time (T-1-t)")
    ax.set_ylim(1e-12, 1e3)
    ax.legend(fontsize=8)
plt.show()
'''),

    md(r"""
What to see: on the left every curve with spectral radius below 1 falls in a straight line on the
log scale (geometric decay), and tanh saturation pulls down even the larger ones. On the right, with a
forget-gate bias of +5 ($f \approx 0.99$) the norm is still of order 1 sixty steps back; with bias 0
($f \approx 0.5$) it halves at every step, like a badly conditioned Elman RNN; with bias -2 the cell
forgets almost at once. The LSTM does not abolish vanishing gradients: it makes how far back they
reach something the network controls, through $f$.
"""),

    free_response("forget_gate", 3, r"""
(a) Why does the LSTM's direct cell path contribute exactly $\prod_k f_k$ (elementwise) to
$\partial c_{T-1} / \partial c_t$, and what would happen to it if the cell update were squashed,
$c_t = \tanh(f \odot c_{t-1} + i \odot g)$? (b) In the GRU, which gate plays the role of the forget
gate, and what is $\partial h_k / \partial h_{k-1}$ along its direct path?
"""),

    md(r"""
## 6. The same cells as PyTorch modules

From here on autograd computes the backward pass: you write only the forward computation, with
differentiable tensor operations, in `torch_rnn.py`. The modules follow PyTorch's conventions, not
the numpy part's: time-major `(T, N, D)` (unless `batch_first=True`), weights stored as
`(out_features, in_features)`, LSTM gates in the order **i, f, g, o**, two biases per layer.
Because the parameter names and shapes are PyTorch's, a `state_dict` moves between your modules
and `torch.nn.RNN/LSTM/GRU` in both directions, which is how the tests compare them.

Three ideas from the lecture become module options:

- **stacking** (`num_layers`): layer $k$ reads the hidden states of layer $k-1$ as its inputs;
- **bidirectional** RNNs: a second RNN reads the sequence backwards, and the two hidden states are
  concatenated at each step, so the output at step $t$ sees both the past and the future;
- **padded batches** (`lengths`): sequences of different lengths share one tensor; padded steps
  must give zero output and leave the state alone, so each sequence's final state is taken at
  its own last real step (and the backward direction starts at the last *real* step).

**Q6.** Implement `rnn_cell`, `lstm_cell`, `gru_cell`, `run_direction` and `RecurrentBase.forward`.
Below, your stacked bidirectional LSTM gets PyTorch's weights and must give PyTorch's answers.
"""),

    code(r"""
import torch
import torch_rnn  # your module
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

torch.manual_seed(0)
T, N, D, H = 7, 3, 4, 5
reference = torch.nn.LSTM(D, H, num_layers=2, bidirectional=True).double()
mine = torch_rnn.LSTM(D, H, num_layers=2, bidirectional=True).double()
mine.load_state_dict(reference.state_dict())            # the same names and shapes
print("parameters:", [name for name, _ in mine.named_parameters()][:4], "...")

x = torch.randn(T, N, D, dtype=torch.float64)
out, (h_n, c_n) = mine(x)
ref_out, (ref_h, ref_c) = reference(x)
print("output", tuple(out.shape), "max difference", (out - ref_out).abs().max().item())
print("h_n   ", tuple(h_n.shape), "max difference", (h_n - ref_h).abs().max().item())

lengths = torch.tensor([7, 5, 2])                        # a padded batch
out, (h_n, c_n) = mine(x, lengths=lengths)
packed_out, (ref_h, _) = reference(pack_padded_sequence(x, lengths, enforce_sorted=False))
ref_out, _ = pad_packed_sequence(packed_out, total_length=T)
print("padded batch: output difference", (out - ref_out).abs().max().item(),
      " final state difference", (h_n - ref_h).abs().max().item())
"""),

    md(r"""
A picture of the padded batch: the size of each step's output, per direction. Padded steps (the
hatched region) must be exactly zero in both directions.
"""),

    code(r"""
fig, axes = plt.subplots(1, 2, figsize=(11, 2.8), sharey=True)
for ax, part, title in [(axes[0], out[..., :H], "forward direction"), (axes[1], out[..., H:], "backward direction")]:
    picture = part.detach().norm(dim=2).T.numpy()        # (N, T): the size of h_t of sequence n
    shown = ax.imshow(picture, cmap="viridis", aspect="auto")
    for n, length in enumerate(lengths.tolist()):
        if length < T:
            ax.add_patch(plt.Rectangle((length - 0.5, n - 0.5), T - length, 1, fill=False, hatch="//",
                                       edgecolor="white", linewidth=0))
    ax.set_title(title)
    ax.set_xlabel("time step t")
    fig.colorbar(shown, ax=ax, label="||output||")
axes[0].set_yticks(range(N), [f"length {k}" for k in lengths.tolist()])
plt.show()
padded = [out[k:, n].abs().max().item() for n, k in enumerate(lengths.tolist()) if k < T]
print("largest output at a padded step:", max(padded))
"""),

    md(r"""
## 7. A fast LSTM layer

Your `torch_rnn.LSTM` is correct but slow: every step calls `lstm_cell`, which launches two matrix
products and about ten small elementwise operations, and its backward pass as many again. Each
launch has a fixed cost, and a small product uses a sliver of the machine. `FastLSTM` computes the
same function (one layer, one direction) in fewer, larger operations:

1. the input projection $x_t W_{ih}^\top + b$ does not depend on $h$: compute it for **all**
   $T$ steps in one $(TN \times D) \cdot (D \times 4H)$ product;
2. inside the loop over time, **one** product $h_{t-1} W_{hh}^\top$ for all four gates;
3. then only elementwise work on $(N, 4H)$ slices.

The loop over time cannot go away: $h_t$ needs $h_{t-1}$. That sequential dependency is the
fundamental cost of a recurrent network.

**Q7.** Implement `FastLSTM.forward`. It must agree with `torch.nn.LSTM`, values and gradients:
"""),

    code(r"""
T, N, D, H = 20, 4, 6, 8
reference = torch.nn.LSTM(D, H).double()
fast = torch_rnn.FastLSTM(D, H).double()
fast.load_state_dict(reference.state_dict())
x = torch.randn(T, N, D, dtype=torch.float64, requires_grad=True)
out, (h_n, c_n) = fast(x)
ref_out, (ref_h, ref_c) = reference(x)
print("output difference", (out - ref_out).abs().max().item(), " c_n difference", (c_n - ref_c).abs().max().item())
upstream = torch.randn_like(out)
mine_grads = torch.autograd.grad(out, [x, fast.weight_hh_l0], upstream)
ref_grads = torch.autograd.grad(ref_out, [x, reference.weight_hh_l0], upstream)
for name, a, b in zip(["dx", "dweight_hh"], mine_grads, ref_grads):
    print(f"{name} difference {(a - b).abs().max().item():.1e}")
"""),

    md(r"""
## 8. How fast?

A rough timing of one training step (forward and backward) on this machine, at the size the CPU
speed target uses: your `FastLSTM`, your per-step `torch_rnn.LSTM` (the naive loop), and
`torch.nn.LSTM` (PyTorch's C++ loop on a CPU; cuDNN's fused kernels on a GPU).

**Caveat.** This cell is a sketch, not the grade. Timings in a notebook are noisy: other programs,
the first call's allocations and the processor's clock all move them. When your work is graded,
the speed target (Q8) is timed properly: your layer in its own process and the baseline in another,
after warm-up, in interleaved rounds with the other side paused, medians taken, and your layer's
results checked against the baseline's. The target is a *ratio* to the baseline measured in the same
run (on a CPU, at most 4 times `torch.nn.LSTM`'s time), so a slow machine is not held against you.
On a GPU the target is against cuDNN, where per-step overhead weighs even more.
"""),

    code(r"""
import statistics
import time


def training_step_time(layer, x, rounds=3):
    # the median time of one forward and backward pass, after one warm-up pass
    def step():
        out, _ = layer(x)
        out.sum().backward()
    step()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


torch.manual_seed(0)
sizes = {"T=50, N=32, D=H=128 (the CPU speed target)": (50, 32, 128, 128),
         "T=100, N=4, D=H=32 (small: overhead dominates)": (100, 4, 32, 32)}
names = ["torch.nn.LSTM", "your FastLSTM", "your torch_rnn.LSTM (per-step loop)"]
timings = {}
for label, (T, N, D, H) in sizes.items():
    x = torch.randn(T, N, D)
    layers = [torch.nn.LSTM(D, H), torch_rnn.FastLSTM(D, H), torch_rnn.LSTM(D, H)]
    timings[label] = {name: training_step_time(layer, x) for name, layer in zip(names, layers)}
    print(label)
    for name, seconds in timings[label].items():
        print(f"  {name:38s} {seconds * 1000:7.1f} ms  ({seconds / timings[label]['torch.nn.LSTM']:.1f} x torch.nn.LSTM)")

fig, axes = plt.subplots(1, 2, figsize=(12, 2.8), sharey=True)
for ax, (label, row) in zip(axes, timings.items()):
    ax.barh(names, [row[name] * 1000 for name in names], color=["grey", "tab:green", "tab:red"])
    ax.set_title(label, fontsize=10)
    ax.set_xlabel("ms per training step (forward + backward)")
axes[0].invert_yaxis()
plt.show()
"""),

    free_response("fast_lstm", 2, r"""
`FastLSTM` does exactly the same arithmetic as the per-step loop, yet it is faster. Where does the
per-step loop spend the time that `FastLSTM` saves, and why is the difference larger at the small
size than at the large one? Which part of the computation can never be
batched across time steps, and why does that part matter even more on a GPU?
"""),

    md(r"""
**Also worth thinking about** (not graded): with a forget-gate bias of +5 the norms in section 5 can
rise a little above 1. Which paths through the cell add to the direct one?
"""),

]
