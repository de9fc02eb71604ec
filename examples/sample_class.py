"""The bundled sample class for assignment 1: who is in it, and what each must score.

Each student's `rnn_layers.py` is made from the reference solution (markers removed)
or from the stub, with one classic mistake written in. This file is the one source
of the class: `python examples/sample_class.py` regenerates `examples/submissions/`,
and the test suite checks both that the committed folder is current and that every
student gets exactly the score listed here, for the reason given.

Points lost are per question, out of the assignment's per-question maximum.
"""

from __future__ import annotations

import io
import re
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SOLUTION = ROOT / "solutions" / "vanilla_rnn" / "rnn_layers.py"
STUB = ROOT / "student_template" / "vanilla_rnn" / "rnn_layers.py"
SUBMISSIONS = HERE / "submissions"
MODULE = "rnn_layers.py"


@dataclass(frozen=True)
class Student:
    name: str
    why: str
    edits: list[tuple[str, str]] = field(default_factory=list)   # (exact old text, new text)
    lost: dict[str, float] = field(default_factory=dict)         # question -> points lost
    base: str = "solution"                                        # or "stub"
    file_name: str = MODULE
    zipped: bool = False
    problem: str = ""                                             # expected submission-level message part
    all_lost: bool = False                                        # scores zero on everything


CLASS = [
    Student("perfect", "the reference solution: full marks"),
    Student("stub", "the untouched stub: every function raises NotImplementedError", base="stub",
            all_lost=True),
    Student("zipped-perfect", "a correct solution submitted as a zip, nested one folder deep: full marks",
            zipped=True),
    Student(
        "forgot-recurrent-gradient",
        "rnn_backward drops the gradient flowing from step t+1 into h_t, so only the "
        "upstream dh reaches each step: BPTT and everything trained with it are wrong "
        "(only T = 1 and one-step chunks, where there is no step t+1, still pass)",
        edits=[("rnn_step_backward(dh[:, t] + dprev_h, cache[t])", "rnn_step_backward(dh[:, t], cache[t])")],
        lost={"bptt": 13, "truncated_bptt": 9},
    ),
    Student(
        "clips-each-gradient",
        "clip_grad_norm rescales each array by its own norm instead of the global norm: "
        "the update's direction changes, and an inf entry becomes NaN",
        edits=[("clipped = {name: g * scale for name, g in grads.items()}",
                "clipped = {name: g * min(1.0, max_norm / max(float(np.linalg.norm(g)), 1e-12))\n"
                "               for name, g in grads.items()}")],
        lost={"clipping": 8, "truncated_bptt": 9},
    ),
    Student(
        "softmax-over-time",
        "temporal_softmax_loss normalises over the time axis instead of the classes; "
        "truncated BPTT trains on that loss, so only its forward-only test passes",
        edits=[("    shifted = flat_scores - flat_scores.max(axis=1, keepdims=True)\n"
                "    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))\n",
                "    shifted = scores - scores.max(axis=1, keepdims=True)\n"
                "    log_probs = (shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))).reshape(N * T, V)\n")],
        lost={"softmax_loss": 13, "truncated_bptt": 10},
    ),
    Student(
        "mask-ignored",
        "temporal_softmax_loss counts padded steps as if they were real",
        edits=[("flat_mask = mask.reshape(N * T).astype(np.float64)", "flat_mask = np.ones(N * T)")],
        lost={"softmax_loss": 9},
    ),
    Student(
        "mutates-input",
        "clip_grad_norm scales the caller's gradient arrays in place: right values, but "
        "the caller's gradients are silently changed",
        edits=[("    clipped = {name: g * scale for name, g in grads.items()}\n",
                "    for g in grads.values():\n        g *= scale\n    clipped = grads\n")],
        lost={"clipping": 1},
    ),
    Student(
        "unstable-softmax",
        "temporal_softmax_loss exponentiates raw scores: large scores overflow to inf and the loss is NaN",
        edits=[("shifted = flat_scores - flat_scores.max(axis=1, keepdims=True)", "shifted = flat_scores")],
        lost={"softmax_loss": 1},
    ),
    Student(
        "inf-becomes-nan",
        "clip_grad_norm has no guard for a non-finite norm: scaling by max_norm / inf turns "
        "an inf gradient entry into NaN and wipes out the finite ones",
        edits=[("if np.isfinite(total_norm) and total_norm > max_norm:", "if total_norm > max_norm:")],
        lost={"clipping": 1},
    ),
    Student(
        "time-major-output",
        "rnn_forward returns the hidden states time-major, (T, N, H), instead of (N, T, H)",
        edits=[("h = np.zeros((N, T, H), dtype=np.result_type(x, h0, Wx))",
                "h = np.zeros((T, N, H), dtype=np.result_type(x, h0, Wx))"),
               ("        h[:, t] = prev_h\n", "        h[t] = prev_h\n")],
        lost={"bptt": 9, "truncated_bptt": 12},
    ),
    Student(
        "jordan-raises",
        "jordan_step_forward multiplies in the wrong order, so numpy raises a shape error",
        edits=[("next_h = np.tanh(x @ Wx + prev_y @ Wr + b)", "next_h = np.tanh(x @ Wx + Wr @ prev_y + b)")],
        lost={"jordan": 10},
    ),
    Student(
        "missing-function",
        "rnn_backward is misspelled, so it is missing; tbptt_step, which calls it, fails too",
        edits=[("def rnn_backward(dh, cache):", "def rnn_backwards(dh, cache):")],
        lost={"bptt": 14, "truncated_bptt": 12},
    ),
    Student(
        "syntax-error",
        "a missing colon: the module cannot be imported, so every test fails with the line number",
        edits=[("def rnn_forward(x, h0, Wx, Wh, b):", "def rnn_forward(x, h0, Wx, Wh, b)")],
        all_lost=True, problem="SyntaxError",
    ),
    Student(
        "wrong-file-name",
        "the work was saved as rnn_layer.py: nothing to grade, and the message says what was found",
        file_name="rnn_layer.py", all_lost=True, problem="no rnn_layers.py found",
    ),
]


