"""Trusted helper for assignment 2's PyTorch tests; it runs in the student's process.

Tests cannot send tensors or modules across the channel, so this driver turns plain
data (numpy arrays, numbers, strings, dicts) into tensors, builds and runs the
student's modules from ``torch_rnn``, and sends plain data back. Tests call its
functions as ``student.call("rnn_driver.NAME", ...)``.

It imports ``torch_rnn`` only inside functions: the student's module is loaded by
the time they run, and a submission that fails to import fails the calls, not this
file. It never uses PyTorch's recurrent layers, except ``speed_setup("torch", ...)``,
which only the baseline process (which holds no student code) asks for.
"""

import numpy as np
import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

KINDS = ("RNN", "LSTM", "GRU", "FastLSTM")
DTYPES = {"float32": torch.float32, "float64": torch.float64}


def _student_class(kind):
    if kind not in KINDS:
        raise ValueError(f"unknown module kind {kind!r}; expected one of {', '.join(KINDS)}")
    import torch_rnn

    cls = getattr(torch_rnn, kind, None)
    if cls is None:
        raise AttributeError(f"torch_rnn defines no class {kind}")
    return cls


def _build(kind, config):
    module = _student_class(kind)(**config)
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"torch_rnn.{kind}(...) should be a torch.nn.Module; got a {type(module).__name__}")
    return module


def _shape(value):
    return [int(n) for n in value.shape]


def state_dict_shapes(kind, config):
    """{parameter name: shape as a list} of ``torch_rnn.<kind>(**config)``."""
    return {name: _shape(value) for name, value in _build(kind, config).state_dict().items()}


def _load(module, kind, weights):
    """load_state_dict(strict=True), with a clear message for a key or shape mismatch."""
    own = {name: _shape(value) for name, value in module.state_dict().items()}
    given = {name: list(np.shape(value)) for name, value in weights.items()}
    missing = sorted(set(given) - set(own))
    unexpected = sorted(set(own) - set(given))
    wrong = sorted(f"{name} {own[name]} (PyTorch's: {given[name]})" for name in set(own) & set(given)
                   if own[name] != given[name])
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append("missing parameters " + ", ".join(missing))
        if unexpected:
            parts.append("unexpected parameters " + ", ".join(unexpected))
        if wrong:
            parts.append("wrong shapes: " + "; ".join(wrong))
        raise ValueError(f"{kind}'s state_dict does not match PyTorch's: " + "; ".join(parts))
    module.load_state_dict({name: torch.as_tensor(np.asarray(value)) for name, value in weights.items()},
                           strict=True)


def _tensor(value, dtype, device, grad=False):
    tensor = torch.as_tensor(np.asarray(value, dtype=np.float64)).to(device=device, dtype=dtype)
    return tensor.requires_grad_(grad)


def _array(tensor, what):
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"{what} should be a tensor; got a {type(tensor).__name__}")
    return tensor.detach().to("cpu", torch.float64).numpy()


