"""Shared fixtures for rnnkit's own test suite."""

import os
import shutil
import sqlite3
import sys
from pathlib import Path

import pytest

from autograder import assignment as assignments
from autograder.batch import grade_class
from autograder.gradebook import Gradebook
from autograder.sandbox import MAX_SLOTS, UID_BASE
from autograder.submissions import discover

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples"))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def vanilla_rnn():
    return assignments.load("vanilla_rnn", ROOT)


@pytest.fixture(scope="session")
def graded_sample_class(vanilla_rnn, tmp_path_factory):
    """The bundled sample class graded once into a fresh gradebook: (db path, outcomes by student)."""
    db = tmp_path_factory.mktemp("gradebook") / "gradebook.sqlite"
    found = discover([ROOT / "examples" / "submissions"], vanilla_rnn.modules)
    with Gradebook(db) as book:
        outcomes = grade_class(vanilla_rnn, found, book, workers=2)
    return db, {o.student: o for o in outcomes}


@pytest.fixture
def course_copy(tmp_path) -> Path:
    """A scratch copy of the course (assignments, solutions, template, sample class) to modify freely."""
    for name in ("assignments", "solutions", "student_template", "examples"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def sandbox_processes() -> list[str]:
    """Processes that belong to a sandbox: a slot's UID, or the worker's command line."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            uid = os.stat(f"/proc/{entry}").st_uid
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = Path(f"/proc/{entry}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state in (b"Z", b"X"):
            continue  # dead, waiting to be reaped
        if UID_BASE <= uid < UID_BASE + MAX_SLOTS or "autograder.worker" in cmdline:
            found.append(f"{entry} (uid {uid}): {cmdline[:120]}")
    return found


def write_module(folder: Path, source: str, name: str = "mod") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.py").write_text(source)
    return folder


def counts(db) -> dict:
    """Rows per gradebook table."""
    with sqlite3.connect(db) as c:
        return {table: c.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                for table in ("submissions", "results", "students")}


def graded_so_far(db) -> int:
    """Submissions committed by a run in progress (0 before it has created its tables)."""
    try:
        return counts(db)["submissions"]
    except sqlite3.OperationalError:
        return 0
