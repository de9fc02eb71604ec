"""The gradebook: every result recorded once, reruns free, a killed run finishes without loss."""

import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from autograder.batch import grade_class
from autograder.gradebook import Gradebook
from autograder.submissions import discover
from conftest import counts, graded_so_far, sandbox_processes


def test_every_test_result_is_recorded(graded_sample_class, vanilla_rnn):
    db, outcomes = graded_sample_class
    with Gradebook(db) as book:
        for student, outcome in outcomes.items():
            stored = book.load(outcome.result.submission_id, student)
            assert len(stored.tests) == len(outcome.result.tests) > 40
            assert stored.score == outcome.result.score


def test_regrading_unchanged_work_is_free_and_adds_nothing(graded_sample_class, vanilla_rnn, repo_root):
    db, _ = graded_sample_class
    before = counts(db)
    found = discover([repo_root / "examples" / "submissions"], vanilla_rnn.modules)
    with Gradebook(db) as book:
        outcomes = grade_class(vanilla_rnn, found, book)
    assert all(o.cached for o in outcomes)
    assert counts(db) == before


def test_force_regrades_in_place_and_another_sandbox_mode_regrades(tmp_path, vanilla_rnn, repo_root):
    found = discover([repo_root / "examples" / "submissions" / "mask-ignored"], vanilla_rnn.modules)
    with Gradebook(tmp_path / "g.sqlite") as book:
        first = grade_class(vanilla_rnn, found, book)
        forced = grade_class(vanilla_rnn, found, book, force=True)
        other_mode = grade_class(vanilla_rnn, found, book, sandbox="process")
        [stored] = book.class_results(vanilla_rnn.name)
    assert [o.cached for o in first + forced + other_mode] == [False, False, False]
    assert first[0].result.score == forced[0].result.score == other_mode[0].result.score == 82
    assert stored.mode == "process"
    assert counts(tmp_path / "g.sqlite") == {"submissions": 1, "results": len(stored.tests), "students": 1}


def test_identical_work_from_two_students_is_graded_once_and_recorded_for_both(tmp_path, vanilla_rnn, repo_root):
    source = (repo_root / "examples" / "submissions" / "perfect" / "rnn_layers.py").read_bytes()
    for name in ("ann", "bob"):
        (tmp_path / "class" / name).mkdir(parents=True)
        (tmp_path / "class" / name / "rnn_layers.py").write_bytes(source)
    with Gradebook(tmp_path / "g.sqlite") as book:
        outcomes = grade_class(vanilla_rnn, discover([tmp_path / "class"], vanilla_rnn.modules), book)
    assert [o.student for o in outcomes] == ["ann", "bob"]
    assert counts(tmp_path / "g.sqlite")["submissions"] == 1
    assert counts(tmp_path / "g.sqlite")["students"] == 2


@pytest.mark.slow
def test_a_run_killed_midway_finishes_on_rerun_without_loss_or_duplicates(tmp_path, repo_root):
    db = tmp_path / "g.sqlite"
    command = [sys.executable, str(repo_root / "cli.py"), "grade", str(repo_root / "examples" / "submissions"),
               "--assignment", "vanilla_rnn", "--db", str(db), "--workers", "1"]
    run = subprocess.Popen(command, cwd=repo_root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and graded_so_far(db) < 2:
        time.sleep(0.05)
    run.send_signal(signal.SIGKILL)
    run.wait()
    for _ in range(100):  # the sandboxes die with their grader
        if not sandbox_processes():
            break
        time.sleep(0.05)
    assert sandbox_processes() == []
    partial = counts(db)
    found = discover([repo_root / "examples" / "submissions"], ["rnn_layers"])
    distinct = len({s.content_hash for s in found})  # perfect/ and zipped-perfect.zip hold the same file
    assert 2 <= partial["submissions"] < distinct
    subprocess.run(command, cwd=repo_root, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    final = counts(db)
    assert final["students"] == len(found) and final["submissions"] == distinct
    with sqlite3.connect(db) as c:
        per_submission = c.execute("SELECT submission_id, COUNT(*) FROM results GROUP BY submission_id").fetchall()
    assert len({n for _, n in per_submission}) == 1  # every submission has its full, unduplicated set


def test_a_broken_test_suite_is_the_graders_fault_and_records_nothing(course_copy, repo_root):
    from autograder import assignment as assignments

    hidden = course_copy / "assignments" / "vanilla_rnn" / "tests" / "hidden" / "test_q1_rnn_step.py"
    hidden.write_text(hidden.read_text() + "\nthis is not python\n")
    a = assignments.load("vanilla_rnn", course_copy)
    found = discover([repo_root / "examples" / "submissions" / "perfect"], a.modules)
    with Gradebook(course_copy / "g.sqlite") as book:
        [outcome] = grade_class(a, found, book)
    assert outcome.result is None
    assert "could not be collected" in outcome.grader_error and "test_q1_rnn_step.py" in outcome.grader_error
    assert counts(course_copy / "g.sqlite") == {"submissions": 0, "results": 0, "students": 0}
