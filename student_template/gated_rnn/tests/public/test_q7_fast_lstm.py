"""Q7 public tests: FastLSTM gives nn.LSTM's results. Run them with `rnnkit check`."""

import pytest


pytestmark = pytest.mark.question("fast_lstm")


@pytest.mark.points(2)
def test_fast_lstm_matches_pytorch(check, student, oracle, make):
    """FastLSTM: output, final states and all gradients match nn.LSTM's"""
    check.run("FastLSTM", {"input_size": 3, "hidden_size": 4}, N=2, T=5)
