# A correct solution except that one function sleeps forever: only its tests fail.
import time


def jordan_step_forward(x, prev_y, Wx, Wr, b, Wy, by):
    time.sleep(10**6)
