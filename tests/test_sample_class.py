"""The bundled sample class: every student gets exactly the score the class list gives, for its reason."""

import pytest

import sample_class
from autograder.scoring import question_scores


def test_committed_sample_class_is_current(repo_root):
    folder = repo_root / "examples" / "submissions"
    expected = sample_class.expected_files()
    committed = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*")
                 if p.is_file() and "__pycache__" not in p.parts}
    assert sorted(committed) == sorted(expected), "run `python examples/sample_class.py`"
    stale = [name for name in expected if committed[name] != expected[name]]
    assert stale == [], "run `python examples/sample_class.py`"


@pytest.mark.parametrize("student", sample_class.CLASS, ids=lambda s: s.name)
def test_each_student_gets_the_expected_score(student, graded_sample_class, vanilla_rnn):
    _, outcomes = graded_sample_class
    result = outcomes[student.name].result
    scores = {q.id: (q.score, q.max_score) for q in question_scores(result.tests, vanilla_rnn.questions)}
    got_lost = {q: best - score for q, (score, best) in scores.items() if score != best}
    expected = {q: best for q, (_, best) in scores.items()} if student.all_lost else student.lost
    assert got_lost == expected, student.why
    assert student.problem in result.problem


def test_failures_say_what_went_wrong(graded_sample_class):
    _, outcomes = graded_sample_class

    def messages(name):
        return {t.test_id: t.message for t in outcomes[name].result.tests if not t.passed}

    assert "the submission could not be loaded: rnn_layers.py, line" in \
        next(iter(messages("syntax-error").values()))
    assert any("modified its input(s) grads in place" in m for m in messages("mutates-input").values())
    assert any("contains NaN" in m or "contains inf" in m for m in messages("unstable-softmax").values())
    assert any("defines no function named rnn_backward" in m for m in messages("missing-function").values())
    assert any("jordan_step_forward raised ValueError" in m for m in messages("jordan-raises").values())
    assert any("relative error" in m for m in messages("forgot-recurrent-gradient").values())
    assert "clipped['g0'] has NaN in 1 of the entries that should stay as they were (inf or NaN)" in \
        messages("inf-becomes-nan").values()
    assert "h has shape (3, 2, 5); expected (2, 3, 5)" in messages("time-major-output").values()
    assert any("the output being differentiated has shape" in m for m in messages("time-major-output").values())


def test_feedback_never_shows_hidden_test_code(graded_sample_class, vanilla_rnn):
    _, outcomes = graded_sample_class
    hidden_lines = {line.strip() for f in vanilla_rnn.hidden_tests.glob("*.py")
                    for line in f.read_text().splitlines() if len(line.strip()) > 25}
    for outcome in outcomes.values():
        for t in outcome.result.tests:
            assert not any(line in t.message for line in hidden_lines), (t.test_id, t.message)
