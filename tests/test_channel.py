"""The data-only channel: what crosses, and what is refused."""

import io
import json
import os
import pickle
import struct
import time

import numpy as np
import pytest

from autograder import channel


def roundtrip(value, **kw):
    return channel.decode(channel.encode(value, **kw), **({"resolve_handle": lambda i, t: (i, t)}
                                                        if "make_handle" in kw else {}))


def test_data_values_round_trip_exactly():
    value = {"a": np.arange(6.0).reshape(2, 3), "b": (1, 2.5, None, True, "text"),
             "c": [np.array([1, 2], dtype=np.int32), np.array([True, False])],
             "d": float("nan"), "e": float("-inf"), "f": np.float64(3.25), "g": 7}
    out = roundtrip(value)
    np.testing.assert_array_equal(out["a"], value["a"])
    assert out["b"] == (1, 2.5, None, True, "text")
    assert out["c"][0].dtype == np.int32 and out["c"][1].dtype == bool
    assert np.isnan(out["d"]) and out["e"] == float("-inf")
    assert out["f"] == 3.25 and out["g"] == 7 and isinstance(out["g"], int)


def test_non_data_becomes_a_handle_only_when_allowed():
    obj = object()
    with pytest.raises(TypeError, match="cannot be sent as data"):
        channel.encode((1, obj))
    table = {}

    def make_handle(o):
        table[len(table) + 1] = o
        return channel.Handle(len(table), type(o).__name__)

    assert roundtrip((1, obj), make_handle=make_handle) == (1, (1, "object"))
    assert table[1] is obj


def test_object_arrays_are_refused_on_both_sides():
    with pytest.raises(TypeError):
        channel.encode(np.array([object()], dtype=object))
    # a hand-made message carrying a pickled object array must not be unpickled
    buf = io.BytesIO()
    np.save(buf, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    blob = buf.getvalue()
    header = json.dumps({"v": {"a": 0}, "blobs": [len(blob)]}).encode()
    with pytest.raises(channel.ChannelError, match="malformed array"):
        channel.decode(struct.pack(">I", len(header)) + header + blob)


def hand_made(meta, blob: bytes) -> bytes:
    header = json.dumps({"v": {"a": 0, "m": meta}, "blobs": [len(blob)]}).encode()
    return struct.pack(">I", len(header)) + header + blob


@pytest.mark.parametrize("meta, blob, why", [
    (["|O", [1]], b"\0" * 8, "non-numeric"),
    (["<U2", [1]], b"\0" * 8, "non-numeric"),
    (["|V8", [1]], b"\0" * 8, "non-numeric"),
    (["<M8[s]", [1]], b"\0" * 8, "non-numeric"),
    (["<f8", [2, 3]], b"\0" * 8, "does not match"),
    (["<f8", [2**40, 2**40]], b"\0" * 8, "does not match"),   # refused before any allocation
    (["<f8", [-1]], b"\0" * 8, "malformed"),
    (["<f8", [True]], b"\0" * 8, "malformed"),
    (["not a dtype", [1]], b"\0" * 8, "unknown type|malformed"),
    ("<f8", b"\0" * 8, "malformed"),
])
def test_raw_arrays_with_a_lying_description_are_refused(meta, blob, why):
    with pytest.raises(channel.ChannelError, match=why):
        channel.decode(hand_made(meta, blob))


def test_raw_arrays_round_trip_writable_and_exact():
    value = np.arange(12, dtype=">i4").reshape(3, 4)[:, ::2]   # big-endian and not contiguous
    back = channel.decode(channel.encode(value))
    assert back.dtype == value.dtype and np.array_equal(back, value) and back.flags.writeable


@pytest.mark.parametrize("body", [
    b"",
    struct.pack(">I", 5) + b"nope!",
    struct.pack(">I", 100) + b"{}",
    pickle.dumps({"ok": True}),
])
def test_malformed_messages_are_refused(body):
    with pytest.raises(channel.ChannelError):
        channel.decode(body)


def test_deeply_nested_messages_are_refused():
    nested = {"v": None}
    for _ in range(100):
        nested = {"l": [nested]}
    header = json.dumps({"v": nested, "blobs": []}).encode()
    with pytest.raises(channel.ChannelError, match="nested"):
        channel.decode(struct.pack(">I", len(header)) + header)


def test_frames_over_the_cap_are_refused():
    r, w = os.pipe()
    try:
        channel.write_frame(w, b"x" * 100)
        with pytest.raises(channel.FrameTooLarge):
            channel.read_frame(r, cap=10)
    finally:
        os.close(r)
        os.close(w)


def test_a_silent_peer_times_out_and_a_closed_one_is_reported():
    r, w = os.pipe()
    try:
        with pytest.raises(channel.ChannelTimeout):
            channel.read_frame(r, deadline=time.monotonic() + 0.05)
        os.close(w)
        w = None
        with pytest.raises(channel.ChannelClosed):
            channel.read_frame(r)
    finally:
        os.close(r)
        if w is not None:
            os.close(w)
