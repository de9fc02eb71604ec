"""Assignment 2, part 2: recurrent layers in PyTorch.

You build PyTorch modules that behave exactly like ``torch.nn.RNN``, ``torch.nn.LSTM``
and ``torch.nn.GRU``: the same constructor arguments, the same parameter names and
shapes (so a ``state_dict`` saved from one loads into the other, both ways), the
same inputs and outputs. Autograd does the backward pass for you: write only the
forward computation with differentiable tensor operations.

Conventions (PyTorch's, not the numpy part's):

- Time-major sequences: ``input`` has shape ``(T, N, D)`` (T steps, N sequences, D
  features). With ``batch_first=True`` it is ``(N, T, D)`` instead; only the layout
  of ``input`` and ``output`` changes, never that of the states.
- Weights multiply from the left and are stored as ``(out_features, in_features)``:
  one step computes ``x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh``.
  The numpy part's ``Wx (D, 4H)`` is ``weight_ih.T``, and its single bias ``b`` is
  ``bias_ih + bias_hh`` (PyTorch keeps two biases; only their sum matters, except
  for the GRU's candidate, see ``gru_cell``).
- Gates are stacked along the first axis of the weights, ``G`` blocks of ``H`` rows:
  RNN G = 1; LSTM G = 4 in the order **i, f, g, o** (input gate, forget gate,
  candidate, output gate; the numpy part used i, f, o, g); GRU G = 3 in the order
  **r, z, n** (reset gate, update gate, candidate).
- States have shape ``(num_layers * num_directions, N, H)``, ordered layer 0
  forward, layer 0 backward, layer 1 forward, ... An LSTM's state is the pair
  ``(h, c)`` of two such tensors.
- Everything works in float32 and float64, and on whatever device the module's
  parameters and the inputs are on (CPU or CUDA): create new tensors with the
  input's ``dtype`` and ``device`` (``x.new_zeros(...)`` does both).

You may not use PyTorch's own recurrent layers or kernels (``nn.RNN``, ``nn.LSTM``,
``nn.GRU``, the ``*Cell`` modules, ``torch._VF``, ``torch.lstm`` and friends).
``torch.nn.utils.rnn.PackedSequence`` and its packing functions are fine.
"""

import math

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence


# ---------------------------------------------------------------------------
# Q6a. One step of each cell


def rnn_cell(x, h, weight_ih, weight_hh, bias_ih=None, bias_hh=None, nonlinearity="tanh"):
    """One step of an Elman RNN, as ``torch.nn.RNNCell`` computes it.

    h_new = act(x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh)

    Inputs:
    - x: input at this step, shape (N, D)
    - h: previous hidden state, shape (N, H)
    - weight_ih: shape (H, D); weight_hh: shape (H, H)
    - bias_ih, bias_hh: shape (H,) each, or both None (a layer built with bias=False)
    - nonlinearity: "tanh" or "relu"

    Returns h_new, shape (N, H).
    """
    # Hint: the assignment 1 step, with PyTorch's (out, in) weight layout.
    pre = x @ weight_ih.t() + h @ weight_hh.t()
    if bias_ih is not None:
        pre = pre + bias_ih + bias_hh
    return torch.tanh(pre) if nonlinearity == "tanh" else torch.relu(pre)


