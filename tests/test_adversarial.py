"""The adversarial suite: hostile submissions graded in one batch beside honest ones.

Every case in tests/adversarial/cases.toml must get exactly its expected score and
verdict, the honest neighbours must keep their usual scores, and no process of any
submission may be left when grading ends. Grading runs with tight limits so the
suite stays quick; the sandbox is the real one (bubblewrap).
"""

from __future__ import annotations

import dataclasses
import shutil
import tomllib
from pathlib import Path

import pytest

from autograder.batch import grade_class
from autograder.gradebook import Gradebook
from autograder.scoring import question_scores
from autograder.student import Limits
from autograder.submissions import discover
from conftest import sandbox_processes

HERE = Path(__file__).resolve().parent / "adversarial"
CASES = tomllib.loads((HERE / "cases.toml").read_text())
NEIGHBOURS = {"perfect": 91, "mask-ignored": 82}   # from examples/sample_class.py
TIGHT = Limits(call_timeout_s=3, submission_timeout_s=25, memory_mb=768, file_size_mb=16,
               processes=64, scratch_mb=64)
HOST_MARKERS = [Path("/tmp/rnnkit-adversarial-unpickled"), Path("/tmp/rnnkit-adversarial-shell-ran")]

pytestmark = pytest.mark.slow


def build_submission(case: str, spec: dict, folder: Path, repo_root: Path) -> None:
    """The folder NAME/ as it is, plus rnn_layers.py made of the base and NAME.py where there is one."""
    if (HERE / case).is_dir():
        shutil.copytree(HERE / case, folder)
    else:
        folder.mkdir()
    if (HERE / f"{case}.py").exists():
        base = {"stub": repo_root / "student_template" / "vanilla_rnn" / "rnn_layers.py",
                "solution": repo_root / "examples" / "submissions" / "perfect" / "rnn_layers.py"}[spec.get("base", "stub")]
        attack = (HERE / f"{case}.py").read_text()
        (folder / "rnn_layers.py").write_text(base.read_text() + "\n\n# --- hostile part\n" + attack)


@pytest.fixture(scope="module")
def graded(vanilla_rnn, repo_root, tmp_path_factory):
    root = tmp_path_factory.mktemp("adversarial")
    for marker in HOST_MARKERS:
        marker.unlink(missing_ok=True)
    for case, spec in CASES.items():
        build_submission(case, spec, root / case, repo_root)
    for name in NEIGHBOURS:
        shutil.copytree(repo_root / "examples" / "submissions" / name, root / name)
    assignment = dataclasses.replace(vanilla_rnn, limits=TIGHT)
    found = discover([root], assignment.modules)
    with Gradebook(root / "grades.sqlite") as book:
        outcomes = grade_class(assignment, found, book, workers=2, sandbox="bwrap")
        results = {r.student: r for r in book.class_results(assignment.name)}
    return {"outcomes": outcomes, "results": results, "leftovers": sandbox_processes(),
            "assignment": assignment}


def test_every_submission_was_graded(graded):
    assert [o.student for o in graded["outcomes"] if o.grader_error] == []
    assert set(graded["results"]) == set(CASES) | set(NEIGHBOURS)


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_submission_gets_its_verdict(graded, case):
    spec, result = CASES[case], graded["results"][case]
    by_question = {q.id: q for q in question_scores(result.tests, graded["assignment"].questions)}
    if "lost" in spec:
        for qid, q in by_question.items():
            expected = 0 if qid in spec["lost"] else q.max_score
            assert q.score == expected, f"{case}: {qid} scored {q.score}, expected {expected}"
    else:
        assert result.score == spec["score"], [(t.name, t.verdict) for t in result.tests if t.passed]
    verdicts = {t.verdict for t in result.tests if not t.passed}
    if "verdicts" in spec:
        assert verdicts & set(spec["verdicts"]), f"{case}: verdicts were {sorted(verdicts)}"
    if "problem" in spec:
        assert spec["problem"] in result.problem, result.problem
    assert all(t.message for t in result.tests if not t.passed), "every failure says why"


def test_honest_neighbours_keep_their_scores(graded):
    """Graded in the same batch as the fork bomb and the memory bombs."""
    assert {name: graded["results"][name].score for name in NEIGHBOURS} == NEIGHBOURS


def test_no_process_outlives_grading(graded):
    assert graded["leftovers"] == []


def test_nothing_was_unpickled_run_or_written_on_the_host(graded):
    assert not any(marker.exists() for marker in HOST_MARKERS)
    assert not Path("/autograder/results/results.json").exists()
