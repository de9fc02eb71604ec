"""Q6 public tests: RNN, LSTM and GRU modules against PyTorch's. Run them with `rnnkit check`."""

import pytest

from autograder.checks import CheckFailed

pytestmark = pytest.mark.question("torch_modules")


@pytest.mark.points(1)
def test_state_dict_matches_pytorch(check, student, oracle, make):
    """A 2-layer bidirectional LSTM has nn.LSTM's parameter names and shapes, and its output"""
    config = {"input_size": 3, "hidden_size": 4, "num_layers": 2, "bidirectional": True}
    got = student.call("rnn_driver.state_dict_shapes", "LSTM", config)
    if got != oracle.torch_state_dict_shapes("LSTM", config):
        raise CheckFailed("LSTM's state_dict does not have nn.LSTM's parameter names and shapes")
    check.run("LSTM", config, N=2, T=3, upstream=False)


@pytest.mark.points(2)
def test_lstm_one_layer(check, student, oracle, make):
    """A one-layer LSTM: output, final states and all gradients match nn.LSTM's"""
    check.run("LSTM", {"input_size": 3, "hidden_size": 4}, N=2, T=5)


@pytest.mark.points(1)
def test_gru_one_layer(check, student, oracle, make):
    """A one-layer GRU without an initial state matches nn.GRU"""
    check.run("GRU", {"input_size": 4, "hidden_size": 3}, N=3, T=4, initial_state=False)


@pytest.mark.points(1)
def test_rnn_one_layer(check, student, oracle, make):
    """A one-layer tanh RNN matches nn.RNN"""
    check.run("RNN", {"input_size": 3, "hidden_size": 5}, N=2, T=3)


@pytest.mark.points(1)
def test_lstm_padded_batch(check, student, oracle, make):
    """An LSTM on a padded batch (lengths): zero output at padding, final state at each true length"""
    check.run("LSTM", {"input_size": 2, "hidden_size": 3}, N=3, T=5, lengths=True)
