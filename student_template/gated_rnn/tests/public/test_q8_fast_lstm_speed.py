"""Q8 public test: FastLSTM's speed against torch.nn.LSTM on your CPU.

Run `rnnkit check -k speed` to see your ratio. The grader also times it against the
reference solution, and on a CUDA GPU against cuDNN where one is present.
"""

import pytest

pytestmark = pytest.mark.question("fast_lstm_speed")


@pytest.mark.points(3)
def test_cpu_against_torch(fast_lstm_target):
    """FastLSTM on the CPU within 4x the time of torch.nn.LSTM"""
    fast_lstm_target("cpu", against="torch", limit=4.0, rounds=5)
