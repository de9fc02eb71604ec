"""Artifacts (files other than code, read by the grader) and partial credit, on a tiny assignment."""

import textwrap

import pytest

from autograder import assignment as assignments
from autograder.grading import run_assignment_tests

TESTS = '''
import pytest
from autograder.checks import CheckFailed

pytestmark = pytest.mark.question("model")


@pytest.mark.points(4)
def test_model_quality(submitted_file, partial_credit):
    """the submitted model is good enough"""
    data = submitted_file("model.bin")
    if data is None:
        raise CheckFailed("no model.bin beside mod.py: save your model there")
    quality = data[0] / 100
    if quality < 1:
        partial_credit(quality, f"your model reaches {quality:.0%}: train it longer")


@pytest.mark.points(1)
def test_code_runs(student):
    """the code runs"""
    assert student.f() == 1
'''


@pytest.fixture
def tiny(tmp_path):
    root = tmp_path / "tiny"
    (root / "tests" / "hidden").mkdir(parents=True)
    (root / "tests" / "public").mkdir()
    (root / "solution").mkdir()
    (root / "oracle.py").write_text("")
    (root / "tests" / "hidden" / "test_model.py").write_text(TESTS)
    (root / "assignment.toml").write_text(textwrap.dedent('''
        name = "tiny"
        modules = ["mod"]
        [artifacts]
        files = ["model.bin"]
        max_mb = 0.001
        [[questions]]
        id = "model"
        '''))
    (root / "solution" / "mod.py").write_text("def f():\n    return 1\n")
    (root / "solution" / "model.bin").write_bytes(bytes([100]))
    return assignments.load(root)


def grade(a, tmp_path, model: bytes | None):
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "mod.py").write_text("def f():\n    return 1\n")
    if model is not None:
        (folder / "model.bin").write_bytes(model)
    return {r.name: r for r in run_assignment_tests(a, folder, seed=1)}["the submitted model is good enough"]


def test_the_reference_artifact_earns_full_marks(tiny):
    result = {r.name: r for r in run_assignment_tests(tiny, tiny.solution_dir, seed=1)}
    assert result["the submitted model is good enough"].score == 4


def test_a_passing_test_can_earn_a_share_of_its_points_with_a_message(tiny, tmp_path):
    result = grade(tiny, tmp_path, bytes([40]))
    assert (result.score, result.max_score, result.status, result.verdict) == (1.6, 4, "failed", "partial credit")
    assert result.message == "your model reaches 40%: train it longer"


def test_a_missing_artifact_fails_with_the_tests_message(tiny, tmp_path):
    result = grade(tiny, tmp_path, None)
    assert result.score == 0 and "no model.bin beside mod.py" in result.message


def test_an_artifact_over_the_size_limit_is_refused_with_a_message(tiny, tmp_path):
    result = grade(tiny, tmp_path, bytes([100]) * 2000)
    assert result.score == 0 and "model.bin is larger than" in result.message


def test_the_bundle_carries_the_reference_artifact_and_the_fingerprint_covers_it(tiny, tmp_path):
    from autograder.packaging import build_bundle_tree

    build_bundle_tree(tiny, tmp_path / "bundle")
    assert (tmp_path / "bundle" / "solution" / "model.bin").read_bytes() == bytes([100])
    before = tiny.fingerprint()
    (tiny.solution_dir / "model.bin").write_bytes(bytes([99]))
    assert tiny.fingerprint() != before
