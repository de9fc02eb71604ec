# Print without end.
import sys


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    line = "spam " * 2000 + "\n"
    while True:
        sys.stdout.write(line)
        sys.stderr.write(line)
