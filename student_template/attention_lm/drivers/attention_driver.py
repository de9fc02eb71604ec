"""Trusted helper for assignment 3's attention questions (Q1-Q3); it runs in the student's process.

Tests cannot send tensors or modules across the channel, so this driver turns plain data
(numpy arrays, numbers, strings, dicts) into tensors, calls the student's ``attention``
module, and sends plain data back: outputs and, when an upstream gradient is given, the
gradients of ``sum(output * upstream)`` with respect to the inputs and parameters,
computed here by autograd on the student's own graph.

Every reply also says which input tensors the student's code changed in place
(``mutated``, a list of names), found by comparing each input with a copy taken before
the call.

It imports ``attention`` only inside functions: the student's module is loaded by the
time they run, and a submission that fails to import fails the calls, not this file.
"""

import numpy as np
import torch

DTYPES = {"float32": torch.float32, "float64": torch.float64}
KINDS = ("dot", "general", "additive")
PARAMETERS = {"dot": (), "general": ("W",), "additive": ("Wq", "Wk", "v")}
DECODER_OUTPUTS = ("h", "c", "o", "logits", "weights")


def _student():
    import attention

    return attention


def _function(name):
    function = getattr(_student(), name, None)
    if function is None:
        raise AttributeError(f"attention defines no function {name}")
    return function


def _tensor(value, dtype, device="cpu", grad=False):
    tensor = torch.tensor(np.asarray(value, dtype=np.float64)).to(device=device, dtype=dtype)
    return tensor.requires_grad_(grad)


def _mask(value, device="cpu"):
    return None if value is None else torch.tensor(np.asarray(value, dtype=bool), device=device)


def _tokens(value, device="cpu"):
    return torch.tensor(np.asarray(value, dtype=np.int64), device=device)


def _shape(value):
    return [int(n) for n in value.shape]


def _array(tensor, what, shape=None):
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"{what} should be a tensor; got a {type(tensor).__name__}")
    if shape is not None and list(tensor.shape) != list(shape):
        raise ValueError(f"{what} has shape {tuple(tensor.shape)}; expected {tuple(shape)}")
    return tensor.detach().to("cpu", torch.float64).numpy().copy()


def _grad(tensor):
    return tensor.grad.detach().to("cpu", torch.float64).numpy().copy() if tensor.grad is not None \
        else np.zeros(_shape(tensor))


class _Watch:
    """Copies of the input tensors, to tell afterwards which ones were changed in place."""

    def __init__(self, tensors):
        self.tensors = {name: t for name, t in tensors.items() if t is not None}
        self.copies = {name: t.detach().clone() for name, t in self.tensors.items()}

    def mutated(self):
        changed = []
        for name, tensor in self.tensors.items():
            before, after = self.copies[name], tensor.detach()
            if before.shape != after.shape or not torch.equal(before, after):
                changed.append(name)
        return changed


def _backward(pairs, where):
    """Backward of sum(output * upstream) over the (output, upstream tensor) pairs."""
    loss = None
    for tensor, upstream in pairs:
        term = (tensor * upstream).sum()
        loss = term if loss is None else loss + term
    if loss is None:
        return
    if not loss.requires_grad:
        raise RuntimeError(f"{where}'s results are not connected to its inputs in the autograd graph "
                           "(was something detached, converted to numpy, or computed under no_grad?)")
    loss.backward()


# ---------------------------------------------------------------------------
# Q1


def masked_softmax(scores, mask=None, dim=-1, dout=None, dtype="float64", device="cpu"):
    """``attention.masked_softmax(scores, mask, dim)``; with ``dout``, also the gradient
    ``dscores`` of ``sum(out * dout)``. Returns {"out", "dscores"?, "dtype", "mutated"}."""
    torch_dtype = DTYPES[dtype]
    x = _tensor(scores, torch_dtype, device, grad=dout is not None)
    m = _mask(mask, device)
    watch = _Watch({"scores": x, "mask": m})
    out = _function("masked_softmax")(x, m, dim=int(dim))
    reply = {"out": _array(out, "masked_softmax's result", x.shape), "dtype": str(out.dtype).replace("torch.", ""),
             "mutated": watch.mutated()}
    if dout is not None:
        _backward([(out, _tensor(dout, torch_dtype, device))], "masked_softmax")
        reply["dscores"] = _grad(x)
    return reply


# ---------------------------------------------------------------------------
# Q2


