"""Grade files that learning management systems import, built from the gradebook and a roster
(and, through :func:`write_exports`, the feedback pages and the instructor's HTML report).

- ``canvas``: Canvas's gradebook import CSV. The header is ``Student, ID, SIS User ID,
  SIS Login ID, Section`` and one column per assignment named ``Title (assignment id)``
  (Canvas matches the column to the assignment by that id; without one it creates a new
  assignment). The second row, ``Points Possible``, is the one Canvas's own export writes.
- ``moodle``: a grade import CSV keyed by ``ID number`` and ``Email address`` (choose
  either under "Identify user by"), with the grade and a ``Feedback`` column to map to
  the grade item and its feedback.
- ``otter``: otter-grader's ``final_grades.csv``: ``file``, one column per question
  (sorted), ``total_points_earned``, ``percent_correct``, ``grading_status``, with a first
  row ``points-per-question`` holding the maxima.

Canvas and Moodle rows come from the roster: students with no submission get an empty
grade, which both LMSs leave unchanged on import.
"""

from __future__ import annotations

import csv
from pathlib import Path

from autograder.feedback import comment, write_feedback
from autograder.report_html import write_html_report
from autograder.roster import Matching
from autograder.scoring import SubmissionResult, format_points, question_scores

CANVAS_HEADER = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
CANVAS_POINTS_ROW = "    Points Possible"
MOODLE_HEADER = ["ID number", "Email address", "Full name"]
OTTER_POINTS_ROW = "points-per-question"
OTTER_TAIL = ["total_points_earned", "percent_correct", "grading_status"]


def _by_student(results: list[SubmissionResult]) -> dict[str, SubmissionResult]:
    return {r.student: r for r in results}


def _roster_rows(results, matching: Matching):
    """(roster entry, result or None) in roster order, every student once."""
    by_student = _by_student(results)
    owner = {entry.student_id: name for name, entry in matching.matched.items()}
    entries = sorted({*matching.matched.values(), *matching.missing}, key=lambda e: e.student_id)
    for entry in entries:
        name = owner.get(entry.student_id)
        yield entry, by_student.get(name) if name else None


def canvas_column(title: str, canvas_assignment_id: str | None) -> str:
    return f"{title} ({canvas_assignment_id})" if canvas_assignment_id else title


def write_canvas(results, matching: Matching, title: str, max_score: float, path: Path,
                 canvas_assignment_id: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow([*CANVAS_HEADER, canvas_column(title, canvas_assignment_id)])
        writer.writerow([CANVAS_POINTS_ROW, "", "", "", "", format_points(max_score)])
        for entry, result in _roster_rows(results, matching):
            writer.writerow([entry.name, entry.canvas_user_id, entry.sis_user_id, entry.sis_login_id,
                             entry.section, format_points(result.score) if result else ""])
    return path


def write_moodle(results, matching: Matching, title: str, questions, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow([*MOODLE_HEADER, title, "Feedback"])
        for entry, result in _roster_rows(results, matching):
            writer.writerow([entry.student_id, entry.email, entry.name,
                             format_points(result.score) if result else "",
                             comment(result, questions) if result else ""])
    return path


def write_otter(results: list[SubmissionResult], questions, path: Path) -> Path:
    """otter-grader's layout, for courses moving from it; ``file`` is the submission's name."""
    ids = sorted(q.id for q in questions)
    maxima = {q.id: q.max_score for q in question_scores(results[0].tests, questions)} if results else {}
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["file", *ids, *OTTER_TAIL])
        if results:
            total = sum(maxima.values())
            writer.writerow([OTTER_POINTS_ROW, *(format_points(maxima[i]) for i in ids),
                             format_points(total), "1", "--"])
        for r in sorted(results, key=lambda r: r.student):
            scores = {q.id: q.score for q in question_scores(r.tests, questions)}
            percent = round(r.score / r.max_score, 4) if r.max_score else 0
            status = f"Not graded as submitted: {r.problem}" if r.problem else "Completed"
            writer.writerow([r.student, *(format_points(scores[i]) for i in ids), format_points(r.score),
                             f"{percent:g}", status])
    return path


# Formats that need a roster, and every format this module writes.
ROSTER_FORMATS = ("canvas", "moodle")
FORMATS = ("canvas", "moodle", "otter", "feedback", "html")


def write_exports(results: list[SubmissionResult], assignment_name: str, title: str, questions,
                  formats: list[str], out_dir: Path, matching: Matching | None = None,
                  canvas_assignment_id: str | None = None) -> list[Path]:
    """Write each requested format under ``out_dir``; Canvas and Moodle need ``matching``."""
    max_score = max((r.max_score for r in results), default=0.0)
    written = []
    if "canvas" in formats:
        written.append(write_canvas(results, matching, title, max_score,
                                    out_dir / f"{assignment_name}-canvas.csv", canvas_assignment_id))
    if "moodle" in formats:
        written.append(write_moodle(results, matching, title, questions, out_dir / f"{assignment_name}-moodle.csv"))
    if "otter" in formats:
        written.append(write_otter(results, questions, out_dir / f"{assignment_name}-final_grades.csv"))
    if "feedback" in formats:
        written += write_feedback(results, questions, title, out_dir / "feedback" / assignment_name)
    if "html" in formats:
        written.append(write_html_report(results, assignment_name, title, questions, out_dir))
    return written
