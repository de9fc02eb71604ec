"""Input factories shared by assignment 2's public and hidden tests.

Inputs come from the ``rng`` fixture (seeded per test; per submission when
grading), so the same test code checks fixed cases locally and fresh ones in
the grader.
"""

import numpy as np
import pytest

from autograder.checks import DEFAULT_TOLERANCE, CheckFailed, as_array, assert_close, assert_finite
from autograder.checks import describe as describe_value


class Inputs:
    def __init__(self, rng):
        self.rng = rng

    def normal(self, *shape, scale=1.0):
        """Roughly standard normal values (mean 0, variance 1, within +-3.5), from exact
        arithmetic only, so a seed gives bit-identical inputs on every platform."""
        u = self.rng.rand(4, *shape)
        return (u[0] + u[1] + u[2] + u[3] - 2.0) * (np.sqrt(3.0) * scale)

    # -- numpy parts (Q1-Q5) -------------------------------------------------

    def lstm_step(self, N, D, H, scale=0.5):
        """x (N, D), prev_h (N, H), prev_c (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,) for lstm_step_forward."""
        return (self.normal(N, D), self.normal(N, H), self.normal(N, H), self.normal(D, 4 * H, scale=scale),
                self.normal(H, 4 * H, scale=scale), self.normal(4 * H, scale=scale))

    def lstm(self, N, T, D, H, scale=0.5):
        """x (N, T, D), h0 (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,) for lstm_forward."""
        return (self.normal(N, T, D), self.normal(N, H), self.normal(D, 4 * H, scale=scale),
                self.normal(H, 4 * H, scale=scale), self.normal(4 * H, scale=scale))

    def gru_step(self, N, D, H, scale=0.5):
        """x (N, D), prev_h (N, H), Wx (D, 3H), Wh (H, 3H), bx (3H,), bh (3H,) for gru_step_forward."""
        return (self.normal(N, D), self.normal(N, H), self.normal(D, 3 * H, scale=scale),
                self.normal(H, 3 * H, scale=scale), self.normal(3 * H, scale=scale), self.normal(3 * H, scale=scale))

    def gru(self, N, T, D, H, scale=0.5):
        """x (N, T, D), h0 (N, H), Wx (D, 3H), Wh (H, 3H), bx (3H,), bh (3H,) for gru_forward."""
        return (self.normal(N, T, D), self.normal(N, H), self.normal(D, 3 * H, scale=scale),
                self.normal(H, 3 * H, scale=scale), self.normal(3 * H, scale=scale), self.normal(3 * H, scale=scale))

    def lstm_one_sequence(self, T, D, H, forget_bias=0.0, scale=0.3, recurrent_scale=0.1):
        """x (T, D), h0 (H,), Wx (D, 4H), Wh (H, 4H), b (4H,) for lstm_cell_jacobian_norms, with
        ``forget_bias`` added to the forget gate's block of b (gates i, f, o, g)."""
        b = self.normal(4 * H, scale=scale)
        b[H:2 * H] += forget_bias
        return (self.normal(T, D), self.normal(H), self.normal(D, 4 * H, scale=scale),
                self.normal(H, 4 * H, scale=recurrent_scale), b)

    def pytorch_cell_params(self, gates, D, H, scale=0.5):
        """weight_ih (gates*H, D), weight_hh (gates*H, H), bias_ih, bias_hh (gates*H,): an
        nn.LSTMCell's (gates=4) or nn.GRUCell's (gates=3) parameters, in PyTorch's layout."""
        return (self.normal(gates * H, D, scale=scale), self.normal(gates * H, H, scale=scale),
                self.normal(gates * H, scale=scale), self.normal(gates * H, scale=scale))

    @staticmethod
    def lstm_params_from_pytorch(weight_ih, weight_hh, bias_ih, bias_hh):
        """(Wx, Wh, b) for this kit's LSTM from PyTorch's: transpose, gates i, f, g, o -> i, f, o, g,
        one bias (the sum), as lstm_step_forward's docstring says."""
        H = weight_hh.shape[1]

        def reorder(w):
            return np.concatenate([w[0:H], w[H:2 * H], w[3 * H:4 * H], w[2 * H:3 * H]], axis=0)

        return reorder(weight_ih).T.copy(), reorder(weight_hh).T.copy(), reorder(bias_ih + bias_hh)

    # -- torch parts (Q6-Q8) -------------------------------------------------

    def weights(self, shapes, scale=0.5):
        """A state_dict's worth of weights, {name: array of that shape}, for the shapes
        ``{name: shape}`` of PyTorch's module (oracle.torch_state_dict_shapes)."""
        return {name: self.normal(*shapes[name], scale=scale) for name in sorted(shapes)}

    def sequence(self, T, N, D, batch_first=False):
        """An input batch: (T, N, D), or (N, T, D) with batch_first."""
        return self.normal(N, T, D) if batch_first else self.normal(T, N, D)

    def lengths(self, N, T):
        """N sequence lengths in 1..T, in no particular order, with at least one
        full-length sequence (T) and one shorter one (needs N >= 2 and T >= 2)."""
        lengths = self.rng.randint(1, T + 1, size=N)
        full, short = self.rng.permutation(N)[:2]
        lengths[full] = T
        lengths[short] = self.rng.randint(1, T)
        return lengths.astype(np.int64)

    def rnn_case(self, kind, config, N, T, initial_state=True, lengths=False, upstream=True):
        """Keyword arguments for rnn_driver.run_module / oracle.torch_module, except
        ``weights`` (see :meth:`weights`): x, optionally h0 (and c0), lengths, and the
        upstream gradients dout, dh_n (and dc_n)."""
        D, H = config["input_size"], config["hidden_size"]
        directions = 2 if config.get("bidirectional") else 1
        layers = config.get("num_layers", 1) * directions
        lstm = kind in ("LSTM", "FastLSTM")
        batch_first = bool(config.get("batch_first", False))
        case = {"x": self.sequence(T, N, D, batch_first)}
        if initial_state:
            case["h0"] = self.normal(layers, N, H)
            if lstm:
                case["c0"] = self.normal(layers, N, H)
        if lengths:
            case["lengths"] = self.lengths(N, T)
        if upstream:
            case["dout"] = self.sequence(T, N, H * directions, batch_first)
            case["dh_n"] = self.normal(layers, N, H)
            if lstm:
                case["dc_n"] = self.normal(layers, N, H)
        return case


