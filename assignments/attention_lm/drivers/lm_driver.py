"""Trusted helper for assignment 3's language-model tests (Q6-Q7); it runs in the
student's process.

Tests send plain data (arrays of ids, weights as ``{name: array}``, numbers, strings);
this driver turns them into tensors, builds ``char_lm.CharLM`` in float64, calls the
student's functions and sends plain data back. Tests call it as
``student.call("lm_driver.NAME", ...)``. It imports ``char_lm`` only inside functions.

The chunks that ``train_steps`` feeds to ``train_step`` are cut here, not by the
student's ``get_batch``, so Q6's tests of training do not depend on its batching.
"""

import numpy as np
import torch

DTYPE = torch.float64


def _char_lm():
    import char_lm

    return char_lm


def _ids(value, what, ndim):
    array = np.asarray(value)
    if array.dtype.kind not in "iu" or array.ndim != ndim:
        raise ValueError(f"{what} should be a {ndim}-D array of integer ids")
    return torch.as_tensor(array.astype(np.int64))


def _ids_out(value, what):
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{what} should be a tensor; got a {type(value).__name__}")
    if value.dtype != torch.long:
        raise TypeError(f"{what} should be a LongTensor of ids (dtype torch.long); got {value.dtype}")
    return value.detach().cpu().numpy()


def batchify(ids, batch_size):
    """char_lm.batchify on a 1-D id array; returns the (N, L) array."""
    return _ids_out(_char_lm().batchify(_ids(ids, "ids", 1), int(batch_size)), "batchify's result")


def _pair(value, what):
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"{what} should return a pair (x, y)")
    return [_ids_out(value[0], f"x from {what}"), _ids_out(value[1], f"y from {what}")]


def get_batch(data, i, seq_len):
    """char_lm.get_batch; returns [x, y]."""
    return _pair(_char_lm().get_batch(_ids(data, "data", 2), int(i), int(seq_len)), "get_batch")


def tbptt_chunks(data, seq_len):
    """char_lm.tbptt_chunks; returns a list of [x, y]."""
    chunks = _char_lm().tbptt_chunks(_ids(data, "data", 2), int(seq_len))
    if isinstance(chunks, torch.Tensor) or not hasattr(chunks, "__iter__"):
        raise TypeError("tbptt_chunks should return a list of (x, y) pairs")
    return [_pair(chunk, "tbptt_chunks (each chunk)") for chunk in chunks]


def build_model(config, weights, dtype=DTYPE):
    """``char_lm.CharLM(**config)`` in ``dtype`` with these weights (strict)."""
    char_lm = _char_lm()
    model = char_lm.CharLM(**config)
    if not isinstance(model, torch.nn.Module):
        raise TypeError("char_lm.CharLM(...) should be a torch.nn.Module (do not change the provided model)")
    model = model.to(dtype)
    own = {name: list(value.shape) for name, value in model.state_dict().items()}
    given = {name: list(np.shape(value)) for name, value in weights.items()}
    if own != given:
        raise ValueError(f"char_lm.CharLM({config}) has parameters {own}, not the reference's {given}: "
                         "do not change the provided CharLM")
    model.load_state_dict({name: torch.as_tensor(np.asarray(value, dtype=np.float64)).to(dtype)
                           for name, value in weights.items()})
    return model


def _state_tensors(state):
    if state is None:
        return []
    if torch.is_tensor(state):
        return [state]
    if isinstance(state, (tuple, list)):
        return [t for s in state for t in _state_tensors(s)]
    raise TypeError(f"a state should be None, a tensor or a tuple of tensors; got a {type(state).__name__}")


def _attached(state):
    return any(t.requires_grad or t.grad_fn is not None for t in _state_tensors(state))


