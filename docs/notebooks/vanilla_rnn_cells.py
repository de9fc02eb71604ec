"""The companion notebook of assignment vanilla_rnn: its cells, in order (see build.py)."""

from build import code, free_response, md

CELLS = [
    md(r"""
# Assignment 1: vanilla RNNs, backpropagation through time and gradient clipping

In this assignment you build a recurrent network from scratch in numpy, train it with
backpropagation through time (BPTT), and see for yourself why its gradients vanish or
explode, and what clipping does about it.

You write your code in `rnn_layers.py`; this notebook explains the ideas and runs
experiments on your functions. Check your work at any time with `rnnkit check` in this
folder (or `pytest tests -x`).

**Conventions.** Sequences are batch-major: `x` has shape `(N, T, D)`. A step computes
`x @ Wx + h @ Wh + b` with `Wx (D, H)`, `Wh (H, H)`, `b (H,)` (row vectors, as in CS231n).
PyTorch's `nn.RNN` stores the transposes: `weight_ih_l0 = Wx.T`, `weight_hh_l0 = Wh.T`.
"""),

    code(r"""
import matplotlib.pyplot as plt
import numpy as np
import rnn_layers as L  # your module

from autograder.checks import numeric_gradient, relative_error

np.random.seed(231)
%matplotlib inline
"""),

    md(r"""
## 1. Modelling sequences with shared parameters

A feed-forward network needs a separate weight for every input position. A recurrent
network reads the sequence one element at a time and carries a *memory*, its hidden
state, from step to step, reusing the same parameters at every step:

$$h_t = \tanh(x_t W_x + h_{t-1} W_h + b).$$

This is the **Elman network**: the hidden layer's previous value is copied back as an
input. Unrolled through time it is a deep feed-forward network whose layers all share
$W_x$, $W_h$ and $b$.

**Q1.** Implement `rnn_step_forward` and `rnn_step_backward`. Use the fact that
$\frac{d}{da}\tanh(a) = 1 - \tanh(a)^2$, so the backward pass needs only the step's output.
"""),

    code(r"""
N, D, H = 3, 5, 4
x, prev_h = np.random.randn(N, D), np.random.randn(N, H)
Wx, Wh, b = np.random.randn(D, H) * 0.5, np.random.randn(H, H) * 0.5, np.random.randn(H) * 0.5
next_h, cache = L.rnn_step_forward(x, prev_h, Wx, Wh, b)
dnext_h = np.random.randn(*next_h.shape)
dx, dprev_h, dWx, dWh, db = L.rnn_step_backward(dnext_h, cache)

# Gradient check: compare with centred differences of your own forward pass.
checks = {
    "dx": (dx, numeric_gradient(lambda v: L.rnn_step_forward(v, prev_h, Wx, Wh, b)[0], x, dnext_h)),
    "dprev_h": (dprev_h, numeric_gradient(lambda v: L.rnn_step_forward(x, v, Wx, Wh, b)[0], prev_h, dnext_h)),
    "dWh": (dWh, numeric_gradient(lambda v: L.rnn_step_forward(x, prev_h, Wx, v, b)[0], Wh, dnext_h)),
}
for name, (mine, numeric) in checks.items():
    print(f"{name}: relative error {relative_error(mine, numeric):.1e}  (expect below 1e-8)")
"""),

    md(r"""
## 2. Backpropagation through time

Unrolling gives a computation graph over all $T$ steps. The loss usually depends on
every hidden state, so the gradient reaching $h_t$ has two sources: the loss at step
$t$ (the upstream `dh[:, t]`) and step $t+1$, through $h_{t+1} = \tanh(\dots + h_t W_h)$.
BPTT walks backwards in time, adding the two, and because $W_x$, $W_h$, $b$ are shared,
their gradients are **sums over time** of each step's contribution.

**Q2.** Implement `rnn_forward` and `rnn_backward` (use your step functions).
"""),

    code(r"""
N, T, D, H = 2, 6, 3, 4
x, h0 = np.random.randn(N, T, D), np.random.randn(N, H)
Wx, Wh, b = np.random.randn(D, H) * 0.5, np.random.randn(H, H) * 0.5, np.random.randn(H) * 0.5
h, cache = L.rnn_forward(x, h0, Wx, Wh, b)
dh = np.random.randn(*h.shape)
dx, dh0, dWx, dWh, db = L.rnn_backward(dh, cache)
print("h:", h.shape)
for name, mine, arg in [("dWh", dWh, 3), ("dh0", dh0, 1), ("dx", dx, 0)]:
    def f(v, arg=arg):
        args = [x, h0, Wx, Wh, b]
        args[arg] = v
        return L.rnn_forward(*args)[0]
    print(f"{name}: relative error {relative_error(mine, numeric_gradient(f, [x, h0, Wx, Wh, b][arg], dh)):.1e}")
"""),

    md(r"""
## 3. Jordan networks

A **Jordan network** copies back the *output layer* instead of the hidden layer:

$$h_t = \tanh(x_t W_x + y_{t-1} W_r + b), \qquad y_t = h_t W_y + b_y.$$

Its memory is only what it chose to emit, so it is a weaker memory than an Elman
network's hidden state whenever the output is smaller than the hidden layer.

**Q3.** Implement `jordan_step_forward`, then run it for a few steps below.
"""),

    code(r"""
N, D, H, O = 1, 2, 8, 1
Wx, Wr, b = np.random.randn(D, H), np.random.randn(O, H), np.zeros(H)
Wy, by = np.random.randn(H, O) * 0.3, np.zeros(O)
y = np.zeros((N, O))
for t in range(5):
    h, y = L.jordan_step_forward(np.random.randn(N, D), y, Wx, Wr, b, Wy, by)
    print(t, y.ravel())
"""),

    md(r"""
## 4. The training objective

A language model predicts each next element. Maximum likelihood training minimises the
negative log-likelihood of the data, which for a softmax over $V$ classes at each step is
the cross-entropy, summed over time and averaged over the batch. Real batches hold
sequences of different lengths, padded to the longest: a **mask** says which steps count.

**Q4.** Implement `temporal_softmax_loss`. With tiny scores every class is equally likely,
so the loss should be about $T \log V$:
"""),

    code(r"""
N, T, V = 100, 5, 10
loss, _ = L.temporal_softmax_loss(0.001 * np.random.randn(N, T, V), np.random.randint(V, size=(N, T)),
                                  np.ones((N, T), bool))
print(f"loss {loss:.3f}, expected about {T * np.log(V):.3f}")
"""),

    md(r"""
## 5. Exploding gradients and clipping

When gradients explode, one step of gradient descent can throw the parameters far away.
The simple remedy from the lecture:

> if $\|g\| > \theta_0$: $g \leftarrow \frac{\theta_0}{\|g\|} g$, else do nothing.

Here $g$ is *all* the gradients together: rescaling each array separately would change
the direction of the update. Clipping each entry to $[-c, c]$ (`clip_grad_value`) is
cruder: it changes the direction too.

**Q5.** Implement `clip_grad_norm` and `clip_grad_value`. Read the docstring for the edge
cases (a zero norm, an infinite norm).
"""),

    code(r"""
grads = {"W": np.array([[3.0, 4.0]]), "b": np.array([12.0])}   # global norm 13
clipped, norm = L.clip_grad_norm(grads, 1.0)
print("norm before:", norm)
print("after:", {k: v.round(4) for k, v in clipped.items()})
print("by value:", L.clip_grad_value(grads, 1.0))
"""),

    md(r"""
The same in a picture: gradients of two parameters, each clipped both ways with a threshold of 1.
Clipping by norm shrinks a long arrow onto the circle of radius 1 and keeps its direction; clipping by
value pushes it into the square, and a long arrow's direction turns towards a diagonal.
"""),

    code(r"""
fig, ax = plt.subplots(figsize=(5, 5))
ax.add_patch(plt.Circle((0, 0), 1.0, fill=False, linestyle=":", color="tab:blue"))
ax.add_patch(plt.Rectangle((-1, -1), 2, 2, fill=False, linestyle=":", color="tab:red"))
for g in [np.array([3.0, 0.5]), np.array([-0.8, 2.5]), np.array([0.4, -0.3]), np.array([-2.0, -2.2])]:
    by_norm = L.clip_grad_norm({"g": g}, 1.0)[0]["g"]
    by_value = L.clip_grad_value({"g": g}, 1.0)["g"]
    for vector, colour in [(g, "grey"), (by_norm, "tab:blue"), (by_value, "tab:red")]:
        ax.annotate("", xy=vector, xytext=(0, 0), arrowprops={"arrowstyle": "->", "color": colour, "lw": 1.5})
ax.plot([], [], color="grey", label="gradient")
ax.plot([], [], color="tab:blue", label="clip_grad_norm (max_norm 1)")
ax.plot([], [], color="tab:red", label="clip_grad_value (clip 1)")
ax.set_xlim(-3.2, 3.2); ax.set_ylim(-3.2, 3.2); ax.set_aspect("equal"); ax.legend(loc="lower right", fontsize=8)
plt.show()
"""),

    md(r"""
## 6. Truncated BPTT

Backpropagating through a whole book is too expensive. **Truncated BPTT** cuts the long
sequence into chunks of `chunk_length` steps. The hidden state is carried from one chunk
to the next (the model still *sees* the past), but gradients stop at the chunk boundary
(the model cannot *learn* dependencies longer than a chunk).

**Q6.** Implement `tbptt_step` and `tbptt_train`, then train a tiny character model on
a repetitive text. The loss should fall well below its starting value $\log V$ per step.
"""),

    code(r"""
text = "hello recurrent world. " * 40
chars = sorted(set(text))
V, H = len(chars), 32
ids = np.array([chars.index(c) for c in text])
x = np.eye(V)[ids[:-1]][None]          # one-hot inputs, shape (1, T, V)
y = ids[1:][None]                      # next characters, shape (1, T)
params = {"Wx": np.random.randn(V, H) * 0.1, "Wh": np.random.randn(H, H) * 0.1, "b": np.zeros(H),
          "Wy": np.random.randn(H, V) * 0.1, "by": np.zeros(V)}
h = np.zeros((1, H))
history = []
for epoch in range(30):
    losses, params, h = L.tbptt_train(params, x, y, np.zeros((1, H)), chunk_length=25,
                                      learning_rate=0.05, max_norm=5.0)
    history.append(losses.mean() / 25)
plt.plot(history)
plt.xlabel("epoch"); plt.ylabel("loss per character"); plt.title("Truncated BPTT on a toy text")
plt.show()
"""),

    md(r"""
## 7. Why gradients vanish or explode

By the chain rule the gradient reaching an early state is a product of Jacobians:

$$\frac{\partial h_{T-1}}{\partial h_t} = \prod_{k=t+1}^{T-1} \frac{\partial h_k}{\partial h_{k-1}},
\qquad \frac{\partial h_k}{\partial h_{k-1}} = \operatorname{diag}(1 - h_k^2)\, W_h^\top .$$

If the spectral radius $\rho$ of these Jacobians stays below 1 the product shrinks
geometrically (vanishing gradients: long-range dependencies cannot be learned); above 1 it
can grow geometrically (exploding gradients). Since $|\tanh'| \le 1$, the spectral radius
of $W_h$ is what decides.

**Q7.** Implement `hidden_state_jacobian_norms`, then run the experiment: the same network
with $W_h$ rescaled to several spectral radii, with zero inputs (so $\tanh' = 1$) and with
random inputs (where saturation shrinks the gradients further).
"""),

    code(r"""
T, D, H = 40, 4, 16
base = np.random.randn(H, H)
Wx = np.random.randn(D, H)
radius = np.max(np.abs(np.linalg.eigvals(base)))
fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
for ax, (title, x) in zip(axes, [("zero inputs", np.zeros((T, D))), ("random inputs", np.random.randn(T, D))]):
    for rho in [0.5, 0.9, 1.0, 1.1, 1.5]:
        norms = L.hidden_state_jacobian_norms(x, np.zeros(H), Wx, base * (rho / radius), np.zeros(H))
        ax.semilogy(np.arange(T - 1, -1, -1), norms, label=f"spectral radius {rho}")
    ax.set_xlabel("steps back in time (T-1-t)"); ax.set_title(title)
axes[0].set_ylabel("||d h_{T-1} / d h_t||"); axes[0].legend()
plt.show()
"""),

    md(r"""
The Jacobian norms are what BPTT multiplies by; here is the gradient itself. Put a loss on the
**last** step only, $\mathcal{L} = \langle h_{T-1}, u \rangle$ for a random direction $u$, run your
`rnn_backward`, and look at how much of the gradient reaches each input $x_t$: the size of
$\partial \mathcal{L} / \partial x_t$ against how far back $x_t$ is. The right-hand panel applies your
`clip_grad_norm` to the same gradients, with a threshold of 1.
"""),

    code(r"""
T, N, D, H = 40, 8, 4, 16
x = np.random.randn(N, T, D)
Wx = np.random.randn(D, H) * 0.5
upstream = np.zeros((N, T, H))
upstream[:, -1] = np.random.randn(N, H)          # the loss sees only the last hidden state
fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
for rho in [0.5, 0.9, 1.0, 1.5]:
    h, cache = L.rnn_forward(x, np.zeros((N, H)), Wx, base * (rho / radius), np.zeros(H))
    dx = L.rnn_backward(upstream, cache)[0]
    clipped, total = L.clip_grad_norm({"dx": dx}, 1.0)
    for ax, grad in zip(axes, [dx, clipped["dx"]]):
        per_step = np.linalg.norm(grad, axis=(0, 2))   # the gradient's size at each time step
        ax.semilogy(np.arange(T - 1, -1, -1), per_step, label=f"spectral radius {rho} (norm {total:.1e})")
axes[0].set_title("||dL / dx_t|| from rnn_backward")
axes[1].set_title("the same after clip_grad_norm(max_norm=1)")
for ax in axes:
    ax.set_xlabel("steps back in time (T-1-t)")
axes[0].legend(fontsize=8)
plt.show()
"""),

    md(r"""
What to see: below a spectral radius of 1 the gradient that reaches distant inputs falls
geometrically, by many orders of magnitude over 40 steps. On the right every curve has kept its
shape: clipping divides the *whole* gradient by one number, so it tames the largest gradients (no
single update can throw the weights far away), but the share of the gradient that reaches step
$T-40$ compared with step $T-1$ is exactly what it was.
"""),

    free_response("clipping_vanishing", 3, r"""
Gradient clipping is the standard remedy for exploding gradients. Explain, with the two plots
above, why it does **not** help with vanishing gradients. What would a remedy for vanishing
gradients have to change? (Think of what multiplies the gradient at every step back in time.)
"""),

    free_response("spectral_radius", 2, r"""
In the Jacobian plot with **zero inputs**, the curve for spectral radius 1.0 stays roughly flat;
with **random inputs**, even the curves above 1 eventually fall. Explain both observations from
$\frac{\partial h_k}{\partial h_{k-1}} = \operatorname{diag}(1 - h_k^2)\, W_h^\top$.
"""),

    md(r"""
**Also worth thinking about** (not graded): truncated BPTT (Q6) cuts the gradient at chunk
boundaries on purpose. Which dependencies can a model trained with chunks of 25 steps still
*use* at test time, and which can it *learn*?
"""),

]
