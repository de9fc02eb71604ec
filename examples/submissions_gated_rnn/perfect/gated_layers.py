"""Assignment 2, numpy part: LSTM and GRU cells, forward and backward, and why gates help.

Conventions used throughout (the same as in assignment 1):

- Everything is numpy, float64. Functions, not classes.
- Batch-major sequences: ``x`` has shape ``(N, T, D)`` for N sequences of T steps
  with D features each; hidden states have shape ``(N, T, H)``.
- Row vectors: a step computes ``x @ Wx + h @ Wh + b``. The weights of all gates
  are packed side by side in one matrix, so one matrix product computes every
  gate's pre-activation at once:
  - LSTM: ``Wx (D, 4H)``, ``Wh (H, 4H)``, ``b (4H,)``, gates in the order
    i, f, o, g (input, forget, output, candidate), as in CS231n;
  - GRU: ``Wx (D, 3H)``, ``Wh (H, 3H)``, ``bx (3H,)``, ``bh (3H,)``, gates in
    PyTorch's order r, z, n (reset, update, candidate).
  How these map to PyTorch's ``nn.LSTM`` and ``nn.GRU`` is spelled out in
  ``lstm_step_forward`` and ``gru_step_forward``.
- A forward function returns ``(out, cache)``; the matching backward function takes
  the upstream gradient(s) and that cache and returns the gradients of the forward
  function's inputs, in the same order as the forward function's arguments.
- Never modify an input array in place: callers keep using them.
"""

import numpy as np


# ---------------------------------------------------------------------------
# Provided: a numerically stable sigmoid (nothing to implement)


def sigmoid(a):
    """The logistic function 1 / (1 + exp(-a)), elementwise, without overflow.

    exp(-a) overflows for a below about -709, so for negative entries this uses
    the equivalent form exp(a) / (1 + exp(a)). Its derivative is s * (1 - s)
    where s = sigmoid(a).
    """
    a = np.asarray(a, dtype=np.float64)
    out = np.empty_like(a)
    positive = a >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-a[positive]))
    e = np.exp(a[~positive])
    out[~positive] = e / (1.0 + e)
    return out


# ---------------------------------------------------------------------------
# Q1. One LSTM step


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """Run one time step of an LSTM.

    With a = x @ Wx + prev_h @ Wh + b, of shape (N, 4H), split into four blocks of
    H columns in the order i, f, o, g:

        i = sigmoid(a[:, 0:H])        input gate
        f = sigmoid(a[:, H:2H])       forget gate
        o = sigmoid(a[:, 2H:3H])      output gate
        g = tanh(a[:, 3H:4H])         candidate cell values
        next_c = f * prev_c + i * g   (elementwise products)
        next_h = o * tanh(next_c)

    Relation to PyTorch's nn.LSTM / nn.LSTMCell: PyTorch stores weight_ih of shape
    (4H, D) and weight_hh of shape (4H, H), with row blocks in the order i, f, g, o
    (the candidate before the output gate), and two biases bias_ih, bias_hh of
    shape (4H,) in that order too. To get this function's parameters, transpose
    and move the last two blocks:

        Wx = concat(weight_ih[0:H], weight_ih[H:2H], weight_ih[3H:4H], weight_ih[2H:3H]).T
        Wh = the same with weight_hh
        b  = (bias_ih + bias_hh), its blocks reordered the same way

    (only the sum of PyTorch's two biases matters, since both are added to the
    same pre-activation).

    Inputs:
    - x: input at this step, shape (N, D)
    - prev_h: hidden state from the previous step, shape (N, H)
    - prev_c: cell state from the previous step, shape (N, H)
    - Wx: input-to-hidden weights, shape (D, 4H)
    - Wh: hidden-to-hidden weights, shape (H, 4H)
    - b: biases, shape (4H,)

    Returns a tuple of:
    - next_h: the new hidden state, shape (N, H)
    - next_c: the new cell state, shape (N, H)
    - cache: whatever your lstm_step_backward needs (it is never inspected)
    """
    next_h, next_c, cache = None, None, None
    # Hint: one matrix product for all four gates, then slice. Use the provided
    # sigmoid; keep the gate values for the backward pass.
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i = sigmoid(a[:, 0:H])
    f = sigmoid(a[:, H:2 * H])
    o = sigmoid(a[:, 2 * H:3 * H])
    g = np.tanh(a[:, 3 * H:4 * H])
    next_c = f * prev_c + i * g
    tanh_c = np.tanh(next_c)
    next_h = o * tanh_c
    cache = (x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c)
    return next_h, next_c, cache


