"""The bundled sample class for assignment 2 (gated_rnn): who is in it, and what each must score.

Each student's submission is two modules, ``gated_layers.py`` and ``torch_rnn.py``, made
from the reference solution (markers removed) or from the stub, with one classic gated-RNN
mistake written in. This file is the one source of the class:
``python examples/sample_class_gated_rnn.py`` regenerates ``examples/submissions_gated_rnn/``,
and the test suite checks both that the committed folder is current and that every student
gets exactly the score listed here, for the reason given.

Points lost are per question, out of the assignment's per-question maximum when grading
on a CPU only (tests for CUDA are not run, and left out of the maximum). A question in
``lost_whole`` is lost entirely, whatever its maximum (a banned API fails every test of it).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from sample_class import module_sources, write_files  # the same conventions as assignment 1's class

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SOLUTIONS = ROOT / "solutions" / "gated_rnn"
STUBS = ROOT / "student_template" / "gated_rnn"
SUBMISSIONS = HERE / "submissions_gated_rnn"
LAYERS = "gated_layers.py"
TORCH = "torch_rnn.py"
MODULES = (LAYERS, TORCH)

_FAST_BLOCK = re.compile(r"(?ms)^        # BEGIN SOLUTION\n        x2d = .*?^        # END SOLUTION\n")


@dataclass(frozen=True)
class Student:
    name: str
    why: str
    edits: list[tuple[str, str, str]] = field(default_factory=list)  # (file, exact old text, new text)
    lost: dict[str, float] = field(default_factory=dict)            # question -> points lost
    base: str = "solution"                                           # or "stub"
    all_lost: bool = False                                           # scores zero on everything
    lost_whole: tuple[str, ...] = ()                                 # questions lost entirely, on top of `lost`


PER_SAMPLE_FORWARD = """\
        bias = self.bias_ih_l0 + self.bias_hh_l0 if self.bias else 0
        columns, hs, cs = [], [], []
        for n in range(N):  # one sequence at a time: right, but N times the kernels
            h_n, c_n = h[n:n + 1], c[n:n + 1]
            column = []
            for t in range(T):
                gates = x[t, n:n + 1] @ self.weight_ih_l0.t() + h_n @ self.weight_hh_l0.t() + bias
                i, f, g, o = gates.chunk(4, dim=1)
                c_n = torch.sigmoid(f) * c_n + torch.sigmoid(i) * torch.tanh(g)
                h_n = torch.sigmoid(o) * torch.tanh(c_n)
                column.append(h_n)
            columns.append(torch.cat(column, dim=0))
            hs.append(h_n)
            cs.append(c_n)
        out = torch.stack(columns, dim=1)
        h, c = torch.cat(hs, dim=0), torch.cat(cs, dim=0)
"""

WRAPS_NN_LSTM_FORWARD = """\
        # PyTorch's own layer, fed this module's weights: right, and banned.
        lstm = torch.nn.LSTM(self.input_size, H, bias=self.bias).to(device=x.device, dtype=x.dtype)
        with torch.no_grad():
            for name, weight in lstm.named_parameters():
                weight.copy_(getattr(self, name))
        out, (h, c) = lstm(x, (h.unsqueeze(0), c.unsqueeze(0)))
        h, c = h[0], c[0]
