"""Expected values for assignment 2's tests, computed with the reference solution
(numpy parts) and with PyTorch's own modules (torch parts), in the grader only.

Every function takes only the test's own inputs (never a student's output) and
returns data. Public tests' answers are recorded from these by `rnnkit package`.
"""

from autograder.oracle import reference

layers = reference("gated_layers")

# ---------------------------------------------------------------------------
# numpy parts (Q1-Q5)

import numpy as np  # noqa: E402


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    next_h, next_c, _ = layers.lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)
    return next_h, next_c


def lstm_step_backward(x, prev_h, prev_c, Wx, Wh, b, dnext_h, dnext_c):
    _, _, cache = layers.lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)
    return layers.lstm_step_backward(dnext_h, dnext_c, cache)


def lstm_forward(x, h0, Wx, Wh, b):
    return layers.lstm_forward(x, h0, Wx, Wh, b)[0]


def lstm_backward(x, h0, Wx, Wh, b, dh):
    _, cache = layers.lstm_forward(x, h0, Wx, Wh, b)
    return layers.lstm_backward(dh, cache)


def gru_step_forward(x, prev_h, Wx, Wh, bx, bh):
    return layers.gru_step_forward(x, prev_h, Wx, Wh, bx, bh)[0]


def gru_step_backward(x, prev_h, Wx, Wh, bx, bh, dnext_h):
    _, cache = layers.gru_step_forward(x, prev_h, Wx, Wh, bx, bh)
    return layers.gru_step_backward(dnext_h, cache)


def gru_forward(x, h0, Wx, Wh, bx, bh):
    return layers.gru_forward(x, h0, Wx, Wh, bx, bh)[0]


def gru_backward(x, h0, Wx, Wh, bx, bh, dh):
    _, cache = layers.gru_forward(x, h0, Wx, Wh, bx, bh)
    return layers.gru_backward(dh, cache)


def lstm_cell_jacobian_norms(x, h0, Wx, Wh, b):
    return layers.lstm_cell_jacobian_norms(x, h0, Wx, Wh, b)


def elman_jacobian_norms(x, h0, Wx, Wh, b):
    """Assignment 1's hidden_state_jacobian_norms (one sequence x (T, D), h0 (H,)):
    norms[t] = ||d h_{T-1} / d h_t||_2 for h_t = tanh(x_t Wx + h_{t-1} Wh + b)."""
    T = x.shape[0]
    hs, h = [], h0
    for t in range(T):
        h = np.tanh(x[t] @ Wx + h @ Wh + b)
        hs.append(h)
    norms, product = np.ones(T), np.eye(h0.shape[0])
    for k in range(T - 1, 0, -1):
        product = product @ (np.diag(1.0 - hs[k] ** 2) @ Wh.T)
        norms[k - 1] = np.linalg.norm(product, 2)
    return norms


def pytorch_lstm_cell_step(x, prev_h, prev_c, weight_ih, weight_hh, bias_ih, bias_hh):
    """(next_h, next_c) from PyTorch's own nn.LSTMCell with these parameters (its layout:
    weight_ih (4H, D), gates i, f, g, o), independent of the reference solution."""
    import torch

    H = prev_h.shape[1]
    cell = torch.nn.LSTMCell(x.shape[1], H).double()
    with torch.no_grad():
        for name, value in [("weight_ih", weight_ih), ("weight_hh", weight_hh), ("bias_ih", bias_ih),
                            ("bias_hh", bias_hh)]:
            getattr(cell, name).copy_(torch.from_numpy(np.asarray(value, dtype=np.float64)))
        h, c = cell(torch.from_numpy(x), (torch.from_numpy(prev_h), torch.from_numpy(prev_c)))
    return h.numpy().copy(), c.numpy().copy()


