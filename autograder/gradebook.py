"""The SQLite gradebook: every test result of every graded submission.

A graded submission is identified by a digest of its assignment, the grader's
fingerprint (tests, oracle, reference) and its files' content, so regrading
unchanged work against unchanged tests is free. Each submission's results are
committed in one transaction as soon as they are known: a run killed at any
point and started again redoes at most the submissions it was in the middle of,
and never stores a result twice.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from autograder.scoring import SubmissionResult, TestResult

SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    id TEXT PRIMARY KEY,
    assignment TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    grader_fingerprint TEXT NOT NULL,
    seed INTEGER NOT NULL,
    score REAL NOT NULL,
    max_score REAL NOT NULL,
    problem TEXT NOT NULL DEFAULT '',
    seconds REAL NOT NULL,
    mode TEXT NOT NULL,
    graded_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS results (
    submission_id TEXT NOT NULL REFERENCES submissions(id) ON DELETE CASCADE,
    test_id TEXT NOT NULL,
    name TEXT NOT NULL,
    question TEXT NOT NULL,
    score REAL NOT NULL,
    max_score REAL NOT NULL,
    status TEXT NOT NULL,
    verdict TEXT NOT NULL,
    message TEXT NOT NULL,
    visibility TEXT NOT NULL,
    seconds REAL NOT NULL,
    measurement TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (submission_id, test_id)
);
CREATE TABLE IF NOT EXISTS students (
    assignment TEXT NOT NULL,
    student TEXT NOT NULL,
    submission_id TEXT NOT NULL REFERENCES submissions(id),
    source TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (assignment, student)
);
"""

TEST_COLUMNS = ["test_id", "name", "question", "score", "max_score", "status", "verdict",
                "message", "visibility", "seconds", "measurement"]


class Gradebook:
    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.executescript(SCHEMA)
        self._upgrade()

    def _upgrade(self) -> None:
        """Gradebooks written by an older rnnkit lack the measurement column (speed targets)."""
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(results)")}
        if "measurement" not in columns:
            with self.db:
                self.db.execute("ALTER TABLE results ADD COLUMN measurement TEXT NOT NULL DEFAULT ''")

    def close(self) -> None:
        self.db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- writing ----------------------------------------------------------
    def record(self, result: SubmissionResult, content_hash: str, fingerprint: str,
               source: str, mode: str) -> None:
        """Store one graded submission and point its student at it, atomically."""
        now = _now()
        with self.db:
            self.db.execute(
                "INSERT OR REPLACE INTO submissions VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (result.submission_id, result.assignment, content_hash, fingerprint, result.seed,
                 result.score, result.max_score, result.problem, result.seconds, mode, now))
            self.db.execute("DELETE FROM results WHERE submission_id = ?", (result.submission_id,))
            self.db.executemany(
                f"INSERT INTO results (submission_id, {', '.join(TEST_COLUMNS)}) VALUES ({', '.join('?' * (len(TEST_COLUMNS) + 1))})",
                [(result.submission_id, *(getattr(t, c) for c in TEST_COLUMNS)) for t in result.tests])
            self._assign(result.assignment, result.student, result.submission_id, source, now)

    def assign(self, assignment: str, student: str, submission_id: str, source: str) -> None:
        """Point ``student``'s current submission at an already graded one."""
        with self.db:
            self._assign(assignment, student, submission_id, source, _now())

    def _assign(self, assignment, student, submission_id, source, now):
        self.db.execute("INSERT OR REPLACE INTO students VALUES (?,?,?,?,?)",
                        (assignment, student, submission_id, source, now))

    # -- reading ----------------------------------------------------------
    def has(self, submission_id: str, mode: str | None = None) -> bool:
        """Whether the submission is graded (in sandbox ``mode``, if given)."""
        row = self.db.execute("SELECT mode FROM submissions WHERE id = ?", (submission_id,)).fetchone()
        return row is not None and (mode is None or row[0] == mode)

    def assignments(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT DISTINCT assignment FROM students ORDER BY assignment")]

    def load(self, submission_id: str, student: str) -> SubmissionResult:
        row = self.db.execute("SELECT assignment, seed, problem, seconds, mode FROM submissions WHERE id = ?",
                              (submission_id,)).fetchone()
        tests = [TestResult(**dict(zip(TEST_COLUMNS, r))) for r in self.db.execute(
            f"SELECT {', '.join(TEST_COLUMNS)} FROM results WHERE submission_id = ? ORDER BY rowid",
            (submission_id,))]
        return SubmissionResult(student=student, submission_id=submission_id, assignment=row[0],
                                tests=tests, problem=row[2], seed=row[1], seconds=row[3], mode=row[4])

    def class_results(self, assignment: str) -> list[SubmissionResult]:
        """Every student's current result for ``assignment``, sorted by student."""
        rows = self.db.execute("SELECT student, submission_id FROM students WHERE assignment = ? "
                               "ORDER BY student", (assignment,)).fetchall()
        return [self.load(submission_id, student) for student, submission_id in rows]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