def without_markers(text: str) -> str:
    """A reference module as a student would write it: without the solution markers."""
    return re.sub(r"(?m)^[ \t]*# (BEGIN|END) SOLUTION[ \t]*\n", "", text)


def clean_solution() -> str:
    return without_markers(SOLUTION.read_text())


def source_for(student: Student) -> str:
    text = clean_solution() if student.base == "solution" else STUB.read_text()
    for old, new in student.edits:
        if text.count(old) != 1:
            raise ValueError(f"{student.name}: the edit target must occur exactly once: {old!r}")
        text = text.replace(old, new)
    return text


def zip_bytes(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in sorted(files.items()):
            info = zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, text)
    return buffer.getvalue()


def expected_files() -> dict[str, bytes]:
    """Every file of examples/submissions/, by path relative to it."""
    files = {}
    for student in CLASS:
        text = source_for(student)
        if student.zipped:
            files[f"{student.name}.zip"] = zip_bytes({f"{student.name}/vanilla_rnn/{student.file_name}": text})
        else:
            files[f"{student.name}/{student.file_name}"] = text.encode()
    return files


def module_sources(student, solutions: Path, stubs: Path, modules) -> dict[str, str]:
    """A multi-module student's files by name: the reference's (markers removed) or the stubs,
    with the student's ``edits`` (file, exact old text, new text) applied before the markers go."""
    folder = solutions if student.base == "solution" else stubs
    texts = {name: (folder / name).read_text() for name in modules}
    for name, old, new in student.edits:
        if name not in texts:
            raise ValueError(f"{student.name}: no module named {name}")
        if texts[name].count(old) != 1:
            raise ValueError(f"{student.name}: the edit target must occur exactly once in {name}: {old!r}")
        texts[name] = texts[name].replace(old, new)
    return {name: without_markers(text) if student.base == "solution" else text for name, text in texts.items()}


def write_files(files: dict[str, bytes], dest: Path) -> None:
    for relative, content in files.items():
        path = dest / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def build(dest: Path = SUBMISSIONS) -> None:
    write_files(expected_files(), dest)


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else SUBMISSIONS)
    print(f"wrote {len(CLASS)} submissions to {SUBMISSIONS}")
