"""Q7 public tests: FastLSTM gives nn.LSTM's results. Run them with `rnnkit check`."""

import numpy as np
import pytest

from autograder.checks import DEFAULT_TOLERANCE, CheckFailed, assert_close
from autograder.checks import describe as describe_value

pytestmark = pytest.mark.question("fast_lstm")


RESULTS = ["out", "h_n", "c_n", "dx", "dh0", "dc0"]
NAMES = {"out": "output", "h_n": "h_n", "c_n": "c_n", "dx": "the gradient of the input",
         "dh0": "the gradient of h_0", "dc0": "the gradient of c_0"}


def describe(kind, config):
    """How a test names a module in its messages, e.g. LSTM(3, 5, num_layers=2, bidirectional=True)."""
    extra = ", ".join(f"{k}={v!r}" for k, v in config.items() if k not in ("input_size", "hidden_size"))
    return f"{kind}({config['input_size']}, {config['hidden_size']}{', ' + extra if extra else ''})"


def check_result(got, expected, where, tolerance=DEFAULT_TOLERANCE, padded=False):
    """The driver's reply must match PyTorch's: outputs first, then every gradient."""
    if not isinstance(got, dict):
        raise CheckFailed(f"running {where} gave {describe_value(got)}")
    for key in RESULTS:
        if key in expected:
            name = NAMES[key]
            if padded and key in ("h_n", "c_n"):
                name += " (each sequence's state after its last real step)"
            assert_close(got.get(key), expected[key], f"{name} of {where}", tolerance)
    for name, grad in expected.get("grads", {}).items():
        assert_close(got.get("grads", {}).get(name), grad, f"the gradient of {name} in {where}", tolerance)


def run(student, oracle, make, kind, config, N, T, packed=False, device="cpu", **options):
    """Run the student's module and PyTorch's on the same fresh weights and inputs and
    compare everything; returns (the student's reply, the case's inputs)."""
    weights = make.weights(oracle.torch_state_dict_shapes(kind, config))
    case = make.rnn_case(kind, config, N, T, **options)
    got = student.call("rnn_driver.run_module", kind, config, weights, packed=packed, device=device, **case)
    expected = oracle.torch_module(kind, config, weights, packed=packed, **case)
    where = describe(kind, config) + (" on a PackedSequence" if packed else
                                      " with lengths" if "lengths" in case else "")
    if "lengths" in case and isinstance(got, dict):
        check_padding(got.get("out"), case["lengths"], config.get("batch_first", False), where)
    check_result(got, expected, where, padded="lengths" in case)
    return got, case


def check_padding(out, lengths, batch_first, where):
    """The output must be exactly zero at every padded step."""
    if not isinstance(out, np.ndarray) or out.ndim != 3:
        return  # check_result says what is wrong with it
    for n, length in enumerate(lengths):
        padded = out[n, length:] if batch_first else out[length:, n]
        if padded.size and np.any(padded != 0):
            raise CheckFailed(f"the output of {where} should be exactly zero at padded steps (t >= the "
                              f"sequence's length); sequence {n} of length {length} has nonzero output there")


@pytest.mark.points(2)
def test_fast_lstm_matches_pytorch(student, oracle, make):
    """FastLSTM: output, final states and all gradients match nn.LSTM's"""
    run(student, oracle, make, "FastLSTM", {"input_size": 3, "hidden_size": 4}, N=2, T=5)
