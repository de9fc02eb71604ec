"""Assignment 2's bundled sample class: every student gets exactly the score the class list gives,
for its reason. Graded on the CPU only: CUDA tests are not run, and out of the maximum."""

import re

import pytest

import sample_class_gated_rnn as sample_class
from autograder import assignment as assignments
from autograder.batch import grade_class
from autograder.gradebook import Gradebook
from autograder.scoring import question_scores
from autograder.submissions import discover

BANNED_QUESTIONS = {"torch_modules", "fast_lstm", "fast_lstm_speed"}


@pytest.fixture(scope="module")
def gated_rnn(repo_root):
    return assignments.load("gated_rnn", repo_root)


@pytest.fixture(scope="module")
def graded_class(gated_rnn, repo_root, tmp_path_factory):
    """The class graded once into a fresh gradebook: outcomes by student."""
    db = tmp_path_factory.mktemp("gradebook_gated_rnn") / "gradebook.sqlite"
    found = discover([repo_root / "examples" / "submissions_gated_rnn"], gated_rnn.modules)
    with Gradebook(db) as book:
        outcomes = grade_class(gated_rnn, found, book, workers=2)
    return {o.student: o for o in outcomes}


def failures(outcomes, name):
    """Failed tests' messages by test id (tests not run on this machine left out)."""
    return {t.test_id: t.message for t in outcomes[name].result.tests if not t.passed and t.verdict != "not run"}


def test_committed_sample_class_is_current(repo_root):
    folder = repo_root / "examples" / "submissions_gated_rnn"
    expected = sample_class.expected_files()
    committed = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*")
                 if p.is_file() and "__pycache__" not in p.parts}
    assert sorted(committed) == sorted(expected), "run `python examples/sample_class_gated_rnn.py`"
    stale = [name for name in expected if committed[name] != expected[name]]
    assert stale == [], "run `python examples/sample_class_gated_rnn.py`"


def test_every_edit_must_match_exactly_once():
    student = sample_class.Student("typo", "an edit whose target is not in the file",
                                   edits=[(sample_class.LAYERS, "no such text", "")])
    with pytest.raises(ValueError, match="exactly once"):
        sample_class.sources_for(student)


@pytest.mark.slow
@pytest.mark.parametrize("student", sample_class.CLASS, ids=lambda s: s.name)
def test_each_student_gets_the_expected_score(student, graded_class, gated_rnn):
    outcome = graded_class[student.name]
    assert outcome.result is not None, outcome.grader_error
    scores = {q.id: (q.score, q.max_score) for q in question_scores(outcome.result.tests, gated_rnn.questions)}
    got_lost = {q: best - score for q, (score, best) in scores.items() if score != best}
    whole = set(scores) if student.all_lost else set(student.lost_whole)
    expected = {**student.lost, **{q: best for q, (_, best) in scores.items() if q in whole}}
    assert got_lost == expected, student.why
    assert outcome.result.problem == ""


@pytest.mark.slow
def test_cuda_tests_are_not_run_on_a_cpu(graded_class):
    for outcome in graded_class.values():
        skipped = [t for t in outcome.result.tests if t.verdict == "not run"]
        assert skipped and all("no CUDA device" in t.message for t in skipped)


@pytest.mark.slow
def test_failures_say_what_went_wrong(graded_class, gated_rnn):
    stub = failures(graded_class, "stub")
    assert stub and all(m.endswith("is not implemented yet (it raises NotImplementedError)") for m in stub.values())
    assert "lstm_step_forward is not implemented yet" in stub["public/test_q1_lstm_step.py::test_step_forward"]

    banned = failures(graded_class, "wraps-nn-lstm")
    student = next(s for s in sample_class.CLASS if s.name == "wraps-nn-lstm")
    source = sample_class.sources_for(student)[sample_class.TORCH].splitlines()
    line = next(n for n, text in enumerate(source, 1) if "lstm = torch.nn.LSTM(" in text)
    questions = {t.test_id: t.question for t in graded_class["wraps-nn-lstm"].result.tests}
    assert {questions[test_id] for test_id in banned} == BANNED_QUESTIONS
    for message in banned.values():
        assert f"torch_rnn.py, line {line}:" in message and "torch.nn.LSTM" in message
    assert all(t.verdict == "banned API" for t in graded_class["wraps-nn-lstm"].result.tests
               if t.test_id in banned)

    slow = failures(graded_class, "per-sample-loop")
    assert set(slow) == {"public/test_q8_fast_lstm_speed.py::test_cpu_against_torch",
                         "hidden/test_q8_fast_lstm_speed.py::test_cpu_against_the_reference"}
    for message in slow.values():
        assert message.startswith("too slow: ")
        assert re.match(r"too slow: \d+(\.\d+)?x the time of .* \(limit \d+(\.\d+)?x\) on cpu", message), message

    gate_order = failures(graded_class, "lstm-gate-order")
    assert "nn.LSTMCell" in gate_order["hidden/test_q1_lstm_step.py::test_gate_order_matches_pytorch"]
    reset = failures(graded_class, "gru-reset-before-product")
    assert "nn.GRUCell" in reset["hidden/test_q3_gru_step.py::test_reset_gate_matches_pytorch"]
    cell = failures(graded_class, "lstm-drops-cell-gradient")
    assert any("relative error" in m for m in cell.values())
    padding = failures(graded_class, "final-state-at-padding")
    assert "h_n (each sequence's state after its last real step)" in \
        padding["public/test_q6_torch_modules.py::test_lstm_padded_batch"]


@pytest.mark.slow
def test_feedback_never_shows_hidden_test_code(graded_class, gated_rnn):
    hidden_lines = {line.strip() for f in gated_rnn.hidden_tests.glob("*.py")
                    for line in f.read_text().splitlines() if len(line.strip()) > 25}
    for outcome in graded_class.values():
        for t in outcome.result.tests:
            assert not any(line in t.message for line in hidden_lines), (t.test_id, t.message)