def lstm_step_backward(dnext_h, dnext_c, cache):
    """Backward pass of one LSTM step.

    The step's outputs are next_h and next_c, and both can receive gradient: next_h
    from the loss and the layer above, next_c from the next time step.

    Inputs:
    - dnext_h: gradient of the loss with respect to next_h, shape (N, H)
    - dnext_c: gradient of the loss with respect to next_c, shape (N, H)
    - cache: the cache returned by lstm_step_forward

    Returns a tuple of:
    - dx: gradient with respect to x, shape (N, D)
    - dprev_h: gradient with respect to prev_h, shape (N, H)
    - dprev_c: gradient with respect to prev_c, shape (N, H)
    - dWx: gradient with respect to Wx, shape (D, 4H)
    - dWh: gradient with respect to Wh, shape (H, 4H)
    - db: gradient with respect to b, shape (4H,)
    """
    dx, dprev_h, dprev_c, dWx, dWh, db = None, None, None, None, None, None
    # Hint: next_c reaches the loss in two ways (directly, and through
    # next_h = o * tanh(next_c)); add both before going further back. Then go
    # through each gate's nonlinearity and pack the four pre-activation
    # gradients in the same order as the forward pass.
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c = cache
    dc = dnext_c + dnext_h * o * (1.0 - tanh_c**2)
    dprev_c = dc * f
    dai = dc * g * i * (1.0 - i)
    daf = dc * prev_c * f * (1.0 - f)
    dao = dnext_h * tanh_c * o * (1.0 - o)
    dag = dc * i * (1.0 - g**2)
    da = np.concatenate([dai, daf, dao, dag], axis=1)
    dx = da @ Wx.T
    dprev_h = da @ Wh.T
    dWx = x.T @ da
    dWh = prev_h.T @ da
    db = da.sum(axis=0)
    return dx, dprev_h, dprev_c, dWx, dWh, db


# ---------------------------------------------------------------------------
# Q2. An LSTM over a whole sequence


def lstm_forward(x, h0, Wx, Wh, b):
    """Run an LSTM over a whole sequence.

    The initial cell state is zero; the initial hidden state h0 is given. The
    same weights are used at every step.

    Inputs:
    - x: input sequence, shape (N, T, D)
    - h0: initial hidden state, shape (N, H)
    - Wx: input-to-hidden weights, shape (D, 4H), gates i, f, o, g
    - Wh: hidden-to-hidden weights, shape (H, 4H)
    - b: biases, shape (4H,)

    Returns a tuple of:
    - h: hidden states for every step, shape (N, T, H); h[:, t] is the state
      after reading x[:, t]. h0 is not included, and the cell states are not
      returned.
    - cache: whatever your lstm_backward needs
    """
    h, cache = None, None
    # Hint: call lstm_step_forward once per step, carrying both h and c.
    N, T, _ = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H))
    prev_h, prev_c = h0, np.zeros((N, H))
    step_caches = []
    for t in range(T):
        prev_h, prev_c, step_cache = lstm_step_forward(x[:, t], prev_h, prev_c, Wx, Wh, b)
        h[:, t] = prev_h
        step_caches.append(step_cache)
    cache = step_caches
    return h, cache


