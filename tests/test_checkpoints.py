"""autograder.checkpoints: reading students' weight files as data only, with clear messages."""

import io
import zipfile

import numpy as np
import pytest
import safetensors.numpy
import safetensors.torch
import torch
from numpy.lib import format as npy_format

from autograder.checkpoints import check_shapes, load_checkpoint
from autograder.checks import CheckFailed


def npz_bytes(compressed=False, **arrays) -> bytes:
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    return buf.getvalue()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for member, content in members.items():
            z.writestr(member, content)
    return buf.getvalue()


def npy_with_header(header: dict, payload: bytes) -> bytes:
    buf = io.BytesIO()
    npy_format.write_array_header_1_0(buf, header)
    buf.write(payload)
    return buf.getvalue()


def weights(seed=0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"Wx": rng.standard_normal((4, 8)).astype(np.float32),
            "Wh": rng.standard_normal((8, 8)).astype(np.float32),
            "b": rng.standard_normal(8).astype(np.float32)}


def assert_same(loaded, original):
    assert set(loaded) == set(original)
    for key, value in original.items():
        assert isinstance(loaded[key], np.ndarray)
        assert loaded[key].dtype == value.dtype and loaded[key].shape == value.shape
        np.testing.assert_array_equal(loaded[key], value)


def failure(data, name, **kwargs) -> str:
    with pytest.raises(CheckFailed) as info:
        load_checkpoint(data, name, **kwargs)
    message = str(info.value)
    assert name in message, message
    return message


# good files ----------------------------------------------------------------------------------


def test_safetensors_from_numpy_loads():
    original = weights()
    assert_same(load_checkpoint(safetensors.numpy.save(original), "model.safetensors"), original)


def test_safetensors_from_torch_loads():
    state = {k: torch.from_numpy(v) for k, v in weights(1).items()}
    loaded = load_checkpoint(safetensors.torch.save(state), "model.safetensors")
    assert_same(loaded, weights(1))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_float_dtypes_are_kept(dtype):
    original = {k: v.astype(dtype) for k, v in weights(2).items()}
    assert_same(load_checkpoint(safetensors.numpy.save(original), "m.safetensors"), original)
    assert_same(load_checkpoint(npz_bytes(**original), "m.npz"), original)


def test_bfloat16_is_widened_to_float32():
    t = torch.tensor([[1.0, -2.5], [0.15625, 3.0]], dtype=torch.bfloat16)
    loaded = load_checkpoint(safetensors.torch.save({"w": t, "b": torch.ones(2)}), "m.safetensors")
    assert loaded["w"].dtype == np.float32
    np.testing.assert_array_equal(loaded["w"], t.to(torch.float32).numpy())
    assert loaded["b"].dtype == np.float32


@pytest.mark.parametrize("compressed", [False, True])
def test_npz_loads(compressed):
    original = weights(3)
    assert_same(load_checkpoint(npz_bytes(compressed, **original), "model.npz"), original)


def test_bytearray_is_accepted_and_not_bytes_is_a_type_error():
    original = weights(4)
    assert_same(load_checkpoint(bytearray(npz_bytes(**original)), "m.npz"), original)
    with pytest.raises(TypeError):
        load_checkpoint(io.BytesIO(npz_bytes(**original)), "m.npz")


def test_zero_dimensional_and_empty_float_arrays_load():
    original = {"scale": np.full((), 2.0, np.float32), "none": np.zeros((0, 3), np.float32)}
    assert_same(load_checkpoint(npz_bytes(**original), "m.npz"), original)
    assert_same(load_checkpoint(safetensors.numpy.save(original), "m.safetensors"), original)


# pickles are never unpickled ------------------------------------------------------------------


@pytest.fixture
def hostile(tmp_path):
    """A pickle whose unpickling runs `touch MARKER`; returns (payload, marker path)."""
    marker = tmp_path / "MARKER"
    payload = b"cos\nsystem\n(S'touch " + str(marker).encode() + b"'\ntR."
    # the payload is live: a sanity check of the marker mechanism without running it
    assert b"system" in payload and not marker.exists()
    return payload, marker