def attention(kind, query, keys, values, mask=None, params=None, scaled=False, dcontext=None, dweights=None,
              dtype="float64", device="cpu"):
    """``attention.<kind>_attention(query, keys, values, *params, mask=mask)`` for kind "dot"
    (with ``scaled``), "general" (params {"W"}) or "additive" (params {"Wq", "Wk", "v"}).

    With ``dcontext`` and/or ``dweights``, also the gradients of ``sum(context * dcontext)
    + sum(weights * dweights)``: "dquery", "dkeys", "dvalues" and "dparams" {name: grad}.
    Returns {"context", "weights", "dtype", "mutated", and the gradients}.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown attention kind {kind!r}; expected one of {', '.join(KINDS)}")
    torch_dtype = DTYPES[dtype]
    backward = dcontext is not None or dweights is not None
    params = params or {}
    if sorted(params) != sorted(PARAMETERS[kind]):
        raise ValueError(f"{kind} attention takes parameters {PARAMETERS[kind]}; got {sorted(params)}")
    inputs = {name: _tensor(value, torch_dtype, device, backward)
              for name, value in (("query", query), ("keys", keys), ("values", values))}
    weights_in = {name: _tensor(params[name], torch_dtype, device, backward) for name in PARAMETERS[kind]}
    m = _mask(mask, device)
    watch = _Watch({**inputs, **weights_in, "mask": m})
    name = f"{kind}_attention"
    function = _function(name)
    if kind == "dot":
        result = function(inputs["query"], inputs["keys"], inputs["values"], mask=m, scaled=bool(scaled))
    else:
        result = function(inputs["query"], inputs["keys"], inputs["values"],
                          *[weights_in[p] for p in PARAMETERS[kind]], mask=m)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise TypeError(f"{name} should return a tuple (context, weights); it returned a {type(result).__name__}")
    context, weights = result
    reply = {"context": _array(context, f"{name}'s context"), "weights": _array(weights, f"{name}'s weights"),
             "dtype": str(context.dtype).replace("torch.", "") if isinstance(context, torch.Tensor) else "",
             "mutated": watch.mutated()}
    if backward:
        pairs = [(t, _tensor(u, torch_dtype, device)) for t, u in ((context, dcontext), (weights, dweights))
                 if u is not None]
        for tensor, upstream in pairs:
            if tuple(tensor.shape) != tuple(upstream.shape):
                raise ValueError(f"{name} returned a tensor of shape {tuple(tensor.shape)}; expected "
                                 f"{tuple(upstream.shape)}")
        _backward(pairs, name)
        for key, tensor in inputs.items():
            reply["d" + key] = _grad(tensor)
        reply["dparams"] = {key: _grad(tensor) for key, tensor in weights_in.items()}
    return reply


# ---------------------------------------------------------------------------
# Q3


def _decoder(config, weights=None, dtype=torch.float64, device="cpu"):
    """The student's AttentionDecoder(**config), in ``dtype``, with ``weights`` loaded (strict)."""
    cls = getattr(_student(), "AttentionDecoder", None)
    if cls is None:
        raise AttributeError("attention defines no class AttentionDecoder")
    module = cls(**config)
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"AttentionDecoder(...) should be a torch.nn.Module; got a {type(module).__name__}")
    module = module.to(device=device, dtype=dtype)
    if weights is not None:
        own = {name: _shape(value) for name, value in module.state_dict().items()}
        given = {name: list(np.shape(value)) for name, value in weights.items()}
        if own != given:
            missing, unexpected = sorted(set(given) - set(own)), sorted(set(own) - set(given))
            wrong = sorted(f"{n} {tuple(own[n])} (expected {tuple(given[n])})" for n in set(own) & set(given)
                           if own[n] != given[n])
            raise ValueError("AttentionDecoder's state_dict differs from the documented one: " + "; ".join(
                part for part in ("missing " + ", ".join(missing) if missing else "",
                                  "unexpected " + ", ".join(unexpected) if unexpected else "",
                                  "wrong shapes " + "; ".join(wrong) if wrong else "") if part)
                             + " (keep the given constructor)")
        module.load_state_dict({name: torch.tensor(np.asarray(value, dtype=np.float64))
                                for name, value in weights.items()}, strict=True)
    return module


def decoder_shapes(config):
    """{parameter name: shape as a list} of ``attention.AttentionDecoder(**config)``."""
    return {name: _shape(value) for name, value in _decoder(config).state_dict().items()}