def lstm_backward(dh, cache):
    """Backpropagation through time for an LSTM.

    Inputs:
    - dh: upstream gradient of every hidden state, shape (N, T, H). (The cell
      states are internal: no gradient comes to them from outside.)
    - cache: the cache returned by lstm_forward

    Returns a tuple of:
    - dx: gradient with respect to x, shape (N, T, D)
    - dh0: gradient with respect to h0, shape (N, H)
    - dWx: gradient with respect to Wx, shape (D, 4H)
    - dWh: gradient with respect to Wh, shape (H, 4H)
    - db: gradient with respect to b, shape (4H,)
    """
    dx, dh0, dWx, dWh, db = None, None, None, None, None
    # Hint: walk backwards in time as for the vanilla RNN, but carry two
    # gradients from step t+1 to step t: one for h_t and one for c_t.
    N, T, H = dh.shape
    D = cache[0][0].shape[1]
    dx = np.zeros((N, T, D))
    dWx = np.zeros((D, 4 * H))
    dWh = np.zeros((H, 4 * H))
    db = np.zeros(4 * H)
    dprev_h = np.zeros((N, H))
    dprev_c = np.zeros((N, H))
    for t in reversed(range(T)):
        dx_t, dprev_h, dprev_c, dWx_t, dWh_t, db_t = lstm_step_backward(dh[:, t] + dprev_h, dprev_c, cache[t])
        dx[:, t] = dx_t
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    dh0 = dprev_h
    return dx, dh0, dWx, dWh, db


# ---------------------------------------------------------------------------
# Q3. One GRU step


def gru_step_forward(x, prev_h, Wx, Wh, bx, bh):
    """Run one time step of a GRU, exactly as PyTorch's nn.GRU defines it.

    With ax = x @ Wx + bx and ah = prev_h @ Wh + bh, both of shape (N, 3H) and
    split into blocks of H columns in the order r, z, n:

        r = sigmoid(ax[:, 0:H] + ah[:, 0:H])                  reset gate
        z = sigmoid(ax[:, H:2H] + ah[:, H:2H])                update gate
        n = tanh(ax[:, 2H:3H] + r * ah[:, 2H:3H])             candidate state
        next_h = (1 - z) * n + z * prev_h

    Note where the reset gate acts: it multiplies prev_h @ Wh_n + bh_n, the
    hidden-to-hidden part of the candidate *after* the matrix product and its
    bias (some textbooks write r * prev_h before the product instead: that is a
    different model). That is why there are two bias vectors: the input biases
    bx are added outside the reset gate, the hidden biases bh (for n) inside it,
    so the two cannot be merged into one. (For r and z they could, since there
    both are simply added.)

    Relation to PyTorch's nn.GRU / nn.GRUCell: the same gate order r, z, n, so
    Wx = weight_ih.T (weight_ih has shape (3H, D)), Wh = weight_hh.T
    (weight_hh has shape (3H, H)), bx = bias_ih, bh = bias_hh.

    Inputs:
    - x: input at this step, shape (N, D)
    - prev_h: hidden state from the previous step, shape (N, H)
    - Wx: input-to-hidden weights, shape (D, 3H)
    - Wh: hidden-to-hidden weights, shape (H, 3H)
    - bx: input biases, shape (3H,)
    - bh: hidden biases, shape (3H,)

    Returns a tuple of:
    - next_h: the new hidden state, shape (N, H)
    - cache: whatever your gru_step_backward needs (it is never inspected)
    """
    next_h, cache = None, None
    # Hint: two matrix products (one for x, one for prev_h) give every gate's
    # pieces; keep the hidden part of the candidate separate from the input part.
    H = prev_h.shape[1]
    ax = x @ Wx + bx
    ah = prev_h @ Wh + bh
    r = sigmoid(ax[:, 0:H] + ah[:, 0:H])
    z = sigmoid(ax[:, H:2 * H] + ah[:, H:2 * H])
    hn = ah[:, 2 * H:3 * H]
    n = np.tanh(ax[:, 2 * H:3 * H] + r * hn)
    next_h = (1.0 - z) * n + z * prev_h
    cache = (x, prev_h, Wx, Wh, r, z, n, hn)
    return next_h, cache


