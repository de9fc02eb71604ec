"""Exports from the gradebook: a plain CSV per assignment and Gradescope results.json files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from autograder.assignment import Assignment, Question
from autograder.scoring import SubmissionResult, format_points, question_scores

FORMATS = ("csv", "gradescope")


def percentage(result: SubmissionResult) -> float:
    return round(100.0 * result.score / result.max_score, 2) if result.max_score else 0.0


def questions_of(results: list[SubmissionResult], assignment: Assignment | None) -> list[Question]:
    """The assignment's questions if known, else those seen in the results, in order."""
    if assignment is not None:
        return assignment.questions
    seen = []
    for r in results:
        for t in r.tests:
            if t.question not in seen:
                seen.append(t.question)
    return [Question(q, q) for q in seen]


def write_csv(results: list[SubmissionResult], questions: list[Question], path: Path) -> Path:
    """One row per student: a column per question, then total, maximum and percentage."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", *[q.id for q in questions], "total", "max", "percentage", "problem",
                         "sandbox"])
        for r in results:
            scores = {q.id: q.score for q in question_scores(r.tests, questions)}
            writer.writerow([r.student, *[format_points(scores[q.id]) for q in questions],
                             format_points(r.score), format_points(r.max_score), percentage(r), r.problem,
                             r.mode])
    return path


def gradescope_results(result: SubmissionResult, questions: list[Question]) -> dict:
    """Gradescope's results.json for one submission (scores computed here, never by the child)."""
    titles = {q.id: q.title for q in questions}
    order = {q.id: i for i, q in enumerate(questions)}
    numbered = sorted(result.tests, key=lambda t: (order.get(t.question, len(order)), t.visibility != "public"))
    counters: dict[str, int] = {}
    tests = []
    for t in numbered:
        counters[t.question] = counters.get(t.question, 0) + 1
        tests.append({
            "score": t.score,
            "max_score": t.max_score,
            "status": "passed" if t.passed else "failed",
            "name": t.name,
            "number": f"{order.get(t.question, len(order)) + 1}.{counters[t.question]}",
            "output": t.message if not t.passed else "",
            "output_format": "text",
            "tags": [t.question, t.visibility],
            "visibility": "visible" if t.visibility == "public" else "after_due_date",
            "extra_data": {"question": titles.get(t.question, t.question), "verdict": t.verdict},
        })
    summary = f"{format_points(result.score)} of {format_points(result.max_score)} points."
    if result.problem:
        summary += f" Your submission could not be graded as submitted: {result.problem}"
    return {
        "score": result.score,
        "execution_time": round(result.seconds, 3),
        "output": summary,
        "output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "leaderboard": [],
    }


def write_gradescope(results: list[SubmissionResult], questions: list[Question], folder: Path) -> list[Path]:
    written = []
    for r in results:
        path = folder / r.student / "results.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(gradescope_results(r, questions), indent=2) + "\n")
        written.append(path)
    return written


def write_reports(results: list[SubmissionResult], assignment_name: str, questions: list[Question],
                  formats: list[str], out_dir: Path) -> list[Path]:
    written = []
    if "csv" in formats:
        written.append(write_csv(results, questions, out_dir / f"{assignment_name}-grades.csv"))
    if "gradescope" in formats:
        written += write_gradescope(results, questions, out_dir / "gradescope" / assignment_name)
    return written
