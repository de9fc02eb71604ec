"""Feedback for one student: a Markdown page, the same as HTML, and a short plain-text comment.

It shows each question's points and each failed test's message. The messages are the
engine's own (shape mismatch, relative error, which edge case, timeout, memory limit,
...), written to be safe to show: they never contain a hidden test's code or an
expected value. Hidden tests are named, not shown.
"""

from __future__ import annotations

import html
from pathlib import Path

from markdown_it import MarkdownIt

from autograder.scoring import SubmissionResult, format_points, question_scores

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem;
       line-height: 1.45; color: #222; }}
table {{ border-collapse: collapse; margin: 1rem 0; }}
th, td {{ border: 1px solid #ccc; padding: .3rem .6rem; text-align: left; vertical-align: top; }}
th {{ background: #f3f3f3; }}
code {{ background: #f5f5f5; padding: 0 .2rem; }}
</style></head><body>
{body}
</body></html>
"""


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def markdown(result: SubmissionResult, questions, title: str) -> str:
    lines = [f"# {title}", "", f"**{result.student}**: {format_points(result.score)} of "
             f"{format_points(result.max_score)} points.", ""]
    if result.problem:
        lines += [f"Your submission could not be graded as submitted: {result.problem}", ""]
    if result.mode == "process":
        lines += ["_Graded without the sandbox (`--sandbox=process`)._", ""]
    lines += ["| Question | Points | Tests passed |", "| --- | ---: | ---: |"]
    for q in question_scores(result.tests, questions):
        lines.append(f"| {_cell(q.title)} | {format_points(q.score)} / {format_points(q.max_score)} "
                     f"| {q.passed} / {q.total} |")
    timed = [t for t in result.tests if t.measurement]
    if timed:
        lines += ["", "## Speed targets", ""]
        lines += [f"- **{_cell(t.name)}**: {'met' if t.passed else 'not met'}; {_cell(t.measurement)}"
                  for t in timed]
    failed = [t for t in result.tests if not t.passed]
    if failed:
        lines += ["", "## What to look at", ""]
        titles = {q.id: q.title for q in questions}
        for question in dict.fromkeys(t.question for t in failed):
            lines += [f"### {titles.get(question, question)}", ""]
            for t in (t for t in failed if t.question == question):
                kind = "hidden test" if t.visibility == "hidden" else "public test"
                lines.append(f"- **{_cell(t.name)}** ({kind}, {format_points(t.max_score)} pt): "
                             f"{t.verdict}: {_cell(t.message)}")
            lines.append("")
    else:
        lines += ["", "Every test passed."]
    return "\n".join(lines).rstrip() + "\n"


def to_html(markdown_text: str, title: str) -> str:
    # html=False: any markup inside a message is shown as text, never interpreted
    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown_text)
    return PAGE.format(title=html.escape(title), body=body)


def comment(result: SubmissionResult, questions) -> str:
    """A short plain-text summary, for an LMS comment or feedback column."""
    parts = [f"{format_points(result.score)}/{format_points(result.max_score)} points."]
    if result.problem:
        parts.append(f"Not graded as submitted: {result.problem}")
    for q in question_scores(result.tests, questions):
        line = f"{q.title}: {format_points(q.score)}/{format_points(q.max_score)}"
        if q.first_failure:
            line += f" ({q.first_failure})"
        parts.append(line)
    return "\n".join(parts)


def write_feedback(results: list[SubmissionResult], questions, title: str, folder: Path) -> list[Path]:
    """``folder/STUDENT.md`` and ``folder/STUDENT.html`` for every result."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for r in results:
        text = markdown(r, questions, title)
        for path, content in ((folder / f"{r.student}.md", text),
                              (folder / f"{r.student}.html", to_html(text, f"{title}: {r.student}"))):
            path.write_text(content, encoding="utf-8")
            written.append(path)
    return written