def gru_step_backward(dnext_h, cache):
    """Backward pass of one GRU step.

    Inputs:
    - dnext_h: gradient of the loss with respect to next_h, shape (N, H)
    - cache: the cache returned by gru_step_forward

    Returns a tuple of:
    - dx: gradient with respect to x, shape (N, D)
    - dprev_h: gradient with respect to prev_h, shape (N, H)
    - dWx: gradient with respect to Wx, shape (D, 3H)
    - dWh: gradient with respect to Wh, shape (H, 3H)
    - dbx: gradient with respect to bx, shape (3H,)
    - dbh: gradient with respect to bh, shape (3H,)
    """
    dx, dprev_h, dWx, dWh, dbx, dbh = None, None, None, None, None, None
    # Hint: prev_h reaches next_h directly (through z * prev_h) as well as
    # through the three gates. The gradients of ax and ah agree in the r and z
    # blocks but not in the n block.
    x, prev_h, Wx, Wh, r, z, n, hn = cache
    dn = dnext_h * (1.0 - z)
    dz = dnext_h * (prev_h - n)
    dan = dn * (1.0 - n**2)
    dar = dan * hn * r * (1.0 - r)
    daz = dz * z * (1.0 - z)
    dax = np.concatenate([dar, daz, dan], axis=1)
    dah = np.concatenate([dar, daz, dan * r], axis=1)
    dx = dax @ Wx.T
    dWx = x.T @ dax
    dbx = dax.sum(axis=0)
    dprev_h = dnext_h * z + dah @ Wh.T
    dWh = prev_h.T @ dah
    dbh = dah.sum(axis=0)
    return dx, dprev_h, dWx, dWh, dbx, dbh


# ---------------------------------------------------------------------------
# Q4. A batched GRU over a whole sequence


def gru_forward(x, h0, Wx, Wh, bx, bh):
    """Run a GRU over a whole sequence, for a whole batch at once.

    Inputs:
    - x: input sequence, shape (N, T, D)
    - h0: initial hidden state, shape (N, H)
    - Wx: input-to-hidden weights, shape (D, 3H), gates r, z, n
    - Wh: hidden-to-hidden weights, shape (H, 3H)
    - bx: input biases, shape (3H,)
    - bh: hidden biases, shape (3H,)

    Returns a tuple of:
    - h: hidden states for every step, shape (N, T, H); h[:, t] is the state
      after reading x[:, t]. h0 is not included.
    - cache: whatever your gru_backward needs
    """
    h, cache = None, None
    # Hint: the loop is over time only; every step handles all N sequences
    # with one call to gru_step_forward.
    N, T, _ = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H))
    prev_h = h0
    step_caches = []
    for t in range(T):
        prev_h, step_cache = gru_step_forward(x[:, t], prev_h, Wx, Wh, bx, bh)
        h[:, t] = prev_h
        step_caches.append(step_cache)
    cache = step_caches
    return h, cache


