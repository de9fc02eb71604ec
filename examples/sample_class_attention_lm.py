"""The bundled sample class for assignment 3 (attention_lm): who is in it, and what each must score.

Each student's submission is three modules, ``attention.py``, ``sampling.py`` and
``char_lm.py``, made from the reference solution (markers removed) or from the stub, with
one classic mistake written in, and a trained checkpoint (``char_lm.safetensors``) or a
broken one. This file is the one source of the class:
``python examples/sample_class_attention_lm.py`` regenerates ``examples/submissions_attention_lm/``,
and the test suite checks both that the committed folder is current and that every student
gets exactly the score listed here, for the reason given.

Points lost are per question, out of the assignment's per-question maximum. A question in
``lost_whole`` is lost entirely, whatever its maximum.
"""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sample_class import module_sources, write_files
from sample_class_gated_rnn import (
    Student as GatedStudent,  # the same conventions as assignment 1's class
)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SOLUTIONS = ROOT / "solutions" / "attention_lm"
STUBS = ROOT / "student_template" / "attention_lm"
SUBMISSIONS = HERE / "submissions_attention_lm"
ATTENTION, SAMPLING, CHAR_LM = "attention.py", "sampling.py", "char_lm.py"
MODULES = (ATTENTION, SAMPLING, CHAR_LM)
CHECKPOINT = "char_lm.safetensors"
REFERENCE_CHECKPOINT = SOLUTIONS / CHECKPOINT

# A pickle that would run a shell command if anything unpickled it: the grader must not.
HOSTILE_PICKLE = b"cos\nsystem\n(S'touch /tmp/rnnkit-sample-class-was-unpickled'\ntR."


def reference_checkpoint() -> bytes:
    return REFERENCE_CHECKPOINT.read_bytes()


def undertrained_checkpoint() -> bytes:
    """The reference's weights with seeded noise added: a model that predicts text, worse than
    the reference, between the two levels of Q8's partial credit."""
    from safetensors.numpy import load, save

    weights = load(reference_checkpoint())
    noise = np.random.RandomState(0)
    noisy = {name: (w + NOISE_SCALE * w.std() * noise.standard_normal(w.shape)).astype(w.dtype)
             for name, w in sorted(weights.items())}
    return save(noisy)