def lstm_cell(x, state, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """One step of an LSTM, as ``torch.nn.LSTMCell`` computes it.

    The four gates come from one product each for x and h, stacked in the order
    i, f, g, o (each block H wide):

        i = sigmoid(...)   input gate: how much of the candidate to write
        f = sigmoid(...)   forget gate: how much of the old cell to keep
        g = tanh(...)      candidate values
        o = sigmoid(...)   output gate: how much of the cell to show
        c_new = f * c + i * g
        h_new = o * tanh(c_new)

    where ``...`` is that gate's block of ``x @ weight_ih.T + bias_ih + h @ weight_hh.T
    + bias_hh``. PyTorch adds nothing else to the forget gate: any "forget bias" you
    want lives in the bias parameters themselves.

    Inputs:
    - x: input at this step, shape (N, D)
    - state: the pair (h, c) of the previous hidden and cell states, each (N, H)
    - weight_ih: shape (4H, D); weight_hh: shape (4H, H)
    - bias_ih, bias_hh: shape (4H,) each, or both None

    Returns the pair (h_new, c_new), each of shape (N, H).
    """
    # Hint: compute all four gates' pre-activations at once, then split them
    # (Tensor.chunk) in PyTorch's order.
    h, c = state
    gates = x @ weight_ih.t() + h @ weight_hh.t()
    if bias_ih is not None:
        gates = gates + bias_ih + bias_hh
    i, f, g, o = gates.chunk(4, dim=1)
    i = torch.sigmoid(i)
    f = torch.sigmoid(f)
    g = torch.tanh(g)
    o = torch.sigmoid(o)
    c_new = f * c + i * g
    h_new = o * torch.tanh(c_new)
    return h_new, c_new


def gru_cell(x, h, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """One step of a GRU, as ``torch.nn.GRUCell`` computes it.

    Gates stacked in the order r, z, n (each block H wide):

        r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)          reset gate
        z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)          update gate
        n = tanh(W_in x + b_in + r * (W_hn h + b_hn))       candidate
        h_new = (1 - z) * n + z * h

    Note where the reset gate acts: PyTorch (like cuDNN) multiplies it into the
    *result* ``W_hn h + b_hn``, not into h before the product as in Cho et al.'s
    original paper. The two are different functions; match PyTorch's.

    Inputs:
    - x: input at this step, shape (N, D)
    - h: previous hidden state, shape (N, H)
    - weight_ih: shape (3H, D); weight_hh: shape (3H, H)
    - bias_ih, bias_hh: shape (3H,) each, or both None

    Returns h_new, shape (N, H).
    """
    # Hint: keep the input part and the hidden part of the pre-activations separate
    # (the candidate needs the hidden part on its own), one product each.
    gi = x @ weight_ih.t()
    gh = h @ weight_hh.t()
    if bias_ih is not None:
        gi = gi + bias_ih
        gh = gh + bias_hh
    i_r, i_z, i_n = gi.chunk(3, dim=1)
    h_r, h_z, h_n = gh.chunk(3, dim=1)
    r = torch.sigmoid(i_r + h_r)
    z = torch.sigmoid(i_z + h_z)
    n = torch.tanh(i_n + r * h_n)
    return (1 - z) * n + z * h


# ---------------------------------------------------------------------------
# Q6b. One layer in one direction


def run_direction(step, x, state, weights, lengths=None, reverse=False):
    """Run one layer in one direction over a (padded) time-major batch.

    Inputs:
    - step: the cell, called as ``step(x_t, state, weights)`` with x_t of shape (N, D);
      it returns the new state. A state is always a tuple of (N, H) tensors: ``(h,)``
      for an RNN or GRU, ``(h, c)`` for an LSTM; ``state[0]`` is the hidden state h.
    - x: inputs, shape (T, N, D)
    - state: the initial state, a tuple of (N, H) tensors
    - weights: passed on to ``step`` unchanged
    - lengths: None (every sequence has all T steps), or a 1-D long tensor of shape
      (N,) on x's device: sequence n has ``lengths[n]`` real steps, and x[t, n] for
      t >= lengths[n] is padding, whose values must not affect anything.
    - reverse: False to read t = 0, 1, ..., T-1; True to read the sequence backwards.

    Returns a tuple of:
    - output: h at every step, shape (T, N, H), in the original time order (output[t]
      is the state after reading x[t], whichever the direction). It is exactly zero
      at padded steps.
    - final: the state after each sequence's last real step in this direction, a tuple
      like ``state``: for the forward direction the state after step lengths[n] - 1
      (not after step T - 1); for the reverse direction the state after step 0, where
      the reverse pass over sequence n starts at its last real step lengths[n] - 1
      from the initial state.
    """
    # Hint: a padded step must leave the state as it was and give zero output. You can
    # decide that for all N sequences at once with a mask built from t and lengths (no
    # loop over sequences). Read backwards, the padded steps come first: what does
    # that make the reverse direction start from?
    T = x.shape[0]
    steps = x.unbind(0)  # the T inputs x[t] (one backward for all of them, unlike x[t])
    outputs = [None] * T
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        new_state = step(steps[t], state, weights)
        if lengths is None:
            state = new_state
            outputs[t] = new_state[0]
        else:
            valid = (t < lengths).unsqueeze(1)  # (N, 1): is step t a real step of sequence n?
            state = tuple(torch.where(valid, new, old) for new, old in zip(new_state, state))
            outputs[t] = torch.where(valid, new_state[0], torch.zeros_like(new_state[0]))
    return torch.stack(outputs), state


# ---------------------------------------------------------------------------
# Q6c. Stacked, bidirectional modules


class RecurrentBase(nn.Module):
    """What RNN, LSTM and GRU share: parameters, input handling and stacking.

    Subclasses set ``GATES`` (blocks of H rows in each weight) and define
    ``step(x_t, state, weights)`` and how a user's ``hx`` maps to states.
    """

    GATES = 1
    STATES = 1  # tensors per state: 1 (h) or 2 (h, c)

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 bidirectional=False):
        super().__init__()
        if num_layers < 1:
            raise ValueError("num_layers must be at least 1")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.bidirectional = bidirectional
        self.num_directions = 2 if bidirectional else 1
        # The same names, shapes and registration order as torch.nn.RNN/LSTM/GRU, so
        # that state_dicts load both ways. Layer k > 0 reads the previous layer's
        # output, both directions concatenated: H * num_directions features.
        rows = self.GATES * hidden_size
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * self.num_directions
            for direction in range(self.num_directions):
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                self.register_parameter("weight_ih" + suffix, nn.Parameter(torch.empty(rows, layer_input)))
                self.register_parameter("weight_hh" + suffix, nn.Parameter(torch.empty(rows, hidden_size)))
                if bias:
                    self.register_parameter("bias_ih" + suffix, nn.Parameter(torch.empty(rows)))
                    self.register_parameter("bias_hh" + suffix, nn.Parameter(torch.empty(rows)))
        self.reset_parameters()

    def reset_parameters(self):
        """PyTorch's initialisation: every parameter uniform in (-1/sqrt(H), 1/sqrt(H))."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        with torch.no_grad():
            for weight in self.parameters():
                weight.uniform_(-bound, bound)

    def layer_weights(self, layer, direction):
        """(weight_ih, weight_hh, bias_ih, bias_hh) of one layer and direction (biases None
        without bias)."""
        suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
        return (getattr(self, "weight_ih" + suffix), getattr(self, "weight_hh" + suffix),
                getattr(self, "bias_ih" + suffix, None), getattr(self, "bias_hh" + suffix, None))

    def step(self, x, state, weights):
        raise NotImplementedError  # each subclass says which cell it runs

    # How a user's hx maps to a list of states (one per layer and direction) and back.
    def split_hx(self, hx):
        return [(h,) for h in hx.unbind(0)]

    def join_states(self, finals):
        return torch.stack([state[0] for state in finals])

    def forward(self, input, hx=None, lengths=None):
        """Run the stacked (and possibly bidirectional) network over a batch.

        Inputs:
        - input: shape (T, N, D), or (N, T, D) with batch_first; or a PackedSequence
          (from ``pack_padded_sequence``), whose lengths are then used.
        - hx: the initial state, shape (num_layers * num_directions, N, H) (for an
          LSTM the pair (h_0, c_0) of such tensors); zeros if None.
        - lengths: optional sequence lengths for a padded batch, a 1-D tensor or list
          of N integers in 1..T (not with a PackedSequence). Steps t >= lengths[n] of
          sequence n are padding: they give exactly zero output and do not affect the
          final state, which is taken at each sequence's last real step.

        Returns a tuple of:
        - output: the last layer's h at every step, both directions concatenated
          (forward first): shape (T, N, num_directions * H), or (N, T, ...) with
          batch_first; a PackedSequence if the input was one.
        - h_n: the final state of every layer and direction, shape (num_layers *
          num_directions, N, H) (for an LSTM the pair (h_n, c_n)). The reverse
          direction's final state is its state after reading step 0.
        """
        # Provided: bring every input form to a time-major padded tensor and lengths.
        packed = isinstance(input, PackedSequence)
        if packed:
            if lengths is not None:
                raise ValueError("give lengths or a PackedSequence, not both")
            sorted_indices = input.sorted_indices
            x, lengths = pad_packed_sequence(input)  # (T, N, D), lengths in the batch's own order
        else:
            x = input.transpose(0, 1) if self.batch_first else input
        if x.dim() != 3 or x.shape[2] != self.input_size:
            raise ValueError(f"expected input with {self.input_size} features per step in 3 dimensions; "
                             f"got shape {tuple(input.shape if not packed else x.shape)}")
        T, N, _ = x.shape
        if lengths is not None:
            lengths = torch.as_tensor(lengths, dtype=torch.long).to(x.device)
            if lengths.shape != (N,) or int(lengths.min()) < 1 or int(lengths.max()) > T:
                raise ValueError(f"lengths should be {N} integers in 1..{T}")
        count = self.num_layers * self.num_directions
        if hx is None:
            zeros = x.new_zeros(count, N, self.hidden_size)
            hx = zeros if self.STATES == 1 else (zeros, zeros)
        for tensor in (hx,) if self.STATES == 1 else hx:
            if tuple(tensor.shape) != (count, N, self.hidden_size):
                raise ValueError(f"the initial state should have shape {(count, N, self.hidden_size)}; "
                                 f"got {tuple(tensor.shape)}")
        states = self.split_hx(hx)  # states[layer * num_directions + direction]

        # Hint: each layer runs run_direction once per direction, both over the same
        # input sequence; the next layer's input is their outputs side by side.
        finals = []
        layer_input = x
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.num_directions):
                index = layer * self.num_directions + direction
                out, final = run_direction(self.step, layer_input, states[index],
                                           self.layer_weights(layer, direction), lengths,
                                           reverse=direction == 1)
                outputs.append(out)
                finals.append(final)
            layer_input = torch.cat(outputs, dim=2)
        output = layer_input

        # Provided: give the output back in the form the input came in.
        h_n = self.join_states(finals)
        if packed:
            lengths = lengths.cpu()
            # Repack in the input's own order of sequences, as PyTorch does.
            repacked = pack_padded_sequence(output.index_select(1, sorted_indices.to(output.device)),
                                            lengths[sorted_indices.cpu()], enforce_sorted=True)
            output = PackedSequence(repacked.data, repacked.batch_sizes, input.sorted_indices,
                                    input.unsorted_indices)
        elif self.batch_first:
            output = output.transpose(0, 1)
        return output, h_n


class RNN(RecurrentBase):
    """Like ``torch.nn.RNN``: an Elman network with a tanh or relu nonlinearity."""

    GATES = 1

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, bidirectional=False):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity should be 'tanh' or 'relu'; got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, bidirectional)

    def step(self, x, state, weights):
        return (rnn_cell(x, state[0], *weights, nonlinearity=self.nonlinearity),)


class LSTM(RecurrentBase):
    """Like ``torch.nn.LSTM`` (without projections): ``hx`` and ``h_n`` are pairs (h, c)."""

    GATES = 4
    STATES = 2

    def step(self, x, state, weights):
        return lstm_cell(x, state, *weights)

    def split_hx(self, hx):
        h0, c0 = hx
        return list(zip(h0.unbind(0), c0.unbind(0)))

    def join_states(self, finals):
        return (torch.stack([h for h, _ in finals]), torch.stack([c for _, c in finals]))


class GRU(RecurrentBase):
    """Like ``torch.nn.GRU``."""

    GATES = 3

    def step(self, x, state, weights):
        return (gru_cell(x, state[0], *weights),)


# ---------------------------------------------------------------------------
# Q7. A fast LSTM layer


class FastLSTM(nn.Module):
    """One LSTM layer (one direction, time-major), written for speed.

    Same parameters as ``torch.nn.LSTM(input_size, hidden_size)`` (num_layers=1):
    ``weight_ih_l0 (4H, D)``, ``weight_hh_l0 (4H, H)``, ``bias_ih_l0 (4H,)``,
    ``bias_hh_l0 (4H,)``, gates in the order i, f, g, o.

    Why the obvious version is slow: on a GPU (and, less so, on a CPU) each tensor
    operation launches a kernel with a fixed cost of a few microseconds, and a
    small product uses a sliver of the hardware. A loop that calls ``lstm_cell``
    does two products and ~10 small operations per step, and its backward pass as many
    again. The fast version does the same arithmetic in fewer, larger kernels:

    1. The input projection does not depend on h, so compute it for all T steps at
       once: one (T*N, D) @ (D, 4H) product, both biases folded in (``torch.addmm``).
    2. Inside the time loop, one fused product ``h @ weight_hh.T`` for all four
       gates (added to that step's slice of the projection, again ``addmm``).
    3. Then only elementwise work: a handful of kernels on (N, 4H) and (N, H).

    The loop over time stays in Python, since h_t needs h_{t-1}; nothing else loops.
    (PyTorch's ``nn.LSTM`` does the same on the CPU in C++; cuDNN fuses further.)
    """

    def __init__(self, input_size, hidden_size, bias=True):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih_l0 = nn.Parameter(torch.empty(4 * hidden_size, input_size))
        self.weight_hh_l0 = nn.Parameter(torch.empty(4 * hidden_size, hidden_size))
        if bias:
            self.bias_ih_l0 = nn.Parameter(torch.empty(4 * hidden_size))
            self.bias_hh_l0 = nn.Parameter(torch.empty(4 * hidden_size))
        bound = 1.0 / math.sqrt(hidden_size)
        with torch.no_grad():
            for weight in self.parameters():
                weight.uniform_(-bound, bound)

    def forward(self, x, hx=None):
        """Run the layer over a whole sequence.

        Inputs:
        - x: shape (T, N, D)
        - hx: None (zeros), or the pair (h_0, c_0), each of shape (1, N, H)

        Returns (out, (h_n, c_n)): out of shape (T, N, H) holds h at every step;
        h_n and c_n have shape (1, N, H). The same values as ``nn.LSTM``'s.
        """
        T, N, _ = x.shape
        H = self.hidden_size
        if hx is None:
            h = c = x.new_zeros(N, H)
        else:
            h, c = hx[0][0], hx[1][0]
        # Hint: points 1-3 of the class's docstring. torch.addmm(bias, a, b) is
        # bias + a @ b in one kernel; Tensor.view, .t() and .chunk cost nothing. Mind
        # the backward pass too: indexing one step out of a big tensor (xw[t]) makes
        # autograd build a gradient as big as the whole tensor for every step, while
        # Tensor.unbind(0) gives all the steps at once and has a single backward.
        x2d = x.reshape(T * N, -1)
        if self.bias:
            xw = torch.addmm(self.bias_ih_l0 + self.bias_hh_l0, x2d, self.weight_ih_l0.t())
        else:
            xw = x2d @ self.weight_ih_l0.t()
        xw = xw.view(T, N, 4 * H)
        w_hh = self.weight_hh_l0.t()
        outputs = []
        for xw_t in xw.unbind(0):  # unbind, not xw[t]: its backward is one stack, not T copies
            gates = torch.addmm(xw_t, h, w_hh)
            i, f, g, o = gates.chunk(4, dim=1)
            i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
            c = torch.addcmul(f * c, i, g)  # f * c + i * g
            h = o * torch.tanh(c)
            outputs.append(h)
        out = torch.stack(outputs)
        return out, (h.unsqueeze(0), c.unsqueeze(0))
