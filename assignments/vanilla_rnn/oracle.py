"""Expected values for assignment 1's tests, computed with the reference solution.

Every function takes only the test's own inputs (never a student's output) and
returns data. Public tests' answers are recorded from these by `rnnkit package`.
"""

from autograder.oracle import reference

ref = reference("rnn_layers")


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    return ref.rnn_step_forward(x, prev_h, Wx, Wh, b)[0]


def rnn_step_backward(x, prev_h, Wx, Wh, b, dnext_h):
    _, cache = ref.rnn_step_forward(x, prev_h, Wx, Wh, b)
    return ref.rnn_step_backward(dnext_h, cache)


def rnn_forward(x, h0, Wx, Wh, b):
    return ref.rnn_forward(x, h0, Wx, Wh, b)[0]


def rnn_backward(x, h0, Wx, Wh, b, dh):
    _, cache = ref.rnn_forward(x, h0, Wx, Wh, b)
    return ref.rnn_backward(dh, cache)


def jordan_step_forward(*args):
    return ref.jordan_step_forward(*args)


def temporal_softmax_loss(scores, y, mask):
    return ref.temporal_softmax_loss(scores, y, mask)


def clip_grad_norm(grads, max_norm):
    return ref.clip_grad_norm(grads, max_norm)


def clip_grad_value(grads, clip_value):
    return ref.clip_grad_value(grads, clip_value)


def tbptt_step(params, x, y, h_prev, learning_rate, max_norm):
    return ref.tbptt_step(params, x, y, h_prev, learning_rate, max_norm)


def tbptt_train(params, x, y, h0, chunk_length, learning_rate, max_norm):
    return ref.tbptt_train(params, x, y, h0, chunk_length, learning_rate, max_norm)


def hidden_state_jacobian_norms(x, h0, Wx, Wh, b):
    return ref.hidden_state_jacobian_norms(x, h0, Wx, Wh, b)