@pytest.fixture
def make(rng):
    return Inputs(rng)


# -- speed targets (Q8) ------------------------------------------------------
# Each side builds its own layer and inputs from the same seed inside its own process
# (the student's FastLSTM in the student's sandbox; torch.nn.LSTM, or the reference's
# FastLSTM, in the baseline process), so nothing large crosses the channel.
# (T, N, D, H): a training step takes tens of milliseconds on one CPU core and a few
# on a GPU, where a Python loop over 100 steps still has to keep up with cuDNN.
SPEED_SIZES = {"cpu": (50, 32, 128, 128), "cuda": (100, 64, 512, 512)}
BASELINE_NAMES = {"torch": "torch.nn.LSTM", "reference": "the reference FastLSTM"}


@pytest.fixture
def fast_lstm_target(student, baseline, speed, rng):
    """``fast_lstm_target(device, against, limit)``: time a FastLSTM training step against
    torch.nn.LSTM ("torch") or the reference's FastLSTM ("reference") and judge the ratio."""
    def run(device, against, limit, rounds=7):
        sizes = SPEED_SIZES[device]
        seed = int(rng.randint(2**31))
        mine = student.call("rnn_driver.speed_setup", "student", *sizes, device, seed)
        # In the baseline process, "student" is the reference solution's FastLSTM.
        theirs = baseline.call("rnn_driver.speed_setup", "torch" if against == "torch" else "student",
                               *sizes, device, seed)
        name = BASELINE_NAMES[against] + (" (cuDNN)" if device == "cuda" and against == "torch" else "")
        timing = speed.assert_within(limit, ("rnn_driver.speed_step", mine), ("rnn_driver.speed_step", theirs),
                                     device=device, baseline_name=name, rounds=rounds)
        # Both sides took the same steps on the same inputs: the timed layer must have
        # computed what the baseline did. float32 sums in another order (and TF32 in
        # cuDNN) differ entry by entry, so compare whole arrays by their norms.
        got = student.call("rnn_driver.speed_result", mine)
        expected = baseline.call("rnn_driver.speed_result", theirs)
        _assert_norm_close(got["out"], expected["out"], "the timed FastLSTM's output")
        for key, grad in expected["grads"].items():
            _assert_norm_close((got.get("grads") or {}).get(key), grad, f"the timed FastLSTM's gradient for {key}")
        return timing
    return run