def wrong_shape_checkpoint() -> bytes:
    """The reference's weights with the output layer cut to half the vocabulary."""
    from safetensors.numpy import load, save

    weights = load(reference_checkpoint())
    weights["head.weight"] = weights["head.weight"][: weights["head.weight"].shape[0] // 2].copy()
    return save(dict(sorted(weights.items())))


def npz_checkpoint() -> bytes:
    """The reference's weights saved with numpy instead of safetensors (allowed)."""
    from safetensors.numpy import load

    buffer = io.BytesIO()
    np.savez(buffer, **dict(sorted(load(reference_checkpoint()).items())))
    return buffer.getvalue()


NOISE_SCALE = 0.35

# masked_softmax's masked branch as the reference writes it (one student replaces all of it).
MASKED_SOFTMAX_BODY = """\
    mask = torch.broadcast_to(mask.to(torch.bool), scores.shape)
    filled = scores.masked_fill(~mask, float("-inf"))
    # The largest real score per slice; 0 where the slice has none (it is all -inf).
    top = filled.amax(dim=dim, keepdim=True).detach()
    top = torch.where(torch.isfinite(top), top, torch.zeros_like(top))
    exps = torch.exp(filled - top)          # exp(-inf) = 0 at padding
    total = exps.sum(dim=dim, keepdim=True)
    # A slice with no real position has total 0: divide by 1 there, giving zeros.
    return exps / torch.where(total > 0, total, torch.ones_like(total))
"""

CHECKPOINTS = {
    "reference": (CHECKPOINT, reference_checkpoint),
    "npz": ("char_lm.npz", npz_checkpoint),
    "undertrained": (CHECKPOINT, undertrained_checkpoint),
    "wrong-shapes": (CHECKPOINT, wrong_shape_checkpoint),
    "pickle": ("char_lm.npz", lambda: HOSTILE_PICKLE),
    "none": (None, None),
}


@dataclass(frozen=True)
class Student(GatedStudent):
    """A student as in assignment 2's class list, with a trained model or none."""
    checkpoint: str = "reference"                                    # a key of CHECKPOINTS
    notebook_only: bool = False                                      # all code and answers in one notebook


CLASS = [
    Student("perfect", "the reference solution and its trained model: full marks"),
    Student("stub", "the untouched stubs and no trained model: nothing earns points", base="stub",
            all_lost=True, checkpoint="none"),
    Student(
        "softmax-wrong-axis",
        "masked_softmax normalises over the batch axis (dim 0) instead of the one it is given, "
        "so no row of weights sums to one; every attention built on it is wrong too",
        edits=[(ATTENTION, "        return torch.softmax(scores, dim=dim)\n",
                "        return torch.softmax(scores, dim=0)\n"),
               (ATTENTION, "    total = exps.sum(dim=dim, keepdim=True)\n",
                "    total = exps.sum(dim=0, keepdim=True)\n")],
        lost={"masked_softmax": 8, "attention": 14, "decoder_step": 14},
    ),
    Student(
        "mask-after-softmax",
        "masked_softmax takes the softmax over every position and zeroes the padding afterwards, "
        "so the real positions' weights no longer sum to one",
        edits=[(ATTENTION, MASKED_SOFTMAX_BODY,
                "    weights = torch.softmax(scores, dim=dim)\n"
                "    return weights * torch.broadcast_to(mask.to(scores.dtype), scores.shape)\n")],
        lost={"masked_softmax": 8, "attention": 15, "decoder_step": 13},
    ),
    Student(
        "temperature-after-softmax",
        "sample_next divides the probabilities by the temperature instead of the logits: "
        "torch.multinomial renormalises them, so the temperature changes nothing",
        edits=[(SAMPLING, "    scores = apply_temperature(logits, temperature)\n", "    scores = logits\n"),
               (SAMPLING, "    probs = torch.softmax(scores, dim=-1)\n",
                "    probs = apply_temperature(torch.softmax(scores, dim=-1), temperature)\n")],
        lost={"samplers": 3},
    ),
    Student(
        "top-p-drops-crossing-token",
        "top_p_filter keeps only the tokens whose running total stays at or below p, dropping "
        "the token that makes the total cross p (and so the whole nucleus when the top token "
        "alone exceeds p, but for the always-kept first one)",
        edits=[(SAMPLING, "    remove_sorted = before >= p\n",
                "    remove_sorted = torch.cumsum(probs, dim=-1) > p\n")],
        lost={"samplers": 3},
    ),
    Student(
        "beam-without-length-normalisation",
        "beam_search ranks finished hypotheses by their total log-probability, not divided by "
        "length ** alpha, so it prefers short outputs",
        edits=[(SAMPLING, "        return total / length ** alpha\n", "        return total\n")],
        lost={"beam_search": 9},
    ),
    Student(
        "never-detaches-state",
        "train_step returns the new state still attached to this chunk's graph, so the next "
        "chunk backpropagates into a graph that backward() has already freed",
        edits=[(CHAR_LM, "    return loss.item(), detach_state(new_state)\n", "    return loss.item(), new_state\n")],
        lost={"lm_training": 7},
    ),
    Student("notebook-only", "all three modules pasted into one notebook, with the free-response "
            "answers written in it, and the trained model beside it: the notebook's code is graded "
            "(full marks) and its answers are collected for the instructor", notebook_only=True),
    Student("npz-checkpoint", "the reference, with its model saved by numpy.savez instead of "
            "safetensors (both are accepted): full marks", checkpoint="npz"),
    Student("undertrained-model", "the reference code with a model that predicts text worse than the "
            "reference (its weights perturbed): 2.76 bits per character on valid.txt and 2.59 on the "
            "held-out text, so Q8 gives partial credit, 46% and 52% of its points", checkpoint="undertrained",
            lost={"lm_checkpoint": 7.5}),
    Student("wrong-shape-checkpoint", "the checkpoint's output layer covers half the vocabulary: it "
            "cannot be loaded into the assignment's architecture", checkpoint="wrong-shapes",
            lost_whole=("lm_checkpoint",)),
    Student("pickled-checkpoint", "char_lm.npz is a pickle (what torch.save writes) that would run a "
            "shell command if unpickled: the grader reads it without unpickling and refuses it",
            checkpoint="pickle", lost_whole=("lm_checkpoint",)),
]


def sources_for(student: Student) -> dict[str, str]:
    """The student's three modules, by file name."""
    return module_sources(student, SOLUTIONS, STUBS, MODULES)


FREE_RESPONSE_ANSWERS = {
    "exposure_bias": "Under teacher forcing the decoder only ever sees gold prefixes, so at test time its "
                     "own first mistake puts it in states it never trained on, and errors compound.",
    "temperature": "Dividing the logits by T > 1 flattens the softmax and raises the entropy; T < 1 "
                   "sharpens it towards the argmax. Dividing the probabilities changes nothing after renormalising.",
}


def notebook_for(student: Student) -> bytes:
    """One notebook holding the student's three modules as code cells and the companion notebook's
    free-response questions with answers written in (cell ids fixed, so the bytes are reproducible)."""
    import nbformat

    companion = nbformat.read(ROOT / "assignments" / "attention_lm" / "attention_lm.ipynb", as_version=4)
    cells = [nbformat.v4.new_markdown_cell("# Assignment 3, all in one notebook")]
    cells += [nbformat.v4.new_code_cell(text) for text in sources_for(student).values()]
    for cell in companion.cells:
        marker = cell.get("metadata", {}).get("rnnkit", {})
        if "free_response" in marker:
            cells.append(nbformat.v4.new_markdown_cell(cell.source, metadata=dict(cell.metadata)))
        elif "answer" in marker:
            answer = FREE_RESPONSE_ANSWERS.get(marker["answer"], "")
            cells.append(nbformat.v4.new_markdown_cell(answer, metadata=dict(cell.metadata)))
    for number, cell in enumerate(cells):
        cell.id = f"cell-{number}"
    return (nbformat.writes(nbformat.v4.new_notebook(cells=cells)) + "\n").encode()


def files_for(student: Student) -> dict[str, bytes]:
    if student.notebook_only:
        files = {"attention_lm.ipynb": notebook_for(student)}
    else:
        files = {name: text.encode() for name, text in sources_for(student).items()}
    name, make = CHECKPOINTS[student.checkpoint]
    if name is not None:
        files[name] = make()
    return files


def expected_files() -> dict[str, bytes]:
    """Every file of examples/submissions_attention_lm/, by path relative to it."""
    return {f"{student.name}/{name}": content for student in CLASS for name, content in files_for(student).items()}


def build(dest: Path = SUBMISSIONS) -> None:
    write_files(expected_files(), dest)


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else SUBMISSIONS)
    print(f"wrote {len(CLASS)} submissions to {SUBMISSIONS}")