def train_steps(config, weights, data, seq_len, steps, lr, clip):
    """Train ``CharLM(**config)`` (float64, these weights) with SGD(lr) for ``steps``
    consecutive chunks of ``data`` (N, L) through the student's ``train_step``, passing
    each returned state to the next step. Returns ``losses`` (list of floats),
    ``weights`` {name: array} after the steps, ``state`` (list of arrays: h, and c for
    an LSTM) and ``attached``: the index of the first step whose returned state still
    had gradient history, or -1."""
    char_lm = _char_lm()
    torch.manual_seed(0)
    model = build_model(config, weights)
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=float(lr))
    data, seq_len = _ids(data, "data", 2), int(seq_len)
    if data.shape[1] < int(steps) * seq_len + 1:
        raise ValueError("train_steps needs at least steps * seq_len + 1 columns of data")
    losses, state, attached = [], None, -1
    for step in range(int(steps)):
        i = step * seq_len
        x, y = data[:, i:i + seq_len], data[:, i + 1:i + 1 + seq_len]
        try:
            result = char_lm.train_step(model, optimizer, x, y, state, float(clip))
        except RuntimeError as exc:
            if attached < 0 or "backward through the graph a second time" not in str(exc):
                raise
            raise RuntimeError(
                f"train_step on chunk {step} failed because the state that train_step returned for chunk "
                f"{attached} still had gradient history, so this chunk's backward() went on into that "
                "chunk's graph, which its own backward() had freed. Return detach_state(new_state): "
                "truncated BPTT stops the gradient at the start of each chunk (retain_graph=True is "
                "not the fix)") from None
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise TypeError("train_step should return a pair (loss, new_state)")
        loss, state = result
        if isinstance(loss, torch.Tensor):
            if loss.numel() != 1:
                raise TypeError("train_step's loss should be one number (a Python float)")
            loss = loss.item()
        if not isinstance(loss, (float, int)):
            raise TypeError(f"train_step's loss should be a Python float; got a {type(loss).__name__}")
        losses.append(float(loss))
        if attached < 0 and _attached(state):
            attached = step
    tensors = _state_tensors(state)
    return {"losses": losses, "attached": attached,
            "weights": {name: value.detach().numpy().copy() for name, value in model.state_dict().items()},
            "state": [t.detach().to(torch.float64).numpy() for t in tensors]}


def detach_state(kind, arrays):
    """Build a state with gradient history from ``arrays`` (``kind``: "none", "gru" for
    one tensor, "lstm" for a pair), call ``char_lm.detach_state`` and report what came
    back: ``structure`` ("none", "tensor", "tuple of n") , ``values`` and ``attached``."""
    char_lm = _char_lm()
    leaves = [torch.as_tensor(np.asarray(a, dtype=np.float64)).requires_grad_(True) for a in arrays]
    computed = [leaf * 1.0 for leaf in leaves]   # non-leaf tensors with a grad_fn
    state = None if kind == "none" else computed[0] if kind == "gru" else tuple(computed)
    result = char_lm.detach_state(state)
    if result is None:
        structure = "none"
    elif isinstance(result, torch.Tensor):
        structure = "tensor"
    elif isinstance(result, (tuple, list)):
        structure = f"tuple of {len(result)}"
    else:
        structure = type(result).__name__
    tensors = _state_tensors(result) if structure != type(result).__name__ else []
    return {"structure": structure, "attached": _attached(result) if tensors else False,
            "values": [t.detach().numpy().copy() for t in tensors]}


def generate(config, weights, prefix, n, seed=0, temperature=1.0, top_k=None, top_p=None, repeat=False):
    """``char_lm.generate`` on ``CharLM(**config)`` (float64, these weights). Returns
    ``text``; with ``repeat`` also ``again``: the same call after drawing from the
    global RNG (which must not change the result), and ``training``: whether the model
    was left in training mode (it is in training mode before the call)."""
    char_lm = _char_lm()
    model = build_model(config, weights)
    model.train()
    kwargs = {"temperature": temperature, "top_k": top_k, "top_p": top_p, "seed": int(seed)}
    torch.manual_seed(1234)
    text = char_lm.generate(model, prefix, int(n), **kwargs)
    if not isinstance(text, str):
        raise TypeError(f"generate should return a string; got a {type(text).__name__}")
    result = {"text": text, "training": bool(model.training)}
    if repeat:
        torch.rand(100)   # moves the global RNG on: generate must not depend on it
        again = char_lm.generate(model, prefix, int(n), **kwargs)
        result["again"] = again if isinstance(again, str) else repr(again)
    return result