def gru_backward(dh, cache):
    """Backpropagation through time for a GRU.

    Inputs:
    - dh: upstream gradient of every hidden state, shape (N, T, H)
    - cache: the cache returned by gru_forward

    Returns a tuple of:
    - dx: gradient with respect to x, shape (N, T, D)
    - dh0: gradient with respect to h0, shape (N, H)
    - dWx: gradient with respect to Wx, shape (D, 3H)
    - dWh: gradient with respect to Wh, shape (H, 3H)
    - dbx: gradient with respect to bx, shape (3H,)
    - dbh: gradient with respect to bh, shape (3H,)
    """
    dx, dh0, dWx, dWh, dbx, dbh = None, None, None, None, None, None
    # Hint: the same walk backwards in time as for the vanilla RNN.
    N, T, H = dh.shape
    D = cache[0][0].shape[1]
    dx = np.zeros((N, T, D))
    dWx = np.zeros((D, 3 * H))
    dWh = np.zeros((H, 3 * H))
    dbx = np.zeros(3 * H)
    dbh = np.zeros(3 * H)
    dprev_h = np.zeros((N, H))
    for t in reversed(range(T)):
        dx_t, dprev_h, dWx_t, dWh_t, dbx_t, dbh_t = gru_step_backward(dh[:, t] + dprev_h, cache[t])
        dx[:, t] = dx_t
        dWx += dWx_t
        dWh += dWh_t
        dbx += dbx_t
        dbh += dbh_t
    dh0 = dprev_h
    return dx, dh0, dWx, dWh, dbx, dbh


# ---------------------------------------------------------------------------
# Q5. Why the LSTM's cell keeps gradients alive


def lstm_cell_jacobian_norms(x, h0, Wx, Wh, b):
    """How strongly the last cell state depends on each earlier one.

    Run the LSTM over one sequence (no batch) from h0 and a zero initial cell
    state, giving cell states c_0, ..., c_{T-1} (c_t is the cell state after
    reading x_t). Return, for every t, the spectral norm (largest singular value)
    of the Jacobian d c_{T-1} / d c_t, entry [i, j] = d c_{T-1}[i] / d c_t[j].

    This is the *total* derivative: a change in c_t reaches c_{T-1} along every
    path, the direct one through the cells (c_{t+1} = f_{t+1} * c_t + ...) and the
    ones through h_t = o_t * tanh(c_t), which every later gate reads. For
    t = T-1 it is the identity, whose norm is 1.

    Compare assignment 1's hidden_state_jacobian_norms: there every step back
    multiplies by diag(1 - h_k ** 2) @ Wh.T, and the product vanishes when Wh's
    spectral radius is below 1. Here the direct path multiplies only by
    diag(f_k), with no weight matrix and no squashing derivative: when the forget
    gates are near 1, the norms stay near 1 however far back t is.

    Inputs:
    - x: one input sequence, shape (T, D)
    - h0: initial hidden state, shape (H,)
    - Wx: shape (D, 4H); Wh: shape (H, 4H); b: shape (4H,); gates i, f, o, g

    Returns:
    - norms: array of shape (T,); norms[t] = ||d c_{T-1} / d c_t||_2
    """
    norms = None
    # Hint: a Jacobian's rows are gradients. Row j of d c_{T-1} / d c_t is what
    # backpropagation delivers to c_t when the upstream gradient is the unit
    # vector e_j on c_{T-1} (and zero on h_{T-1}): your lstm_step_backward can
    # carry all H rows at once as a batch, if the forward pass ran on H copies
    # of the sequence. Mind both paths into c_t when you read the result off.
    # np.linalg.norm(M, 2) is the spectral norm of a matrix M.
    T = x.shape[0]
    H = h0.shape[0]
    prev_h, prev_c = np.tile(h0, (H, 1)), np.zeros((H, H))
    caches = []
    for t in range(T):
        prev_h, prev_c, step_cache = lstm_step_forward(np.tile(x[t], (H, 1)), prev_h, prev_c, Wx, Wh, b)
        caches.append(step_cache)
    norms = np.zeros(T)
    norms[T - 1] = 1.0
    dh, dc = np.zeros((H, H)), np.eye(H)
    for k in range(T - 1, 0, -1):
        _, dh, dc, _, _, _ = lstm_step_backward(dh, dc, caches[k])
        o, tanh_c = caches[k - 1][7], caches[k - 1][9]
        total = dc + dh * o * (1.0 - tanh_c**2)
        norms[k - 1] = np.linalg.norm(total, 2)
    return norms
