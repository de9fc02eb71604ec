"""The data-only channel between the trusted grader and the child that holds student code.

A message is one frame: an 8-byte big-endian length, then a JSON header, then the
raw bytes of any arrays it carries (their dtype and shape are in the header; the
dtype must be a plain numeric one and the size must match). Decoding uses ``json``
and ``np.frombuffer`` only (``np.load(allow_pickle=False)`` for ``.npy`` arrays that
older releases recorded), so nothing the child sends can become code or an arbitrary
object on the trusted side.

Values that can cross: None, bool, int, float, str, tuple, list, dict with str
keys, numeric numpy arrays (bool, int, uint, float, complex) and numpy scalars.
Anything else in the child is kept there and named by a :class:`Handle`.

This module is imported by the child too, so it depends only on the standard
library and numpy.
"""

from __future__ import annotations

import io
import json
import os
import select
import struct
import time
from dataclasses import dataclass

import numpy as np

HEADER = struct.Struct(">Q")
DEFAULT_FRAME_CAP = 64 * 1024 * 1024
MAX_DEPTH = 32
MAX_NODES = 100_000
MAX_STRING = 100_000
ALLOWED_DTYPE_KINDS = frozenset("biufc")


class ChannelError(Exception):
    """The other side sent something that is not a valid message."""


class ChannelClosed(ChannelError):
    """The other side closed the channel (it exited or was killed)."""


class ChannelTimeout(ChannelError):
    """No complete message arrived before the deadline."""


class FrameTooLarge(ChannelError):
    """A message exceeded the frame size cap."""


@dataclass(frozen=True)
class Handle:
    """An opaque name for a value that stays in the child (a cache, a module, ...)."""

    id: int
    type_name: str
    generation: int = 0

    def __repr__(self) -> str:
        return f"<{self.type_name} held by the student process>"

    # A test that treats a handle as a number or an array gets a clear verdict, not a TypeError.
    def _not_data(self, *args, **kwargs):
        raise NotPlainData(f"the submission returned a {self.type_name}, which is not plain data "
                           "(use numpy arrays of numbers, numbers, tuples, lists or dicts)")

    __float__ = __int__ = __index__ = __complex__ = __array__ = __len__ = __iter__ = _not_data
    __getitem__ = __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _not_data
    __truediv__ = __rtruediv__ = __matmul__ = __rmatmul__ = __lt__ = __gt__ = __le__ = __ge__ = _not_data
    __abs__ = __neg__ = _not_data
    __array_priority__ = 1000

    def __bool__(self) -> bool:
        return True


class NotPlainData(TypeError):
    """A test used a handle (a value that stays in the child) as data."""


# ---------------------------------------------------------------------------
# encoding


def encode(value, make_handle=None) -> bytes:
    """Encode ``value`` as one message body.

    ``make_handle(obj) -> Handle`` is called for values that cannot cross as data;
    without it such values raise :class:`TypeError`.
    """
    blobs: list[bytes] = []
    tree = _to_tree(value, blobs, make_handle, depth=0)
    header = json.dumps({"v": tree, "blobs": [len(b) for b in blobs]}, allow_nan=True).encode()
    return struct.pack(">I", len(header)) + header + b"".join(blobs)


def _to_tree(value, blobs, make_handle, depth):
    if depth > MAX_DEPTH:
        raise TypeError("value is nested too deeply to send")
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return {"s": value}
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {"i": value} if isinstance(value, int) else {"f": _float_token(value)}
    if isinstance(value, np.generic) and value.dtype.kind in ALLOWED_DTYPE_KINDS:
        return _to_tree(np.asarray(value), blobs, make_handle, depth)
    if isinstance(value, np.ndarray) and value.dtype.kind in ALLOWED_DTYPE_KINDS:
        # Raw bytes, with dtype and shape in the header: much cheaper than an .npy header
        # per array, which a numeric gradient's thousand small arrays pay for many times.
        array = np.ascontiguousarray(value)
        blobs.append(array.tobytes())
        return {"a": len(blobs) - 1, "m": [array.dtype.str, list(array.shape)]}
    if isinstance(value, Handle):
        return {"h": value.id}
    if isinstance(value, (tuple, list)):
        items = [_to_tree(v, blobs, make_handle, depth + 1) for v in value]
        return {"t" if isinstance(value, tuple) else "l": items}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"d": [[k, _to_tree(v, blobs, make_handle, depth + 1)] for k, v in value.items()]}
    if make_handle is None:
        raise TypeError(f"a {type(value).__name__} cannot be sent as data")
    handle = make_handle(value)
    return {"h": handle.id, "ht": handle.type_name}


def _float_token(x: float):
    if x != x:
        return "nan"
    if x in (float("inf"), float("-inf")):
        return "inf" if x > 0 else "-inf"
    return x


# ---------------------------------------------------------------------------
# decoding


