"""Roster matching and the LMS import files, pinned against hand-written reference rows."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from autograder import exports
from autograder.gradebook import Gradebook
from autograder.roster import RosterError, load_mapping, load_roster, match

FORMATS = Path(__file__).resolve().parent / "lms_formats"


@pytest.fixture(scope="module")
def class_results(graded_sample_class):
    db, _ = graded_sample_class
    with Gradebook(db) as book:
        return book.class_results("vanilla_rnn")


@pytest.fixture(scope="module")
def roster(repo_root):
    return load_roster(repo_root / "examples" / "roster.csv")


def rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_the_sample_roster_matches_every_submission_and_lists_who_did_not_submit(class_results, roster):
    matching = match(roster, [r.student for r in class_results])
    assert len(matching.matched) == len(class_results) == 15
    assert matching.unmatched == [] and matching.ambiguous == {} and matching.several == {}
    assert [e.name for e in matching.missing] == ["Johnson, Katherine"]
    assert matching.problems() == ["student 1016 (Johnson, Katherine) has no submission"]


def test_submissions_match_by_any_identity_and_nothing_is_dropped_silently(roster, tmp_path):
    names = ["1001", "ghopper", "S1003", "Noether, Emmy", "clips-each-gradient@example.edu", "somebody", "mcurie", "1006"]
    matching = match(roster, names)
    assert {n: e.student_id for n, e in matching.matched.items()} == {
        "1001": "1001", "ghopper": "1002", "S1003": "1003", "Noether, Emmy": "1004", "clips-each-gradient@example.edu": "1005"}
    assert matching.unmatched == ["somebody"]
    assert matching.several == {"1006": ["1006", "mcurie"]}
    assert any("somebody" in p and "no student" in p for p in matching.problems())

    (tmp_path / "map.csv").write_text("submission,student_id\nsomebody,1016\n")
    mapped = match(roster, ["somebody"], load_mapping(tmp_path / "map.csv"))
    assert mapped.matched["somebody"].name == "Johnson, Katherine"


def test_a_bad_roster_says_what_is_wrong(tmp_path):
    (tmp_path / "r.csv").write_text("name,email\nAda,a@x\n")
    with pytest.raises(RosterError, match="no student id column"):
        load_roster(tmp_path / "r.csv")
    (tmp_path / "r.csv").write_text("Student ID,Name\n1,Ada\n1,Bob\n")
    with pytest.raises(RosterError, match="line 3: student id 1 is already on line 2"):
        load_roster(tmp_path / "r.csv")


def test_canvas_import_file(class_results, roster, vanilla_rnn, tmp_path):
    matching = match(roster, [r.student for r in class_results])
    path = exports.write_canvas(class_results, matching, "Assignment 1", 91, tmp_path / "c.csv", "4242")
    written, reference = rows(path), rows(FORMATS / "canvas.csv")
    assert written[:2] == reference[:2]                      # header and the Points Possible row
    assert reference[2] in written                           # Ada Lovelace (perfect): 91
    by_login = {r[3]: r for r in written[2:]}
    assert by_login["kjohnson"][-1] == ""                    # no submission: left unchanged on import
    assert by_login["cshannon"][-1] == "82" and len(written) == 2 + 16


def test_moodle_import_file(class_results, roster, vanilla_rnn, tmp_path):
    matching = match(roster, [r.student for r in class_results])
    path = exports.write_moodle(class_results, matching, "Assignment 1", vanilla_rnn.questions, tmp_path / "m.csv")
    written, reference = rows(path), rows(FORMATS / "moodle.csv")
    assert written[0] == reference[0]
    shannon = next(r for r in written if r[0] == "1007")
    assert shannon[:4] == reference[1][:4]
    assert shannon[4].splitlines()[0] == reference[1][4]     # the feedback cell's first line
    assert "Temporal softmax loss" in shannon[4]


def test_otter_final_grades_file(class_results, vanilla_rnn, tmp_path):
    path = exports.write_otter(class_results, vanilla_rnn.questions, tmp_path / "final_grades.csv")
    written, reference = rows(path), rows(FORMATS / "otter.csv")
    assert written[:2] == reference[:2]
    assert reference[2] in written
    statuses = {r[0]: r[-1] for r in written[2:]}
    assert statuses["perfect"] == "Completed" and statuses["wrong-file-name"].startswith("Not graded as submitted")


def test_punctuation_and_scripts_never_merge_two_students(tmp_path):
    (tmp_path / "r.csv").write_text("student_id,name\n1001,Ada\n10012,Bob\n2001,李雷\n", encoding="utf-8")
    roster = load_roster(tmp_path / "r.csv")
    matching = match(roster, ["1001-2", "王芳", "李雷", "1001"])
    assert {n: e.student_id for n, e in matching.matched.items()} == {"李雷": "2001", "1001": "1001"}
    assert sorted(matching.unmatched) == ["1001-2", "王芳"]
