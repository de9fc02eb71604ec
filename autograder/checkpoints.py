"""Reading submitted weight files (checkpoints) safely, in the grader.

A checkpoint is a file of named numeric arrays: safetensors (``safetensors.numpy`` /
``safetensors.torch.save_file``) or numpy's ``.npz`` (``np.savez``). Both are read
as data only: safetensors holds no code, and ``.npz`` is opened with
``allow_pickle=False``. Every problem raises :class:`~autograder.checks.CheckFailed`
with a message that tells the student what to do.

- :func:`load_checkpoint` (bytes and the file's name -> ``{name: numpy array}``),
- :func:`check_shapes` (names missing, unexpected and wrong-shape parameters).
"""

from __future__ import annotations

import io
import zipfile
import zlib

import numpy as np

from autograder.checks import CheckFailed

DEFAULT_MAX_BYTES = 16 * 2**20
FLOAT_KINDS = "f"          # float16, float32, float64 (bfloat16 is read as float32 where possible)

SAVE_HINT = {
    "safetensors": "save it with safetensors.torch.save_file(model.state_dict(), '{name}')",
    "npz": "save it with numpy.savez('{name}', **{{k: v.cpu().numpy() for k, v in model.state_dict().items()}})",
}


def _hint(name: str) -> str:
    kind = "npz" if name.endswith(".npz") else "safetensors"
    return SAVE_HINT[kind].format(name=name)


def load_checkpoint(data: bytes, name: str, max_bytes: int = DEFAULT_MAX_BYTES,
                    max_arrays: int = 1000) -> dict[str, np.ndarray]:
    """The arrays of a checkpoint file's bytes, ``{parameter name: numpy array}``.

    ``name`` is the file's name: ``*.npz`` is read as numpy's zip of ``.npy`` files,
    anything else as safetensors. The file must be at most ``max_bytes`` and hold at
    most ``max_arrays`` arrays, each of a floating-point dtype (bfloat16 is widened
    to float32). Raises CheckFailed for an empty, damaged or foreign file, a file
    that is too large, object (pickled) arrays and non-float arrays.
    """
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError(f"load_checkpoint needs the file's bytes; got a {type(data).__name__}")
    if len(data) > max_bytes:
        raise CheckFailed(f"{name} is {len(data) / 2**20:.1f} MB, more than the {max_bytes / 2**20:g} MB allowed: "
                          "use fewer parameters or float32 weights")
    if not data:
        raise CheckFailed(f"{name} is empty: {_hint(name)}")
    arrays = _load_npz(data, name, max_bytes) if name.endswith(".npz") else _load_safetensors(data, name)
    if not arrays:
        raise CheckFailed(f"{name} holds no arrays: {_hint(name)}")
    if len(arrays) > max_arrays:
        raise CheckFailed(f"{name} holds {len(arrays)} arrays, more than the {max_arrays} expected of this model")
    for key, value in arrays.items():
        if value.dtype.kind != "f":
            raise CheckFailed(f"{name}: {key} has dtype {value.dtype}, not a floating-point type; weights "
                              "should be float32 (or float16/float64)")
    return arrays


def _load_safetensors(data: bytes, name: str) -> dict[str, np.ndarray]:
    import safetensors
    import safetensors.numpy

    if data[:2] == b"PK":
        raise CheckFailed(f"{name} is a zip archive (what torch.save or numpy.savez write), not safetensors: "
                          f"{_hint(name)}")
    if len(data) < 8 or int.from_bytes(data[:8], "little") > len(data) - 8 or data[8:9] != b"{":
        raise CheckFailed(f"{name} is not a safetensors checkpoint (or it is damaged): {_hint(name)}")
    if _safetensors_has_bfloat16(data):
        return _load_bfloat16(data, name)
    try:
        arrays = safetensors.numpy.load(bytes(data))
    except (safetensors.SafetensorError, ValueError, TypeError, KeyError, OverflowError) as exc:
        message = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        if "dtype" in message.lower() or "not understood" in message.lower():
            raise CheckFailed(f"{name} holds an array of a type numpy cannot read ({message}); weights "
                              "should be float32") from None
        raise CheckFailed(f"{name} is not a valid safetensors checkpoint ({message}): {_hint(name)}") from None
    return {key: np.asarray(value) for key, value in arrays.items()}


def _safetensors_header(data: bytes) -> dict:
    import json

    size = int.from_bytes(data[:8], "little")
    try:
        header = json.loads(data[8:8 + size])
    except (ValueError, UnicodeDecodeError):
        return {}
    return header if isinstance(header, dict) else {}


