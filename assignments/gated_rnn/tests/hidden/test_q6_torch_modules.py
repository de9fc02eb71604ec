"""Q6 hidden tests: RNN, LSTM and GRU modules against PyTorch's on fresh inputs."""

import numpy as np
import pytest

from autograder.checks import CheckFailed, as_array, assert_close
from autograder.checks import describe as describe_value

pytestmark = pytest.mark.question("torch_modules")


@pytest.mark.points(1)
@pytest.mark.parametrize("kind, config", [
    ("RNN", {"input_size": 5, "hidden_size": 3, "num_layers": 2, "nonlinearity": "relu", "bidirectional": True}),
    ("LSTM", {"input_size": 2, "hidden_size": 6, "num_layers": 3, "bidirectional": True}),
    ("GRU", {"input_size": 7, "hidden_size": 4, "num_layers": 2, "bias": False}),
], ids=["RNN", "LSTM", "GRU"])
def test_state_dict_keys_and_shapes(check, student, oracle, make, kind, config):
    """state_dict keys and shapes equal PyTorch's, and PyTorch's weights then give its output"""
    got = student.call("rnn_driver.state_dict_shapes", kind, config)
    expected = oracle.torch_state_dict_shapes(kind, config)
    if not isinstance(got, dict):
        raise CheckFailed(f"state_dict_shapes gave {describe_value(got)}")
    missing, unexpected = sorted(set(expected) - set(got)), sorted(set(got) - set(expected))
    if missing or unexpected:
        raise CheckFailed(f"{check.describe(kind, config)}'s state_dict differs from nn.{kind}'s: "
                          + "; ".join(part for part in (
                              "missing " + ", ".join(missing) if missing else "",
                              "unexpected " + ", ".join(unexpected) if unexpected else "") if part))
    for name in expected:
        if list(got[name]) != list(expected[name]):
            raise CheckFailed(f"{check.describe(kind, config)}: {name} has shape {tuple(got[name])}; "
                              f"nn.{kind}'s has {tuple(expected[name])}")
    check.run(kind, config, N=2, T=3, upstream=False)


@pytest.mark.points(1)
@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_one_layer_non_square(check, student, oracle, make, kind):
    """One layer with N, T, D and H all different: output, states and gradients"""
    check.run(kind, {"input_size": 5, "hidden_size": 3}, N=4, T=6)


@pytest.mark.points(1)
@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_two_layers(check, student, oracle, make, nonlinearity):
    """A two-layer RNN with a tanh or relu nonlinearity"""
    config = {"input_size": 4, "hidden_size": 5, "num_layers": 2, "nonlinearity": nonlinearity}
    check.run("RNN", config, N=3, T=4)


@pytest.mark.points(1)
def test_single_step(check, student, oracle, make):
    """A length-1 sequence (T = 1) through a bidirectional LSTM"""
    check.run("LSTM", {"input_size": 3, "hidden_size": 4, "bidirectional": True}, N=3, T=1)


@pytest.mark.points(1)
@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_two_layers_bidirectional(check, student, oracle, make, kind):
    """Two layers, both directions, with a given initial state"""
    config = {"input_size": 3, "hidden_size": 4, "num_layers": 2, "bidirectional": True}
    check.run(kind, config, N=2, T=5)


@pytest.mark.points(1)
def test_no_initial_state(check, student, oracle, make):
    """A two-layer LSTM without an initial state (zeros)"""
    check.run("LSTM", {"input_size": 4, "hidden_size": 2, "num_layers": 2}, N=3, T=4,
        initial_state=False)


@pytest.mark.points(1)
@pytest.mark.parametrize("kind, config", [
    ("LSTM", {"input_size": 3, "hidden_size": 4, "num_layers": 2, "bidirectional": True}),
    ("GRU", {"input_size": 2, "hidden_size": 5}),
], ids=["LSTM", "GRU"])
def test_lengths(check, student, oracle, make, kind, config):
    """A padded batch given with lengths: zero output at padding, final state at each true length"""
    check.run(kind, config, N=4, T=6, lengths=True)


@pytest.mark.points(1)
@pytest.mark.parametrize("kind, config", [
    ("LSTM", {"input_size": 4, "hidden_size": 3}),
    ("GRU", {"input_size": 3, "hidden_size": 4, "num_layers": 2, "bidirectional": True}),
], ids=["LSTM", "GRU"])
def test_packed_sequence(check, student, oracle, make, kind, config):
    """A PackedSequence in gives a PackedSequence out, and PyTorch's states and gradients"""
    check.run(kind, config, N=5, T=4, packed=True, lengths=True)