def _assert_norm_close(got, expected, name, tolerance=1e-3):
    expected = np.asarray(expected, dtype=np.float64)
    got = as_array(got, name, expected.shape).astype(np.float64)
    assert_finite(got, name)
    error = np.linalg.norm(got - expected) / max(np.linalg.norm(expected), 1e-12)
    if not error <= tolerance:
        raise CheckFailed(f"{name} differs from the baseline's on the same inputs (relative error "
                          f"{error:.1e} in norm): the time measured is not of a correct layer")

# -- comparing the student's torch modules with PyTorch's (Q6, Q7) ------------------

class ModuleCheck:
    """Runs the student's module (through the driver, in the child) and PyTorch's own (in
    the oracle) on the same fresh weights and inputs, and compares everything."""

    RESULTS = ["out", "h_n", "c_n", "dx", "dh0", "dc0"]
    NAMES = {"out": "output", "h_n": "h_n", "c_n": "c_n", "dx": "the gradient of the input",
             "dh0": "the gradient of h_0", "dc0": "the gradient of c_0"}

    def __init__(self, student, oracle, make):
        self.student, self.oracle, self.make = student, oracle, make

    @staticmethod
    def describe(kind, config):
        """How a test names a module in its messages, e.g. LSTM(3, 5, num_layers=2, bidirectional=True)."""
        extra = ", ".join(f"{k}={v!r}" for k, v in config.items() if k not in ("input_size", "hidden_size"))
        return f"{kind}({config['input_size']}, {config['hidden_size']}{', ' + extra if extra else ''})"

    @classmethod
    def check_result(cls, got, expected, where, tolerance=DEFAULT_TOLERANCE, padded=False):
        """The driver's reply must match PyTorch's: outputs first, then every gradient."""
        if not isinstance(got, dict):
            raise CheckFailed(f"running {where} gave {describe_value(got)}")
        for key in cls.RESULTS:
            if key in expected:
                name = cls.NAMES[key]
                if padded and key in ("h_n", "c_n"):
                    name += " (each sequence's state after its last real step)"
                assert_close(got.get(key), expected[key], f"{name} of {where}", tolerance)
        for name, grad in expected.get("grads", {}).items():
            assert_close(got.get("grads", {}).get(name), grad, f"the gradient of {name} in {where}", tolerance)

    def run(self, kind, config, N, T, packed=False, device="cpu", **options):
        """Run the student's module and PyTorch's on the same fresh weights and inputs and
        compare everything; returns (the student's reply, the case's inputs)."""
        student, oracle, make = self.student, self.oracle, self.make
        weights = make.weights(oracle.torch_state_dict_shapes(kind, config))
        case = make.rnn_case(kind, config, N, T, **options)
        got = student.call("rnn_driver.run_module", kind, config, weights, packed=packed, device=device, **case)
        expected = oracle.torch_module(kind, config, weights, packed=packed, **case)
        where = self.describe(kind, config) + (" on a PackedSequence" if packed else
                                               " with lengths" if "lengths" in case else "")
        if "lengths" in case and isinstance(got, dict):
            self.check_padding(got.get("out"), case["lengths"], config.get("batch_first", False), where)
        self.check_result(got, expected, where, padded="lengths" in case)
        return got, case

    @staticmethod
    def check_padding(out, lengths, batch_first, where):
        """The output must be exactly zero at every padded step."""
        if not isinstance(out, np.ndarray) or out.ndim != 3:
            return  # check_result says what is wrong with it
        for n, length in enumerate(lengths):
            padded = out[n, length:] if batch_first else out[length:, n]
            if padded.size and np.any(padded != 0):
                raise CheckFailed(f"the output of {where} should be exactly zero at padded steps (t >= the "
                                  f"sequence's length); sequence {n} of length {length} has nonzero output there")


@pytest.fixture
def check(student, oracle, make):
    """``check.run(kind, config, N, T, ...)``: the student's module against PyTorch's."""
    return ModuleCheck(student, oracle, make)