@pytest.mark.parametrize("name", ["evil.npz", "evil.safetensors", "evil.pt"])
def test_raw_pickle_is_refused(hostile, name):
    payload, marker = hostile
    failure(payload, name)
    assert not marker.exists()


def test_pickle_in_an_object_npy_member_is_refused(hostile):
    payload, marker = hostile
    data = zip_bytes({"w.npy": npy_with_header({"descr": "|O", "fortran_order": False, "shape": (1,)}, payload)})
    message = failure(data, "evil.npz")
    assert "object" in message or "pickle" in message
    assert not marker.exists()


def test_pickle_as_a_plain_zip_member_is_refused(hostile):
    payload, marker = hostile
    failure(zip_bytes({"w.pkl": payload}), "evil.npz")
    failure(zip_bytes({"archive/data.pkl": payload, "w.npy": npy_with_header(
        {"descr": "<f4", "fortran_order": False, "shape": (2,)}, np.zeros(2, np.float32).tobytes())}), "evil.npz")
    assert not marker.exists()


def test_single_npy_of_pickle_is_refused(hostile):
    payload, marker = hostile
    data = npy_with_header({"descr": "|O", "fortran_order": False, "shape": (1,)}, payload)
    failure(data, "evil.npz")
    assert not marker.exists()


@pytest.mark.parametrize("name", ["model.npz", "model.safetensors"])
def test_torch_save_output_is_refused(name):
    buf = io.BytesIO()
    torch.save({k: torch.from_numpy(v) for k, v in weights().items()}, buf)
    message = failure(buf.getvalue(), name)
    assert "save it with" in message


def test_object_arrays_written_by_numpy_are_refused():
    data = npz_bytes(w=np.array([{"a": 1}, None], dtype=object))
    assert "object array" in failure(data, "m.npz")


# damaged and foreign files -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["m.npz", "m.safetensors"])
def test_empty_file(name):
    assert "empty" in failure(b"", name)


@pytest.mark.parametrize("name", ["m.npz", "m.safetensors"])
@pytest.mark.parametrize("data", [b"x", b"garbage" * 20, bytes(range(256)) * 4, b"\x00" * 64,
                                  b"\xff" * 8 + b"{}", b"PK\x03\x04" + b"\x00" * 40])
def test_garbage(name, data):
    failure(data, name)


@pytest.mark.parametrize("cut", [1, 8, 30, 100, -1, -20])
def test_truncated_safetensors(cut):
    data = safetensors.numpy.save(weights())
    failure(data[:cut], "m.safetensors")


@pytest.mark.parametrize("compressed", [False, True])
@pytest.mark.parametrize("cut", [1, 4, 30, 200, -1, -30])
def test_truncated_npz(compressed, cut):
    data = npz_bytes(compressed, **weights())
    failure(data[:cut], "m.npz")


def test_corrupted_npz_member():
    data = bytearray(npz_bytes(True, **weights()))
    start = data.index(b"Wx.npy") + 10
    data[start:start + 40] = b"\x00" * 40
    failure(bytes(data), "m.npz")


def test_swapped_formats():
    # an .npz named .safetensors says it is a zip; a safetensors named .npz is not an .npz
    assert "zip" in failure(npz_bytes(**weights()), "m.safetensors")
    failure(safetensors.numpy.save(weights()), "m.npz")


def test_single_npy_is_not_an_npz():
    buf = io.BytesIO()
    np.save(buf, np.zeros(3, np.float32))
    assert "single .npy" in failure(buf.getvalue(), "m.npz")


@pytest.mark.parametrize("name, data", [
    ("m.npz", npz_bytes()),
    ("m.safetensors", safetensors.numpy.save({})),
])
def test_file_without_arrays(name, data):
    assert "no arrays" in failure(data, name)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.bool_, np.complex64])
def test_non_float_arrays_are_refused_by_name(dtype):
    arrays = dict(weights(), steps=np.arange(3).astype(dtype))
    message = failure(npz_bytes(**arrays), "m.npz")
    assert "steps" in message and "float" in message
    if dtype is not np.complex64:       # safetensors has no complex type
        message = failure(safetensors.numpy.save(arrays), "m.safetensors")
        assert "steps" in message and "float" in message