def run_module(kind, config, weights, x, h0=None, c0=None, lengths=None, packed=False, dout=None,
               dh_n=None, dc_n=None, device="cpu", dtype="float64"):
    """Build ``torch_rnn.<kind>(**config)``, load ``weights``, run it forward on ``x`` and,
    when an upstream gradient is given, backward of
    ``sum(out * dout) + sum(h_n * dh_n) + sum(c_n * dc_n)``.

    ``lengths`` (N integers) is passed as ``forward(..., lengths=tensor)``, or with
    ``packed=True`` the input is packed with ``pack_padded_sequence`` instead and the
    output unpacked to T steps. Returns a dict of float64 arrays: ``out``, ``h_n``,
    ``c_n`` (LSTMs), ``grads`` {parameter: gradient}, ``dx``, ``dh0`` and ``dc0`` (when
    given), and ``device`` / ``dtype``: where and in what the output came back.
    """
    lstm = kind in ("LSTM", "FastLSTM")
    torch_dtype = DTYPES[dtype]
    device = torch.device(device)
    backward = dout is not None or dh_n is not None or dc_n is not None
    module = _build(kind, config).to(device=device, dtype=torch_dtype)
    _load(module, kind, weights)  # after .to(): loading copies the float64 weights at full precision

    inputs = {"x": _tensor(x, torch_dtype, device, backward)}
    if h0 is not None:
        inputs["h0"] = _tensor(h0, torch_dtype, device, backward)
    if c0 is not None:
        inputs["c0"] = _tensor(c0, torch_dtype, device, backward)
    if lstm and (h0 is None) != (c0 is None):
        raise ValueError("an LSTM's initial state needs both h0 and c0")
    hx = None
    if h0 is not None:
        hx = (inputs["h0"], inputs["c0"]) if lstm else inputs["h0"]

    batch_first = bool(config.get("batch_first", False))
    T = np.shape(x)[1 if batch_first else 0]
    if kind == "FastLSTM":
        if lengths is not None or packed:
            raise ValueError("FastLSTM takes no lengths or packed sequences")
        result = module(inputs["x"], hx)
    elif packed:
        if lengths is None:
            raise ValueError("packed=True needs lengths")
        sequence = pack_padded_sequence(inputs["x"], torch.as_tensor(np.asarray(lengths), dtype=torch.long),
                                        batch_first=batch_first, enforce_sorted=False)
        result = module(sequence, hx)
    elif lengths is not None:
        result = module(inputs["x"], hx, lengths=torch.as_tensor(np.asarray(lengths), dtype=torch.long))
    else:
        result = module(inputs["x"], hx)

    where = f"{kind}.forward"
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise TypeError(f"{where} should return a tuple (output, {'(h_n, c_n)' if lstm else 'h_n'})")
    out, state = result
    if packed:
        if not isinstance(out, PackedSequence):
            raise TypeError(f"{where} was given a PackedSequence and should return one as its output; "
                            f"it returned a {type(out).__name__}")
        out, _ = pad_packed_sequence(out, batch_first=batch_first, total_length=T)
    if lstm:
        if not isinstance(state, (tuple, list)) or len(state) != 2:
            raise TypeError(f"{where} should return (output, (h_n, c_n)); its second value is not a pair")
        h_n, c_n = state
    else:
        if not isinstance(state, torch.Tensor):
            raise TypeError(f"{where} should return (output, h_n) with h_n a tensor; got a "
                            f"{type(state).__name__}")
        h_n, c_n = state, None
    finals = {"h_n": h_n} if c_n is None else {"h_n": h_n, "c_n": c_n}
    for name, tensor in {"out": out, **finals}.items():
        if not isinstance(tensor, torch.Tensor):
            raise TypeError(f"{where}'s {name} should be a tensor; got a {type(tensor).__name__}")

    devices = sorted({t.device.type for t in (out, *finals.values())})
    reply = {"out": _array(out, "output"), **{k: _array(v, k) for k, v in finals.items()},
             "device": "/".join(devices), "dtype": str(out.dtype).replace("torch.", "")}
    if backward:
        loss = out.new_zeros(())
        for tensor, upstream, name in ((out, dout, "out"), (h_n, dh_n, "h_n"), (c_n, dc_n, "c_n")):
            if upstream is None:
                continue
            upstream = _tensor(upstream, torch_dtype, device)
            if tuple(tensor.shape) != tuple(upstream.shape):
                raise ValueError(f"{where}'s {name} has shape {tuple(tensor.shape)}; expected "
                                 f"{tuple(upstream.shape)}")
            loss = loss + (tensor * upstream.to(tensor.device)).sum()
        if not loss.requires_grad:
            raise RuntimeError(f"{where}'s results are not connected to its inputs or parameters in the "
                               "autograd graph (was something detached, or computed under no_grad?)")
        loss.backward()
        reply["grads"] = {name: (_array(p.grad, f"the gradient of {name}") if p.grad is not None
                                 else np.zeros(_shape(p))) for name, p in module.named_parameters()}
        for name, tensor in inputs.items():
            grad = tensor.grad
            reply["d" + name] = _array(grad, "d" + name) if grad is not None else np.zeros(_shape(tensor))
    return reply


# ---------------------------------------------------------------------------
# speed (Q8): the harness times speed_step on what speed_setup returns


class SpeedCase:
    """A module and its input for timing; it stays in the child as a handle."""

    def __init__(self, module, x):
        self.module = module
        self.x = x
        self.parameters = dict(module.named_parameters())
        self.last_out = None
        self.last_grads = {}


def speed_setup(which, T, N, D, H, device="cpu", seed=0):
    """A FastLSTM ("student") or nn.LSTM ("torch", for the baseline process only) with the
    same weights and a (T, N, D) float32 input for the same seed, on ``device``."""
    generator = torch.Generator().manual_seed(int(seed))
    bound = 1.0 / float(H) ** 0.5
    shapes = {"weight_ih_l0": (4 * H, D), "weight_hh_l0": (4 * H, H), "bias_ih_l0": (4 * H,),
              "bias_hh_l0": (4 * H,)}
    weights = {name: (torch.rand(shape, generator=generator, dtype=torch.float32) * 2 - 1) * bound
               for name, shape in shapes.items()}
    x = torch.randn((T, N, D), generator=generator, dtype=torch.float32)
    if which == "student":
        module = _build("FastLSTM", {"input_size": D, "hidden_size": H})
    elif which == "torch":
        module = torch.nn.LSTM(D, H)
    else:
        raise ValueError(f"which should be 'student' or 'torch'; got {which!r}")
    module.to(device=device, dtype=torch.float32)
    _load(module, "FastLSTM", weights)
    return SpeedCase(module, x.to(device))


def speed_step(case):
    """One training step: forward, backward of out.sum(), gradients cleared.

    Each step sees a new input (the batch rotated by one sample), so a layer cannot
    replay an earlier answer; the last step's output and gradients are kept (no copy)
    for :func:`speed_result`, which the grader checks against the baseline's.
    """
    case.x = torch.roll(case.x, 1, dims=1)
    out, _ = case.module(case.x)
    out.sum().backward()
    case.last_out = out.detach()[-1]
    for name, p in case.parameters.items():
        case.last_grads[name] = p.grad
        p.grad = None


def speed_result(case):
    """The last timed step's final output row (N, H) and parameter gradients, as arrays."""
    if case.last_out is None:
        raise ValueError("speed_result before any speed_step")
    grads = {name: (g.detach().cpu().numpy() if g is not None else None) for name, g in case.last_grads.items()}
    return {"out": case.last_out.cpu().numpy(), "grads": grads}
