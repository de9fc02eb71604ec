# Values that only a careless decoder would accept: object arrays and pickled payloads.
import pickle

import numpy as np


class _Payload:
    def __reduce__(self):
        import os

        return (os.system, ("touch /tmp/rnnkit-adversarial-unpickled",))


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    return np.array([_Payload()], dtype=object), pickle.dumps(_Payload())


def rnn_forward(x, h0, Wx, Wh, b):
    return np.frombuffer(pickle.dumps(_Payload()), dtype=np.uint8), _Payload()


def clip_grad_value(grads, clip_value):
    return {k: np.array(v, dtype=object) for k, v in grads.items()}


def temporal_softmax_loss(scores, y, mask):
    return pickle.dumps(_Payload()), np.zeros_like(scores)
