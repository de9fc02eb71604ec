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


GRADESCOPE_VISIBILITY = {"public": "visible", "hidden": "after_due_date"}
GRADESCOPE_SANDBOXES = {"bwrap": "the bubblewrap sandbox", "process": "a plain child process, without the sandbox"}


def gradescope_results(result: SubmissionResult, questions: list[Question], notes: list[str] = (),
                       leaderboard: list[dict] = ()) -> dict:
    """Gradescope's results.json for one submission (scores computed here, never by the child).

    Outputs are Markdown. Text a student can influence (messages quoting their exceptions, file
    names) goes into code blocks, where it renders as written. ``notes`` are extra Markdown
    paragraphs for the summary (how the code was run, say); ``leaderboard`` entries
    ({name, value, order?}) follow the score and percentage, so that an assignment can rank
    students by what else it measures (bits per character, a speed ratio).
    """
    titles = {q.id: q.title for q in questions}
    order = {q.id: i for i, q in enumerate(questions)}

    def block(text: str) -> str:
        fence = "```"
        while fence in text:   # longer than any backtick run inside, so the text cannot close it
            fence += "`"
        return f"{fence}text\n{text}\n{fence}"

    def entry(t, number: str) -> dict:
        return {
            "score": t.score,
            "max_score": t.max_score,
            "status": "passed" if t.passed else "failed",
            "name": t.name,
            "name_format": "text",
            "number": number,
            "output": (block(t.measurement) if t.measurement else "") if t.passed
            else f"**{t.verdict or 'failed'}**\n\n{block(t.message)}",
            "output_format": "md",
            "tags": [t.question, t.visibility],
            "visibility": GRADESCOPE_VISIBILITY.get(t.visibility, "after_due_date"),
            "extra_data": {"question": titles.get(t.question, t.question), "verdict": t.verdict,
                           **({"measurement": t.measurement} if t.measurement else {})},
        }

    def summary() -> str:
        total = f"{format_points(result.score)} of {format_points(result.max_score)} points"
        parts = [f"**{total}** ({percentage(result):g}%)"]
        # Public tests only: hidden tests' results stay hidden until Gradescope shows them.
        public = [t for t in result.tests if t.visibility == "public"]
        rows = [f"| {q.title.replace('|', '/')} | {q.passed} / {q.total} |"
                for q in question_scores(public, questions) if q.total]
        if rows:
            parts.append("\n".join(["| Question | Public tests passed |", "| --- | ---: |", *rows]))
        if result.problem:
            parts.append(f"**Your submission could not be graded as submitted:**\n\n{block(result.problem)}")
        verdicts: dict[str, int] = {}
        for t in public:
            if not t.passed:
                verdicts[t.verdict or "failed"] = verdicts.get(t.verdict or "failed", 0) + 1
        if verdicts:
            parts.append("Public tests not passed, by verdict: "
                         + ", ".join(f"{verdict} {n}" for verdict, n in sorted(verdicts.items())) + ".")
        if result.mode:
            parts.append(f"Your code ran in {GRADESCOPE_SANDBOXES.get(result.mode, result.mode)}.")
        return "\n\n".join([*parts, *notes])

    numbered = sorted(result.tests, key=lambda t: (order.get(t.question, len(order)), t.visibility != "public"))
    counters: dict[str, int] = {}
    tests = []
    for t in numbered:
        counters[t.question] = counters.get(t.question, 0) + 1
        tests.append(entry(t, f"{order.get(t.question, len(order)) + 1}.{counters[t.question]}"))
    return {
        "score": result.score,
        "execution_time": round(result.seconds, 2),
        "output": summary(),
        "output_format": "md",
        "test_output_format": "md",
        "test_name_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "leaderboard": [{"name": "Score", "value": result.score, "order": "desc"},
                        {"name": "Percentage", "value": percentage(result), "order": "desc"},
                        *leaderboard],
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