"""


def _fast_block(source: str) -> str:
    found = _FAST_BLOCK.findall(source)
    if len(found) != 1:
        raise ValueError(f"FastLSTM.forward's solution block must occur exactly once in {TORCH}; "
                         f"found {len(found)}")
    return found[0]


# FastLSTM.forward's whole solution block, markers included, as the reference has it: two
# students replace all of it (edits apply before the markers are removed).
FAST_BLOCK = _fast_block((SOLUTIONS / TORCH).read_text())


CLASS = [
    Student("perfect", "the reference solution: full marks"),
    Student("stub", "the untouched stubs: every function raises NotImplementedError", base="stub",
            all_lost=True),
    Student(
        "lstm-gate-order",
        "the numpy LSTM slices its gates in PyTorch's order i, f, g, o instead of the "
        "assignment's i, f, o, g (forward and backward alike, so it agrees with itself "
        "but not with the reference or with nn.LSTM's converted weights)",
        edits=[(LAYERS, "o = sigmoid(a[:, 2 * H:3 * H])\n    g = np.tanh(a[:, 3 * H:4 * H])",
                "g = np.tanh(a[:, 2 * H:3 * H])\n    o = sigmoid(a[:, 3 * H:4 * H])"),
               (LAYERS, "da = np.concatenate([dai, daf, dao, dag], axis=1)",
                "da = np.concatenate([dai, daf, dag, dao], axis=1)")],
        lost={"lstm_step": 11, "lstm_sequence": 15, "gradient_paths": 7},
    ),
    Student(
        "gru-reset-before-product",
        "the GRU applies the reset gate to prev_h before the hidden product, as in Cho et "
        "al.'s paper, instead of to its result as PyTorch does: a different model, in "
        "numpy and in torch alike",
        edits=[(LAYERS, "n = np.tanh(ax[:, 2 * H:3 * H] + r * hn)",
                "n = np.tanh(ax[:, 2 * H:3 * H] + (r * prev_h) @ Wh[:, 2 * H:3 * H] + bh[2 * H:3 * H])"),
               (TORCH, "    n = torch.tanh(i_n + r * h_n)",
                "    H = h.shape[1]\n"
                "    n = torch.tanh(i_n + (r * h) @ weight_hh[2 * H:].t() + (0 if bias_hh is None else bias_hh[2 * H:]))")],
        lost={"gru_step": 12, "gru_sequence": 17, "torch_modules": 6},
    ),
    Student(
        "lstm-drops-cell-gradient",
        "lstm_backward never passes the cell-state gradient from step t+1 back to step t, "
        "so the gradient reaches earlier steps only through h: BPTT is wrong whenever T > 1",
        edits=[(LAYERS, "lstm_step_backward(dh[:, t] + dprev_h, dprev_c, cache[t])",
                "lstm_step_backward(dh[:, t] + dprev_h, np.zeros_like(dprev_c), cache[t])")],
        lost={"lstm_sequence": 11},
    ),
    Student(
        "forget-bias-plus-one",
        "lstm_cell adds a forget bias of 1 inside the forget gate, as some libraries do: "
        "PyTorch adds nothing there, so with PyTorch's weights every LSTM is off",
        edits=[(TORCH, "    f = torch.sigmoid(f)\n", "    f = torch.sigmoid(f + 1.0)\n")],
        lost={"torch_modules": 12},
    ),
    Student(
        "final-state-at-padding",
        "run_direction lets padded steps update the state, so a padded sequence's final "
        "state is taken after step T-1 instead of its last real step (outputs are still "
        "zeroed, and the reverse direction starts from the padding's state)",
        edits=[(TORCH, "            state = tuple(torch.where(valid, new, old) for new, old in zip(new_state, state))",
                "            state = new_state")],
        lost={"torch_modules": 7},
    ),
    Student(
        "per-sample-loop",
        "FastLSTM.forward is right but loops over the sequences of the batch in Python, "
        "one at a time: N times the kernels, so it misses the CPU speed target",
        edits=[(TORCH, FAST_BLOCK, PER_SAMPLE_FORWARD)],
        lost={"fast_lstm_speed": 6},
    ),
    Student(
        "wraps-nn-lstm",
        "FastLSTM.forward hands its weights to torch.nn.LSTM, PyTorch's own layer: the "
        "results are right, but the assignment bans that API, so every test of the torch "
        "questions fails",
        edits=[(TORCH, FAST_BLOCK, WRAPS_NN_LSTM_FORWARD)],
        lost_whole=("torch_modules", "fast_lstm", "fast_lstm_speed"),
    ),
]


def sources_for(student: Student) -> dict[str, str]:
    """The student's two modules, by file name."""
    return module_sources(student, SOLUTIONS, STUBS, MODULES)


def expected_files() -> dict[str, bytes]:
    """Every file of examples/submissions_gated_rnn/, by path relative to it."""
    return {f"{student.name}/{name}": text.encode()
            for student in CLASS for name, text in sources_for(student).items()}


def build(dest: Path = SUBMISSIONS) -> None:
    write_files(expected_files(), dest)


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else SUBMISSIONS)
    print(f"wrote {len(CLASS)} submissions to {SUBMISSIONS}")