def decode(body: bytes, resolve_handle=None):
    """Decode a message body made by :func:`encode`.

    ``resolve_handle(id, type_name)`` turns a handle reference into a value; without
    it handle references raise :class:`ChannelError`.
    """
    if len(body) < 4:
        raise ChannelError("message too short")
    (header_len,) = struct.unpack(">I", body[:4])
    if header_len > len(body) - 4:
        raise ChannelError("message header is truncated")
    try:
        header = json.loads(body[4 : 4 + header_len].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ChannelError(f"message header is not valid JSON: {exc}") from None
    if not isinstance(header, dict) or not isinstance(header.get("blobs"), list):
        raise ChannelError("message header has the wrong layout")
    blobs, offset = [], 4 + header_len
    for size in header["blobs"]:
        if not isinstance(size, int) or size < 0 or offset + size > len(body):
            raise ChannelError("message array sizes do not match its length")
        blobs.append(body[offset : offset + size])
        offset += size
    if offset != len(body):
        raise ChannelError("message has trailing bytes")
    counter = [0]
    return _from_tree(header.get("v"), blobs, resolve_handle, 0, counter)


def _from_tree(node, blobs, resolve_handle, depth, counter):
    counter[0] += 1
    if counter[0] > MAX_NODES or depth > MAX_DEPTH:
        raise ChannelError("message is too large or too deeply nested")
    if node is None or isinstance(node, bool):
        return node
    if not isinstance(node, dict) or len(node) not in (1, 2):
        raise ChannelError("message contains an unknown value")
    kind = next(iter(node))
    payload = node[kind]
    if kind == "s" and isinstance(payload, str):
        if len(payload) > MAX_STRING:
            raise ChannelError("message contains a string that is too long")
        return payload
    if kind == "i" and isinstance(payload, int) and not isinstance(payload, bool):
        return payload
    if kind == "f":
        if payload in ("nan", "inf", "-inf"):
            return float(payload)
        if isinstance(payload, (int, float)) and not isinstance(payload, bool):
            return float(payload)
    if kind == "a" and isinstance(payload, int) and 0 <= payload < len(blobs):
        if "m" in node:
            return _raw_array(blobs[payload], node["m"])
        return _load_array(blobs[payload])  # .npy, as answers recorded by older releases hold
    if kind == "h" and isinstance(payload, int):
        if resolve_handle is None:
            raise ChannelError("message refers to a handle where none is allowed")
        type_name = node.get("ht", "object")
        if not isinstance(type_name, str):
            raise ChannelError("message contains a malformed handle")
        return resolve_handle(payload, type_name[:200])
    if kind in ("t", "l") and isinstance(payload, list):
        items = [_from_tree(v, blobs, resolve_handle, depth + 1, counter) for v in payload]
        return tuple(items) if kind == "t" else items
    if kind == "d" and isinstance(payload, list):
        out = {}
        for pair in payload:
            if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)):
                raise ChannelError("message contains a malformed dict")
            out[pair[0]] = _from_tree(pair[1], blobs, resolve_handle, depth + 1, counter)
        return out
    raise ChannelError(f"message contains an unknown value of kind {kind!r}")


def _raw_array(blob: bytes, meta) -> np.ndarray:
    if not (isinstance(meta, list) and len(meta) == 2 and isinstance(meta[0], str) and len(meta[0]) <= 8
            and isinstance(meta[1], list) and len(meta[1]) <= 32
            and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in meta[1])):
        raise ChannelError("message contains a malformed array description")
    try:
        dtype = np.dtype(meta[0])
    except Exception:  # numpy raises several types for a string it cannot read
        raise ChannelError(f"message contains an array of unknown type {meta[0]!r}") from None
    if dtype.kind not in ALLOWED_DTYPE_KINDS or dtype.hasobject or dtype.fields is not None:
        raise ChannelError("message contains an array of a non-numeric type")
    count = 1
    for n in meta[1]:
        count *= n
    if count * dtype.itemsize != len(blob):
        raise ChannelError("message contains an array whose size does not match its shape")
    return np.frombuffer(blob, dtype=dtype).reshape(meta[1]).copy()


def _load_array(blob: bytes) -> np.ndarray:
    try:
        array = np.load(io.BytesIO(blob), allow_pickle=False)
    except Exception as exc:  # numpy raises several types for malformed .npy data
        raise ChannelError(f"message contains a malformed array: {exc}") from None
    if not isinstance(array, np.ndarray) or array.dtype.kind not in ALLOWED_DTYPE_KINDS:
        raise ChannelError("message contains an array of a non-numeric type")
    return array


# ---------------------------------------------------------------------------
# framing over file descriptors


def write_frame(fd: int, body: bytes) -> None:
    data = HEADER.pack(len(body)) + body
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def read_frame(fd: int, deadline: float | None = None, cap: int = DEFAULT_FRAME_CAP) -> bytes:
    """Read one frame. ``deadline`` is a ``time.monotonic()`` value, or None to block."""
    (size,) = HEADER.unpack(_read_exact(fd, HEADER.size, deadline))
    if size > cap:
        raise FrameTooLarge(f"message of {size} bytes exceeds the cap of {cap} bytes")
    return _read_exact(fd, size, deadline)


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes:
    chunks, remaining = [], n
    while remaining:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([fd], [], [], wait)[0]:
                raise ChannelTimeout("no reply before the time limit")
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            raise ChannelClosed("the other side closed the channel")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)
