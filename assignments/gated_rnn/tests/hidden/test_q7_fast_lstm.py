"""Q7 hidden tests: FastLSTM against nn.LSTM on fresh inputs."""

import pytest

from autograder.checks import CheckFailed

pytestmark = pytest.mark.question("fast_lstm")


@pytest.mark.points(1)
def test_state_dict_keys_and_shapes(check, student, oracle, make):
    """FastLSTM's state_dict has a one-layer nn.LSTM's names and shapes, and its weights give its output"""
    config = {"input_size": 6, "hidden_size": 4}
    got = student.call("rnn_driver.state_dict_shapes", "FastLSTM", config)
    if got != oracle.torch_state_dict_shapes("FastLSTM", config):
        raise CheckFailed("FastLSTM's state_dict differs from nn.LSTM(6, 4)'s names and shapes "
                          "(weight_ih_l0 (4H, D), weight_hh_l0 (4H, H), bias_ih_l0 (4H,), bias_hh_l0 (4H,))")
    check.run("FastLSTM", config, N=3, T=2, upstream=False)


@pytest.mark.points(2)
def test_non_square(check, student, oracle, make):
    """N, T, D and H all different, with an initial state: output, states and gradients"""
    check.run("FastLSTM", {"input_size": 7, "hidden_size": 3}, N=5, T=6)


@pytest.mark.points(1)
def test_no_initial_state(check, student, oracle, make):
    """Without an initial state (zeros)"""
    check.run("FastLSTM", {"input_size": 4, "hidden_size": 5}, N=3, T=4, initial_state=False)


@pytest.mark.points(1)
def test_single_step(check, student, oracle, make):
    """A length-1 sequence (T = 1)"""
    check.run("FastLSTM", {"input_size": 3, "hidden_size": 2}, N=4, T=1)


@pytest.mark.points(1)
@pytest.mark.device("cuda")
def test_cuda(check, student, oracle, make):
    """On a CUDA device: results stay on the GPU and match nn.LSTM's"""
    got, _ = check.run("FastLSTM", {"input_size": 5, "hidden_size": 6}, N=4, T=7, device="cuda")
    if got.get("device") != "cuda":
        raise CheckFailed(f"given CUDA inputs and parameters, the results came back on {got.get('device')}; "
                          "create new tensors on the input's device")