def _safetensors_has_bfloat16(data: bytes) -> bool:
    return any(isinstance(v, dict) and v.get("dtype") == "BF16" for v in _safetensors_header(data).values())


def _load_bfloat16(data: bytes, name: str) -> dict[str, np.ndarray]:
    """safetensors with bfloat16 arrays (numpy has no bfloat16): widen them to float32."""
    try:
        import torch
        from safetensors.torch import load as torch_load

        tensors = torch_load(bytes(data))
    except Exception as exc:  # noqa: BLE001 - whatever the library raises, the file is at fault
        raise CheckFailed(f"{name} is not a valid safetensors checkpoint ({str(exc)[:200]}): {_hint(name)}") from None
    return {key: (t.to(torch.float32) if t.dtype == torch.bfloat16 else t).numpy() for key, t in tensors.items()}


def _declared_nbytes(archive: np.lib.npyio.NpzFile, key: str) -> int | None:
    """The bytes that member ``key``'s .npy header says its array holds, read without
    its data (numpy allocates that much before reading); None if it has no .npy header."""
    import math

    from numpy.lib import format as npy_format

    member = key if key in archive.zip.namelist() else key + ".npy"
    try:
        with archive.zip.open(member) as f:
            version = npy_format.read_magic(f)
            read = npy_format.read_array_header_1_0 if version == (1, 0) else npy_format.read_array_header_2_0
            shape, _, dtype = read(f)
    except Exception:  # noqa: BLE001 - reading the array itself reports the problem
        return None
    return math.prod(shape) * dtype.itemsize


def _load_npz(data: bytes, name: str, max_bytes: int = DEFAULT_MAX_BYTES) -> dict[str, np.ndarray]:
    try:
        archive = np.load(io.BytesIO(bytes(data)), allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise CheckFailed(f"{name} holds pickled objects, which the grader does not read: "
                              "save plain float arrays") from None
        raise CheckFailed(f"{name} is not an .npz checkpoint ({str(exc)[:200]}): {_hint(name)}") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise CheckFailed(f"{name} is not an .npz checkpoint or it is damaged ({str(exc)[:200]}): "
                          f"{_hint(name)}") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise CheckFailed(f"{name} is a single .npy array, not an .npz of named arrays: {_hint(name)}")
    arrays, total = {}, 0
    with archive:
        for key in archive.files:
            total += _declared_nbytes(archive, key) or 0
            if total > max_bytes:
                raise CheckFailed(f"{name}'s arrays hold more than the {max_bytes / 2**20:g} MB allowed (or the file "
                                  f"is damaged): use fewer parameters or float32 weights")
            try:
                arrays[key] = archive[key]
                if not isinstance(arrays[key], np.ndarray):
                    raise CheckFailed(f"{name}: {key} is not a numpy array (is this a torch.save file?): "
                                      f"{_hint(name)}")
            except ValueError as exc:
                if "pickle" in str(exc).lower() or "object" in str(exc).lower():
                    raise CheckFailed(f"{name}: {key} is an object array (pickled data), which the grader "
                                      "does not read: save plain float arrays") from None
                raise CheckFailed(f"{name}: {key} cannot be read ({str(exc)[:200]}): {_hint(name)}") from None
            except (OSError, EOFError, zipfile.BadZipFile, KeyError, zlib.error) as exc:
                raise CheckFailed(f"{name} is damaged ({key}: {str(exc)[:200]}): {_hint(name)}") from None
    return arrays


def check_shapes(arrays: dict[str, np.ndarray], expected: dict[str, tuple], what: str = "the checkpoint") -> None:
    """Raise CheckFailed unless ``arrays`` has exactly the parameters of ``expected``
    (``{name: shape}``), each of its shape; the message names every missing,
    unexpected and wrong-shape parameter."""
    missing = sorted(set(expected) - set(arrays))
    unexpected = sorted(set(arrays) - set(expected))
    wrong = [f"{key} has shape {tuple(arrays[key].shape)}, expected {tuple(expected[key])}"
             for key in sorted(set(arrays) & set(expected)) if tuple(arrays[key].shape) != tuple(expected[key])]
    parts = []
    if missing:
        parts.append("missing " + ", ".join(missing))
    if unexpected:
        parts.append("unexpected " + ", ".join(unexpected[:20]) + (" ..." if len(unexpected) > 20 else ""))
    if wrong:
        parts.append("; ".join(wrong))
    if parts:
        raise CheckFailed(f"{what} does not have the expected parameters: " + "; ".join(parts))
