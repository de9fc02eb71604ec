"""Posting grades to Canvas (autograder/canvas.py), against the fake Canvas in fake_canvas.py."""

from __future__ import annotations

import sqlite3

import pytest
from fake_canvas import FakeCanvas

from autograder.canvas import (
    CanvasAuthError,
    CanvasClient,
    CanvasError,
    GradeEntry,
    UploadInterrupted,
    plan,
    token_from_env,
    upload,
)

COURSE, ASSIGNMENT = 1, 7

ENTRIES = [
    GradeEntry("ada", "101", 9.5, "Good work.\n\n**Q2**: check the gradient clipping."),
    GradeEntry("bob", "sis_user_id:S002", 7.0, "BPTT is off by one step."),
    GradeEntry("cy", "sis_login_id:cy", 10.0, "Perfect."),
    GradeEntry("di", "104", 4.25, ""),
    GradeEntry("ed", "sis_user_id:S005", 0.0, "No submission received."),
]


@pytest.fixture
def fake():
    with FakeCanvas() as server:
        yield server


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(fake, sleeps) -> CanvasClient:
    return CanvasClient(fake.url, fake.token, timeout=5, sleep=sleeps.append)


@pytest.fixture
def ledger(tmp_path):
    return tmp_path / "canvas-ledger.sqlite"


def ledger_users(path) -> list[str]:
    with sqlite3.connect(path) as db:
        return sorted(row[0] for row in db.execute("SELECT user FROM posted"))


def test_upload_posts_every_grade_and_comment(fake, client, ledger):
    report = upload(client, COURSE, ASSIGNMENT, ENTRIES, ledger)

    assert report.ok and [e.student for e in report.posted] == ["ada", "bob", "cy", "di", "ed"]
    assert fake.grades == {101: 9.5, 102: 7.0, 103: 10.0, 104: 4.25, 105: 0.0}
    assert fake.comments == {101: [ENTRIES[0].comment], 102: [ENTRIES[1].comment],
                             103: ["Perfect."], 105: ["No submission received."]}  # no empty comment for di
    assert ledger_users(ledger) == sorted(e.user for e in ENTRIES)
    # Five students, two per page: the submissions were read in three pages.
    pages = [r for r in fake.requests if r[0] == "GET" and r[1].endswith("/submissions")]
    assert len(pages) == 3


def test_dry_run_posts_nothing_and_reports_new_changed_unchanged(fake, client, ledger):
    fake.set_grade(101, 9.5, ENTRIES[0].comment)  # ada: already there
    fake.set_grade(102, 6.0, ENTRIES[1].comment)  # bob: 6 -> 7
    fake.set_grade(103, 10.0)                     # cy: same score, comment missing
    ghost = GradeEntry("zed", "sis_user_id:NOPE", 5.0, "")

    changes = plan(client, COURSE, ASSIGNMENT, ENTRIES + [ghost])
    assert [(c.entry.student, c.status, c.old_score) for c in changes] == [
        ("ada", "unchanged", 9.5), ("bob", "changed", 6.0), ("cy", "changed", 10.0),
        ("di", "new", None), ("ed", "new", None), ("zed", "unknown", None)]
    assert "6 -> 7" in changes[1].describe()
    assert "comment not yet on Canvas" in changes[2].describe()

    report = upload(client, COURSE, ASSIGNMENT, ENTRIES, ledger, dry_run=True)
    assert [c.entry.student for c in report.pending] == ["bob", "cy", "di", "ed"]
    assert [o.entry.student for o in report.skipped] == ["ada"]
    assert not report.posted and not fake.puts
    assert not any(method == "PUT" for method, _, _ in fake.requests)
    assert not ledger.exists()


def test_wrong_token_says_to_set_canvas_api_token(fake, ledger):
    client = CanvasClient(fake.url, "expired-token-1234", timeout=5)
    with pytest.raises(CanvasAuthError) as err:
        upload(client, COURSE, ASSIGNMENT, ENTRIES, ledger)
    assert str(err.value) == (f"Canvas rejected the token (401): set CANVAS_API_TOKEN to a valid "
                              f"access token for {fake.url}")
    assert "expired-token" not in str(err.value) and "expired-token" not in repr(client)
    assert not fake.puts


@pytest.mark.parametrize("status", [403, 429])
def test_rate_limiting_is_retried_and_succeeds(fake, client, sleeps, ledger, status):
    fake.rate_limit_puts, fake.rate_limit_status = 3, status

    report = upload(client, COURSE, ASSIGNMENT, ENTRIES, ledger)

    assert report.ok and len(report.posted) == 5
    assert sleeps == [1.0, 2.0, 4.0]  # exponential backoff, through the injected sleep
    assert [fake.puts_for(s.id) for s in fake.students] == [1] * 5
    assert sum(1 for r in fake.requests if r[2] == status) == 3


def test_rate_limit_that_never_ends_stops_and_says_rerun(fake, ledger):
    fake.rate_limit_puts = 100
    client = CanvasClient(fake.url, fake.token, timeout=5, max_retries=2, sleep=lambda s: None)
    with pytest.raises(UploadInterrupted) as err:
        upload(client, COURSE, ASSIGNMENT, ENTRIES, ledger)
    assert "still rate-limiting" in str(err.value) and "rerun" in str(err.value)
    assert len(err.value.report.remaining) == 5 and not fake.puts