def decoder_step(config, weights, prev_tokens, h, c, o_prev, enc_hiddens, enc_mask=None, upstream=None,
                 dtype="float64", device="cpu"):
    """One ``AttentionDecoder.step`` with the given weights and inputs.

    ``enc_proj`` is ``decoder.att_projection(enc_hiddens)``, computed here (so gradients
    reach W_att and the encoder states through it). With ``upstream`` ({name: array}
    for any of "h", "c", "o", "logits", "weights"), also the gradients of the sum of
    ``output * upstream``: "grads" {parameter: gradient}, "dh", "dc", "do_prev",
    "denc_hiddens". Returns {"h", "c", "o", "logits", "weights", "mutated", ...}.
    """
    torch_dtype = DTYPES[dtype]
    backward = bool(upstream)
    decoder = _decoder(config, weights, torch_dtype, device)
    inputs = {name: _tensor(value, torch_dtype, device, backward)
              for name, value in (("h", h), ("c", c), ("o_prev", o_prev), ("enc_hiddens", enc_hiddens))}
    tokens, m = _tokens(prev_tokens, device), _mask(enc_mask, device)
    enc_proj = decoder.att_projection(inputs["enc_hiddens"])
    watch = _Watch({**inputs, "prev_tokens": tokens, "enc_mask": m, "enc_proj": enc_proj})
    result = decoder.step(tokens, (inputs["h"], inputs["c"]), inputs["o_prev"], inputs["enc_hiddens"], enc_proj, m)
    where = "AttentionDecoder.step"
    if not isinstance(result, (tuple, list)) or len(result) != 4:
        raise TypeError(f"{where} should return a tuple (new_state, o_t, logits, weights); it returned "
                        f"a {type(result).__name__}" + (f" of {len(result)} values"
                                                         if isinstance(result, (tuple, list)) else ""))
    state, o, logits, alpha = result
    if not isinstance(state, (tuple, list)) or len(state) != 2:
        raise TypeError(f"{where}'s new_state should be the pair (h_t, c_t)")
    outputs = dict(zip(DECODER_OUTPUTS, (state[0], state[1], o, logits, alpha)))
    reply = {name: _array(t, f"{where}'s {name}") for name, t in outputs.items()}
    reply["mutated"] = watch.mutated()
    if backward:
        pairs = []
        for name, value in upstream.items():
            tensor, grad = outputs[name], _tensor(value, torch_dtype, device)
            if tuple(tensor.shape) != tuple(grad.shape):
                raise ValueError(f"{where}'s {name} has shape {tuple(tensor.shape)}; expected {tuple(grad.shape)}")
            pairs.append((tensor, grad))
        _backward(pairs, where)
        reply["grads"] = {name: _grad(p) for name, p in decoder.named_parameters()}
        for name, tensor in inputs.items():
            reply["d" + name] = _grad(tensor)
    return reply


def decoder_loss(config, weights, enc_hiddens, enc_mask, targets, pad_id, backward=True, dtype="float64",
                 device="cpu"):
    """``attention.teacher_forced_loss(decoder, enc_hiddens, enc_mask, targets, pad_id)``
    with the given weights; with ``backward``, also its gradients: "grads" {parameter:
    gradient} and "denc_hiddens". Returns {"loss": float, "mutated", ...}."""
    torch_dtype = DTYPES[dtype]
    decoder = _decoder(config, weights, torch_dtype, device)
    enc = _tensor(enc_hiddens, torch_dtype, device, bool(backward))
    tokens, m = _tokens(targets, device), _mask(enc_mask, device)
    watch = _Watch({"enc_hiddens": enc, "targets": tokens, "enc_mask": m})
    loss = _function("teacher_forced_loss")(decoder, enc, m, tokens, int(pad_id))
    where = "teacher_forced_loss"
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        raise TypeError(f"{where} should return a scalar tensor; got "
                        + (f"a tensor of shape {tuple(loss.shape)}" if isinstance(loss, torch.Tensor)
                           else f"a {type(loss).__name__}"))
    reply = {"loss": float(loss.detach().to("cpu", torch.float64).reshape(())), "mutated": watch.mutated()}
    if backward:
        if not loss.requires_grad:
            raise RuntimeError(f"{where}'s result is not connected to the decoder's parameters in the autograd "
                               "graph (was something detached, or computed under no_grad?)")
        loss.reshape(()).backward()
        reply["grads"] = {name: _grad(p) for name, p in decoder.named_parameters()}
        reply["denc_hiddens"] = _grad(enc)
    return reply


def greedy_decode(config, weights, enc_hiddens, enc_mask, start_id, end_id, max_len):
    """``attention.greedy_decode`` (the given helper, running the student's step):
    {"tokens": (N, L) int64, "weights": (N, L, S)}."""
    decoder = _decoder(config, weights)
    tokens, alpha = _student().greedy_decode(decoder, _tensor(enc_hiddens, torch.float64), _mask(enc_mask),
                                             int(start_id), int(end_id), int(max_len))
    return {"tokens": tokens.cpu().numpy().astype(np.int64), "weights": _array(alpha, "the attention weights")}