def pytorch_gru_cell_step(x, prev_h, weight_ih, weight_hh, bias_ih, bias_hh):
    """next_h from PyTorch's own nn.GRUCell with these parameters (weight_ih (3H, D), gates r, z, n)."""
    import torch

    cell = torch.nn.GRUCell(x.shape[1], prev_h.shape[1]).double()
    with torch.no_grad():
        for name, value in [("weight_ih", weight_ih), ("weight_hh", weight_hh), ("bias_ih", bias_ih),
                            ("bias_hh", bias_hh)]:
            getattr(cell, name).copy_(torch.from_numpy(np.asarray(value, dtype=np.float64)))
        h = cell(torch.from_numpy(x), torch.from_numpy(prev_h))
    return h.numpy().copy()


# ---------------------------------------------------------------------------
# torch parts (Q6-Q8)


_TORCH_KINDS = ("RNN", "LSTM", "GRU", "FastLSTM")


def _torch_reference_module(kind, config):
    """PyTorch's own module for ``kind`` (FastLSTM is one-layer nn.LSTM), in float64."""
    import torch

    if kind not in _TORCH_KINDS:
        raise ValueError(f"unknown module kind {kind!r}")
    if kind == "FastLSTM":
        return torch.nn.LSTM(config["input_size"], config["hidden_size"], bias=config.get("bias", True)).double()
    return getattr(torch.nn, kind)(**config).double()


def torch_state_dict_shapes(kind, config):
    """{parameter name: shape as a list} of PyTorch's own module for ``kind``."""
    return {name: [int(n) for n in value.shape]
            for name, value in _torch_reference_module(kind, config).state_dict().items()}


def torch_module(kind, config, weights, x, h0=None, c0=None, lengths=None, packed=False, dout=None,
                 dh_n=None, dc_n=None):
    """What rnn_driver.run_module should give, from torch.nn.RNN/LSTM/GRU in float64 on the CPU.

    A padded batch (``lengths``, given as a tensor or packed: the same expected values)
    runs through pack_padded_sequence / pad_packed_sequence, so padded steps give zero
    output and the final states are taken at each sequence's true length.
    """
    import torch
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    lstm = kind in ("LSTM", "FastLSTM")
    module = _torch_reference_module(kind, config)
    module.load_state_dict({name: torch.from_numpy(np.array(value, dtype=np.float64))
                            for name, value in weights.items()}, strict=True)
    backward = dout is not None or dh_n is not None or dc_n is not None
    inputs = {"x": torch.tensor(np.asarray(x, dtype=np.float64), requires_grad=backward)}
    for name, value in (("h0", h0), ("c0", c0)):
        if value is not None:
            inputs[name] = torch.tensor(np.asarray(value, dtype=np.float64), requires_grad=backward)
    hx = None
    if h0 is not None:
        hx = (inputs["h0"], inputs["c0"]) if lstm else inputs["h0"]
    batch_first = bool(config.get("batch_first", False))
    T = np.shape(x)[1 if batch_first else 0]
    if lengths is not None or packed:
        sequence = pack_padded_sequence(inputs["x"], torch.as_tensor(np.asarray(lengths), dtype=torch.long),
                                        batch_first=batch_first, enforce_sorted=False)
        out, state = module(sequence, hx)
        out, _ = pad_packed_sequence(out, batch_first=batch_first, total_length=T)
    else:
        out, state = module(inputs["x"], hx)
    h_n, c_n = state if lstm else (state, None)
    result = {"out": out.detach().numpy().copy(), "h_n": h_n.detach().numpy().copy()}
    if lstm:
        result["c_n"] = c_n.detach().numpy().copy()
    if backward:
        loss = out.new_zeros(())
        for tensor, upstream in ((out, dout), (h_n, dh_n), (c_n, dc_n)):
            if upstream is not None:
                loss = loss + (tensor * torch.from_numpy(np.asarray(upstream, dtype=np.float64))).sum()
        loss.backward()
        result["grads"] = {name: (p.grad.numpy().copy() if p.grad is not None else np.zeros(p.shape))
                           for name, p in module.named_parameters()}
        for name, tensor in inputs.items():
            result["d" + name] = tensor.grad.numpy().copy() if tensor.grad is not None \
                else np.zeros(tuple(tensor.shape))
    return result
