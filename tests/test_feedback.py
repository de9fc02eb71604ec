"""Student feedback pages: what they show, and that they never give away a hidden test or an answer."""

from __future__ import annotations

import base64
import re
import tempfile
from pathlib import Path

import numpy as np
import pytest

from autograder import channel
from autograder.batch import seed_for
from autograder.feedback import comment, markdown, to_html, write_feedback
from autograder.gradebook import Gradebook
from autograder.grading import run_assignment_tests
from autograder.oracle import RecordingOracle
from autograder.submissions import discover


@pytest.fixture(scope="module")
def feedback_files(graded_sample_class, vanilla_rnn, tmp_path_factory):
    db, _ = graded_sample_class
    with Gradebook(db) as book:
        results = book.class_results(vanilla_rnn.name)
    folder = tmp_path_factory.mktemp("feedback")
    write_feedback(results, vanilla_rnn.questions, vanilla_rnn.title, folder)
    return {p.name: p.read_text() for p in folder.iterdir()}


def test_every_student_gets_a_markdown_and_an_html_page(feedback_files):
    assert len(feedback_files) == 2 * 15
    page = feedback_files["mask-ignored.md"]
    assert "**mask-ignored**: 82 of 91 points." in page
    assert "| Q4. Temporal softmax loss with a padding mask | 4 / 13 |" in page
    assert "hidden test" in page and "relative error" in page
    html = feedback_files["mask-ignored.html"]
    assert "<table>" in html and "82 of 91 points" in html


def test_submission_problems_and_limits_reach_the_page(feedback_files):
    assert "could not be graded as submitted: no rnn_layers.py found" in feedback_files["wrong-file-name.md"]
    assert "SyntaxError" in feedback_files["syntax-error.md"]
    assert "Every test passed." in feedback_files["perfect.md"]


def test_markup_in_a_message_is_shown_as_text(graded_sample_class, vanilla_rnn):
    db, _ = graded_sample_class
    with Gradebook(db) as book:
        [result] = [r for r in book.class_results(vanilla_rnn.name) if r.student == "jordan-raises"]
    failed = next(t for t in result.tests if not t.passed)
    failed.message = "<script>alert(1)</script> | a pipe"
    page = to_html(markdown(result, vanilla_rnn.questions, "A1"), "A1")
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "| a pipe" in comment(result, vanilla_rnn.questions)   # plain text: kept as written


def significant_digits(number: str) -> int:
    mantissa = re.split(r"e", number.lstrip("-"))[0].replace(".", "")
    return len(mantissa.lstrip("0"))


def hidden_test_lines(assignment) -> set[str]:
    """Lines of hidden test code worth recognising (not blank, comments, markers or imports)."""
    lines = set()
    for path in assignment.hidden_tests.glob("*.py"):
        for line in path.read_text().splitlines():
            line = line.strip()
            if len(line) > 15 and not line.startswith(("#", "@", "import ", "from ", '"""')):
                lines.add(line)
    return lines


def recorded_answers(assignment, repo_root) -> list[np.ndarray]:
    """Every expected value the hidden and public tests computed for the sample class, per
    student with the seed grading used (the same inputs, so the same answers)."""
    arrays = []
    for sub in discover([repo_root / "examples" / "submissions"], assignment.modules):
        with tempfile.TemporaryDirectory() as scratch:
            oracle = RecordingOracle(assignment.oracle_file, assignment.solution_dir)
            folder = sub.write_to(Path(scratch) / "s")
            run_assignment_tests(assignment, folder, seed_for(assignment.name, sub.content_hash),
                                 oracle=oracle, problem=sub.problem)
        for encoded in oracle.answers.values():
            stack = [channel.decode(base64.b64decode(encoded))]
            while stack:
                value = stack.pop()
                if isinstance(value, (tuple, list)):
                    stack.extend(value)
                elif isinstance(value, dict):
                    stack.extend(value.values())
                elif isinstance(value, (np.ndarray, float, np.floating)):
                    arrays.append(np.atleast_1d(np.asarray(value, dtype=np.float64)))
    return arrays


@pytest.mark.slow
def test_no_feedback_file_contains_a_hidden_test_or_an_expected_value(feedback_files, vanilla_rnn, repo_root):
    code = hidden_test_lines(vanilla_rnn)
    assert len(code) > 50
    for name, text in feedback_files.items():
        leaked = [line for line in code if line in text]
        assert leaked == [], f"{name} shows hidden test code: {leaked[:3]}"

    values = np.concatenate([a.ravel() for a in recorded_answers(vanilla_rnn, repo_root)])
    values = values[np.isfinite(values) & (np.abs(values) > 1e-6) & (values != np.round(values))]
    assert values.size > 1000
    # every number on a page precise enough to be an answer (4 significant digits or more)
    shown = {float(x) for text in feedback_files.values()
             for x in re.findall(r"-?\d+\.\d+(?:e[-+]?\d+)?", text) if significant_digits(x) >= 4}
    for number in shown:
        close = np.isclose(values, number, rtol=5e-5, atol=0)
        assert not close.any(), f"{number} on a feedback page equals an expected value"


def test_feedback_shows_each_speed_targets_measured_ratio():
    from autograder.assignment import Question
    from autograder.scoring import SubmissionResult
    from autograder.scoring import TestResult as Result

    measured = "2.40x the time of torch.nn.LSTM (limit 4x) on cpu: 36 ms against 15 ms per call"
    tests = [Result("public/t.py::test_cpu", "FastLSTM on the CPU within 4x", "speed", 3, 3, "passed",
                    measurement=measured),
             Result("hidden/t.py::test_ref", "FastLSTM within 3x of the reference", "speed", 3, 0, "failed",
                    verdict="wrong", message="too slow: 5.10x the time of the reference FastLSTM (limit 3x) on cpu",
                    measurement="5.10x the time of the reference FastLSTM (limit 3x) on cpu")]
    page = markdown(SubmissionResult("ada", "s1", "gated_rnn", tests), [Question("speed", "Q8. Speed")], "A2")
    assert "## Speed targets" in page
    assert f"- **FastLSTM on the CPU within 4x**: met; {measured}" in page
    assert "- **FastLSTM within 3x of the reference**: not met; 5.10x the time" in page