def test_failure_after_k_posts_leaves_ledger_of_k_and_rerun_posts_the_rest(fake, client, ledger):
    fake.drop_after_puts = 2

    with pytest.raises(UploadInterrupted) as err:
        upload(client, COURSE, ASSIGNMENT, ENTRIES, ledger)

    report = err.value.report
    assert [e.student for e in report.posted] == ["ada", "bob"]
    assert [e.student for e in report.remaining] == ["cy", "di", "ed"]
    assert "rerun the same command to post the remaining 3" in str(err.value)
    assert ledger_users(ledger) == ["101", "sis_user_id:S002"]
    assert set(fake.grades) == {101, 102}

    again = upload(client, COURSE, ASSIGNMENT, ENTRIES, ledger)
    assert [e.student for e in again.posted] == ["cy", "di", "ed"]
    assert [o.entry.student for o in again.skipped] == ["ada", "bob"]
    assert [fake.puts_for(s.id) for s in fake.students] == [1] * 5  # each grade posted exactly once
    assert len(ledger_users(ledger)) == 5


def test_lost_answer_is_not_posted_twice(fake, client, ledger):
    # Canvas stores cy's grade but the answer never arrives: the rerun finds it on Canvas.
    fake.drop_after_puts, fake.drop_applies = 2, True
    with pytest.raises(UploadInterrupted):
        upload(client, COURSE, ASSIGNMENT, ENTRIES, ledger)
    assert ledger_users(ledger) == ["101", "sis_user_id:S002"]

    again = upload(client, COURSE, ASSIGNMENT, ENTRIES, ledger)
    assert [e.student for e in again.posted] == ["di", "ed"]
    assert ("cy", "already on Canvas") in [(o.entry.student, o.reason) for o in again.skipped]
    assert fake.comments[103] == ["Perfect."]
    assert [fake.puts_for(s.id) for s in fake.students] == [1] * 5


def test_changed_score_is_reposted_unchanged_is_not(fake, client, ledger):
    upload(client, COURSE, ASSIGNMENT, ENTRIES, ledger)
    regraded = [GradeEntry(e.student, e.user, 8.0, e.comment) if e.student == "bob" else e for e in ENTRIES]

    report = upload(client, COURSE, ASSIGNMENT, regraded, ledger)

    assert [e.student for e in report.posted] == ["bob"]
    assert len(report.skipped) == 4 and all("already posted on" in o.reason for o in report.skipped)
    assert fake.grades[102] == 8.0 and fake.puts_for(102) == 2
    assert [fake.puts_for(i) for i in (101, 103, 104, 105)] == [1, 1, 1, 1]
    with sqlite3.connect(ledger) as db:
        assert db.execute("SELECT score FROM posted WHERE user='sis_user_id:S002'").fetchone() == (8.0,)


def test_unknown_student_fails_alone(fake, client, ledger):
    entries = ENTRIES[:2] + [GradeEntry("zed", "sis_user_id:NOPE", 5.0, "hi")] + ENTRIES[2:]

    report = upload(client, COURSE, ASSIGNMENT, entries, ledger)

    assert [(o.entry.student, o.reason) for o in report.failed] == [
        ("zed", "no such student in course 1 (RNN 101): sis_user_id:NOPE")]
    assert len(report.posted) == 5 and not report.ok
    assert "sis_user_id:NOPE" not in ledger_users(ledger)


def test_sis_course_id_and_ledger_keys_agree(fake, client, ledger):
    upload(client, "sis_course_id:RNN-101", ASSIGNMENT, ENTRIES, ledger)
    again = upload(client, COURSE, ASSIGNMENT, ENTRIES, ledger)
    assert not again.posted and len(again.skipped) == 5


def test_missing_course_or_assignment_says_where_to_find_the_id(client, ledger):
    with pytest.raises(CanvasError, match="no course 99 .* number after /courses/"):
        upload(client, 99, ASSIGNMENT, ENTRIES, ledger)
    with pytest.raises(CanvasError, match="no assignment 8 in course 1"):
        plan(client, COURSE, 8, ENTRIES)


def test_token_from_env(monkeypatch):
    monkeypatch.delenv("CANVAS_API_TOKEN", raising=False)
    with pytest.raises(CanvasAuthError, match="CANVAS_API_TOKEN is not set"):
        token_from_env()
    monkeypatch.setenv("CANVAS_API_TOKEN", " abc123\n")
    assert token_from_env() == "abc123"


def test_plain_http_is_refused_off_this_machine():
    with pytest.raises(CanvasError, match="refusing to send the Canvas token over plain http"):
        CanvasClient("http://canvas.example.edu", "t")


def test_duplicate_user_is_refused(client, ledger):
    with pytest.raises(ValueError, match="both Canvas user 101"):
        plan(client, COURSE, ASSIGNMENT, [ENTRIES[0], GradeEntry("ada2", "101", 1.0)])


def test_grade_changed_by_hand_in_canvas_is_left_alone(fake, client, ledger):
    upload(client, COURSE, ASSIGNMENT, ENTRIES, ledger)
    fake.set_grade(102, 7.5)  # the instructor adjusted bob's grade in Canvas

    report = upload(client, COURSE, ASSIGNMENT, ENTRIES, ledger)

    assert not report.posted and fake.grades[102] == 7.5
    assert "Canvas now shows 7.5, left as is" in next(o.reason for o in report.skipped if o.entry.student == "bob")