def test_structured_and_string_arrays_are_refused():
    failure(npz_bytes(s=np.array(["a", "b"])), "m.npz")
    failure(npz_bytes(r=np.zeros(2, dtype=[("x", "<f4"), ("y", "<f4")])), "m.npz")


# size limits ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name, make", [("m.npz", lambda a: npz_bytes(**a)),
                                        ("m.safetensors", safetensors.numpy.save)])
def test_file_over_max_bytes(name, make):
    data = make({"w": np.zeros(4096, np.float32)})
    assert "MB" in failure(data, name, max_bytes=len(data) - 1)
    assert set(load_checkpoint(data, name, max_bytes=len(data))) == {"w"}


def test_default_limit_applies():
    big = b"\x00" * (16 * 2**20 + 1)
    assert "MB" in failure(big, "big.safetensors")
    assert "MB" in failure(big, "big.npz")


@pytest.mark.parametrize("name, make", [("m.npz", lambda a: npz_bytes(**a)),
                                        ("m.safetensors", safetensors.numpy.save)])
def test_too_many_arrays(name, make):
    data = make({f"p{i}": np.zeros(1, np.float32) for i in range(12)})
    assert "12 arrays" in failure(data, name, max_arrays=11)
    assert len(load_checkpoint(data, name, max_arrays=12)) == 12


def test_npz_that_decompresses_past_the_limit_is_refused():
    # 64 MB of zeros compress to well under 1 MB
    data = npz_bytes(True, w=np.zeros(16 * 2**20, np.float32))
    assert len(data) < 2**20
    assert "MB" in failure(data, "bomb.npz")


@pytest.mark.parametrize("shape", [(10**12,), (2**20, 2**20), (10**8,)])
def test_npy_header_claiming_a_huge_array_is_refused_without_allocating(shape):
    data = zip_bytes({"w.npy": npy_with_header({"descr": "<f8", "fortran_order": False, "shape": shape},
                                               b"\x00" * 16)})
    failure(data, "liar.npz")


# check_shapes --------------------------------------------------------------------------------


EXPECTED = {"Wx": (4, 8), "Wh": (8, 8), "b": (8,)}


def test_check_shapes_accepts_exact_match():
    check_shapes(weights(), EXPECTED)
    check_shapes(weights(), {k: list(v) for k, v in EXPECTED.items()})


def test_check_shapes_names_missing():
    arrays = weights()
    del arrays["Wh"]
    with pytest.raises(CheckFailed, match=r"missing Wh"):
        check_shapes(arrays, EXPECTED)


def test_check_shapes_names_unexpected():
    arrays = dict(weights(), extra=np.zeros(2, np.float32))
    with pytest.raises(CheckFailed, match=r"unexpected extra"):
        check_shapes(arrays, EXPECTED)


def test_check_shapes_names_wrong_shape():
    arrays = dict(weights(), Wx=np.zeros((8, 4), np.float32))
    with pytest.raises(CheckFailed, match=r"Wx has shape \(8, 4\), expected \(4, 8\)"):
        check_shapes(arrays, EXPECTED)


def test_check_shapes_names_every_problem_and_what():
    arrays = {"Wx": np.zeros((4, 8)), "b": np.zeros((1, 8)), "bias": np.zeros(8), "W_hy": np.zeros(3)}
    with pytest.raises(CheckFailed) as info:
        check_shapes(arrays, EXPECTED, what="rnn.safetensors")
    message = str(info.value)
    assert message.startswith("rnn.safetensors")
    assert "missing Wh" in message
    assert "unexpected W_hy, bias" in message
    assert "b has shape (1, 8), expected (8,)" in message
    assert "Wx" not in message


def test_check_shapes_scalar_shapes():
    check_shapes({"s": np.zeros(())}, {"s": ()})
    with pytest.raises(CheckFailed, match=r"s has shape \(1,\), expected \(\)"):
        check_shapes({"s": np.zeros(1)}, {"s": ()})
