"""Q8 hidden tests: FastLSTM's speed against the reference solution on the CPU and
against PyTorch's own LSTM (cuDNN) on a GPU, timed interleaved in one run (see autograder/speed.py).

A training step (forward, then backward of the summed output) on inputs large enough
that kernel launches do not dominate, and a new input at every step; the last step's
results must match the baseline's. The limits leave room for a correct vectorised
layer on a loaded machine (the reference takes about 1.2-2x nn.LSTM's time on a CPU
core and 8-10x cuDNN's on an H200); a layer that loops over samples takes 15-30x on
the CPU and hundreds of times cuDNN's.
"""

import pytest

pytestmark = pytest.mark.question("fast_lstm_speed")


@pytest.mark.points(3)
def test_cpu_against_the_reference(fast_lstm_target):
    """FastLSTM on the CPU within 3x the time of the reference solution's"""
    fast_lstm_target("cpu", against="reference", limit=3.0)


@pytest.mark.points(4)
@pytest.mark.device("cuda")
def test_cuda_against_cudnn(fast_lstm_target):
    """FastLSTM on a CUDA GPU within 25x the time of torch.nn.LSTM (cuDNN)"""
    fast_lstm_target("cuda", against="torch", limit=25.0)