@pytest.mark.points(1)
def test_batch_first(check, student, oracle, make):
    """batch_first=True with lengths, bidirectional RNN: (N, T, D) in, (N, T, 2H) out"""
    config = {"input_size": 3, "hidden_size": 4, "batch_first": True, "bidirectional": True}
    check.run("RNN", config, N=3, T=5, lengths=True)


@pytest.mark.points(1)
def test_float32(check, student, oracle, make):
    """A float32 module and input give float32 results, accurate to float32 precision"""
    kind, config = "LSTM", {"input_size": 3, "hidden_size": 4, "num_layers": 2, "bidirectional": True}
    weights = make.weights(oracle.torch_state_dict_shapes(kind, config))
    case = make.rnn_case(kind, config, 3, 5, lengths=True)
    got = student.call("rnn_driver.run_module", kind, config, weights, dtype="float32", **case)
    expected = oracle.torch_module(kind, config, weights, **case)
    if got.get("dtype") != "float32":
        raise CheckFailed(f"a float32 {kind} gave a {got.get('dtype')} output; keep the input's dtype")
    names = [key for key in check.RESULTS if key in expected]
    pairs = [(got.get(key), expected[key], check.NAMES[key]) for key in names]
    pairs += [(got.get("grads", {}).get(name), grad, f"the gradient of {name}")
              for name, grad in expected["grads"].items()]
    for value, want, name in pairs:
        value = as_array(value, name, np.shape(want))
        error = float(np.max(np.abs(value - want)) / max(1e-8, float(np.max(np.abs(want)))))
        if not error <= 1e-4:
            raise CheckFailed(f"{name} of a float32 {check.describe(kind, config)} is wrong: error {error:.1e} "
                              "relative to its largest entry (allowed 1e-04)")


@pytest.mark.points(1)
@pytest.mark.device("cuda")
def test_cuda(check, student, oracle, make):
    """On a CUDA device: results stay on the GPU and match PyTorch's (2 layers, bidirectional, lengths)"""
    config = {"input_size": 3, "hidden_size": 4, "num_layers": 2, "bidirectional": True}
    got, _ = check.run("LSTM", config, N=4, T=5, lengths=True, device="cuda")
    if got.get("device") != "cuda":
        raise CheckFailed(f"given CUDA inputs and parameters, the results came back on {got.get('device')}; "
                          "create new tensors on the input's device")


def objective(reply, case):
    """sum(out * dout) + sum(h_n * dh_n) (+ sum(c_n * dc_n)): what run_module's backward differentiates."""
    if not isinstance(reply, dict):
        raise CheckFailed(f"run_module gave {describe_value(reply)}")
    total = 0.0
    for key, upstream in (("out", "dout"), ("h_n", "dh_n"), ("c_n", "dc_n")):
        if upstream in case:
            total += float(np.sum(as_array(reply.get(key), key, case[upstream].shape) * case[upstream]))
    return total


@pytest.mark.points(1)
@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_gradients_match_numeric_differences(check, student, oracle, make, kind):
    """Your module's weight gradients agree with centred differences of your own forward pass (float64)"""
    config = {"input_size": 2, "hidden_size": 2, "bidirectional": True}
    weights = make.weights(oracle.torch_state_dict_shapes(kind, config))
    case = make.rnn_case(kind, config, N=2, T=3)
    reply = student.call("rnn_driver.run_module", kind, config, weights, **case)
    if not isinstance(reply, dict):
        raise CheckFailed(f"run_module gave {describe_value(reply)}")
    step = 1e-6
    for name in ("weight_hh_l0", "bias_ih_l0_reverse"):
        calls = []
        for index in np.ndindex(weights[name].shape):
            for sign in (1, -1):
                varied = {k: v.copy() for k, v in weights.items()}
                varied[name][index] += sign * step
                no_backward = {k: v for k, v in case.items() if k not in ("dout", "dh_n", "dc_n")}
                calls.append([kind, config, varied, *[no_backward.get(k) for k in ("x", "h0", "c0")]])
        replies = student.map("rnn_driver.run_module", calls)
        values = [objective(r, case) for r in replies]
        numeric = ((np.array(values[0::2]) - np.array(values[1::2])) / (2 * step)).reshape(weights[name].shape)
        analytic = (reply.get("grads") or {}).get(name)
        assert_close(analytic, numeric, f"the gradient of {name} of {check.describe(kind, config)} (against "
                     "centred differences of your forward pass)", tolerance=1e-5)
