"""Assignment 3's bundled sample class: every student gets exactly the score the class list gives,
for its reason; a hostile checkpoint is refused without being unpickled; a notebook-only
submission is graded on its code and its free-response answers are collected."""

from pathlib import Path

import pytest

import sample_class_attention_lm as sample_class
from autograder import assignment as assignments
from autograder import free_response
from autograder.batch import grade_class
from autograder.gradebook import Gradebook
from autograder.scoring import question_scores
from autograder.submissions import discover

UNPICKLED_MARKER = Path("/tmp/rnnkit-sample-class-was-unpickled")   # what HOSTILE_PICKLE would create


@pytest.fixture(scope="module")
def attention_lm(repo_root):
    return assignments.load("attention_lm", repo_root)


@pytest.fixture(scope="module")
def found(attention_lm, repo_root):
    return discover([repo_root / "examples" / "submissions_attention_lm"], attention_lm.wanted)


@pytest.fixture(scope="module")
def graded_class(attention_lm, found, tmp_path_factory):
    """The class graded once into a fresh gradebook: outcomes by student."""
    UNPICKLED_MARKER.unlink(missing_ok=True)
    db = tmp_path_factory.mktemp("gradebook_attention_lm") / "gradebook.sqlite"
    with Gradebook(db) as book:
        outcomes = grade_class(attention_lm, found, book, workers=2)
    return {o.student: o for o in outcomes}


def failures(outcomes, name):
    return {t.test_id: t.message for t in outcomes[name].result.tests if not t.passed}


def test_committed_sample_class_is_current(repo_root):
    folder = repo_root / "examples" / "submissions_attention_lm"
    expected = sample_class.expected_files()
    committed = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*")
                 if p.is_file() and "__pycache__" not in p.parts}
    assert sorted(committed) == sorted(expected), "run `python examples/sample_class_attention_lm.py`"
    stale = [name for name in expected if committed[name] != expected[name]]
    assert stale == [], "run `python examples/sample_class_attention_lm.py`"


def test_submissions_bring_their_checkpoints_and_notebooks(found):
    files = {s.student: sorted(s.files) for s in found}
    assert files["perfect"] == ["attention.py", "char_lm.py", "char_lm.safetensors", "sampling.py"]
    assert files["npz-checkpoint"] == ["attention.py", "char_lm.npz", "char_lm.py", "sampling.py"]
    assert files["stub"] == ["attention.py", "char_lm.py", "sampling.py"]
    # one notebook stands for the three modules
    assert files["notebook-only"] == ["attention.py", "attention_lm.ipynb", "char_lm.py", "char_lm.safetensors",
                                      "sampling.py"]


@pytest.mark.slow
@pytest.mark.parametrize("student", sample_class.CLASS, ids=lambda s: s.name)
def test_each_student_gets_the_expected_score(student, graded_class, attention_lm):
    outcome = graded_class[student.name]
    assert outcome.result is not None, outcome.grader_error
    scores = {q.id: (q.score, q.max_score) for q in question_scores(outcome.result.tests, attention_lm.questions)}
    got_lost = {q: round(best - score, 2) for q, (score, best) in scores.items() if score != best}
    whole = set(scores) if student.all_lost else set(student.lost_whole)
    expected = {**student.lost, **{q: best for q, (_, best) in scores.items() if q in whole}}
    assert got_lost == pytest.approx(expected), student.why
    assert outcome.result.problem == ""


@pytest.mark.slow
def test_failures_say_what_went_wrong(graded_class):
    assert "do not follow the intended distribution: chi-square" in \
        failures(graded_class, "temperature-after-softmax")["hidden/test_q4_samplers.py::test_temperature_distribution"]
    assert "still had gradient history" in \
        failures(graded_class, "never-detaches-state")["hidden/test_q6_lm_training.py::test_state_carried_and_detached"]
    partial = failures(graded_class, "undertrained-model")["hidden/test_q8_lm_checkpoint.py::test_heldout_bits_per_char"]
    assert "bits per character on the held-out text: 52% of the points" in partial
    shapes = failures(graded_class, "wrong-shape-checkpoint")["hidden/test_q8_lm_checkpoint.py::test_heldout_bits_per_char"]
    assert "head.weight has shape (32, 256), expected (64, 256)" in shapes
    missing = failures(graded_class, "stub")["hidden/test_q8_lm_checkpoint.py::test_heldout_bits_per_char"]
    assert "no trained model" in missing


@pytest.mark.slow
def test_a_pickled_checkpoint_is_refused_and_never_unpickled(graded_class):
    messages = failures(graded_class, "pickled-checkpoint")
    assert "holds pickled objects, which the grader does not read" in \
        messages["hidden/test_q8_lm_checkpoint.py::test_heldout_bits_per_char"]
    assert not UNPICKLED_MARKER.exists()


@pytest.mark.slow
def test_the_partial_credit_student_keeps_a_fraction_of_q8(graded_class):
    q8 = [t for t in graded_class["undertrained-model"].result.tests if t.question == "lm_checkpoint"]
    assert {t.verdict for t in q8} == {"partial credit"}
    assert all(0 < t.score < t.max_score for t in q8)


def test_the_notebook_only_students_answers_are_collected(attention_lm, found, tmp_path):
    collection = free_response.collect(attention_lm, found, tmp_path / "answers")
    page = (tmp_path / "answers" / "notebook-only.md").read_text()
    for answer in sample_class.FREE_RESPONSE_ANSWERS.values():
        assert answer[:60] in page
    assert "no notebook was submitted" in (tmp_path / "answers" / "perfect.md").read_text()
    assert collection.index.is_file()
