"""Free-response questions: written answers in the companion notebook, graded by hand.

An assignment's notebook marks each question with cell metadata (see docs/authoring.md):

- the prompt, a markdown cell: ``{"rnnkit": {"free_response": "<id>", "points": <n>}}``;
- the answer, the cell right after it, which the student fills in:
  ``{"rnnkit": {"answer": "<id>"}}``.

The instructor's notebook (``assignments/NAME/NAME.ipynb``) is the authority on which
questions exist, their text and their points; a student's notebook gives only the
answers, found by their ids (and, if a student replaced the answer cell, by position:
the cell right after the prompt). At grading time :func:`collect` writes one Markdown
file per student that an instructor can read and grade, an index, and a copy of each
student's notebook (for ``rnnkit report --format pdf``), all beside the gradebook::

    <gradebook folder>/free_response/<assignment>/index.md
    <gradebook folder>/free_response/<assignment>/<student>.md
    <gradebook folder>/free_response/<assignment>/notebooks/<student>/<their notebook>.ipynb

Nothing here runs a notebook: it is read as JSON with nbformat, as data.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import nbformat

from autograder import notebooks
from autograder.scoring import format_points

FOLDER = "free_response"
NOTEBOOKS = "notebooks"
INDEX = "index.md"
MANIFEST = "manifest.json"
NO_ANSWER = "(no answer)"
MANUAL = "manual grading"


class FreeResponseError(ValueError):
    """A notebook that cannot be read, or an author's notebook whose markers are wrong."""


@dataclass(frozen=True)
class Prompt:
    id: str
    points: float
    text: str              # the prompt cell's markdown
    placeholder: str = ""  # what the answer cell holds before the student writes anything


@dataclass
class Responses:
    """One student's answers: prompt id -> the text they wrote ("" for none)."""
    student: str
    notebook: str = ""                 # the notebook the answers came from ("" if none)
    answers: dict[str, str] = field(default_factory=dict)
    problem: str = ""                  # why no answers could be read, if so

    def answered(self, prompts: list[Prompt]) -> int:
        return sum(bool(self.answers.get(p.id, "").strip()) for p in prompts)


@dataclass
class Collection:
    """What :func:`collect` wrote."""
    folder: Path
    index: Path
    prompts: list[Prompt]
    students: list[Responses]

    @property
    def points(self) -> float:
        return sum(p.points for p in self.prompts)

    def summary(self) -> str:
        with_answers = sum(1 for r in self.students if r.answered(self.prompts))
        return (f"Free-response answers ({len(self.prompts)} question(s), {format_points(self.points)} points "
                f"graded by hand, not part of the autograded score): {with_answers} of {len(self.students)} "
                f"submission(s) answered at least one; read {self.index}")


# ---------------------------------------------------------------- reading notebooks


def read_notebook(data: bytes, name: str) -> nbformat.NotebookNode:
    """The notebook ``name`` (its bytes are ``data``) as nbformat version 4, or a
    :class:`FreeResponseError` that names the file and says what is wrong."""
    try:
        return notebooks.read_notebook(data, name)
    except notebooks.NotebookProblem as exc:
        raise FreeResponseError(str(exc)) from None


def _marker(cell) -> dict:
    mark = cell.get("metadata", {}).get("rnnkit", {})
    return mark if isinstance(mark, dict) else {}


def _source(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def prompts(data: bytes, name: str) -> list[Prompt]:
    """The free-response questions of an author's notebook, in order. Strict: a duplicate or
    empty id, points that are not a positive number, or a prompt without its answer cell
    right after it is an error naming the notebook and the question."""
    cells = read_notebook(data, name).cells
    found: list[Prompt] = []
    for index, cell in enumerate(cells):
        mark = _marker(cell)
        if "free_response" not in mark:
            continue
        qid, points = mark["free_response"], mark.get("points")
        where = f"{name}, cell {index + 1}"
        if not isinstance(qid, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", qid):
            raise FreeResponseError(f"{where}: a free-response id must be a non-empty name of letters, digits, "
                                    f"'_', '.' or '-'; got {qid!r}")
        if any(p.id == qid for p in found):
            raise FreeResponseError(f"{where}: the free-response id {qid!r} is used twice")
        if isinstance(points, bool) or not isinstance(points, (int, float)) or not points > 0:
            raise FreeResponseError(f"{where}: free response {qid!r} needs \"points\", a positive number; "
                                    f"got {points!r}")
        if cell.cell_type != "markdown":
            raise FreeResponseError(f"{where}: free response {qid!r} should be a markdown cell")
        after = cells[index + 1] if index + 1 < len(cells) else None
        if after is None or _marker(after).get("answer") != qid:
            raise FreeResponseError(f"{where}: free response {qid!r} needs an answer cell right after it, with "
                                    f'metadata {{"rnnkit": {{"answer": "{qid}"}}}}')
        found.append(Prompt(qid, float(points), _source(cell).strip(), _source(after).strip()))
    orphans = {_marker(c).get("answer") for c in cells} - {None} - {p.id for p in found}
    if orphans:
        raise FreeResponseError(f"{name}: answer cells for {', '.join(sorted(map(str, orphans)))} have no "
                                "free-response prompt")
    return found


def answers(data: bytes, name: str, questions: list[Prompt]) -> dict[str, str]:
    """A student's answers to ``questions`` (prompt id -> text, "" where none) from their
    notebook. An answer is every cell marked ``{"rnnkit": {"answer": id}}``, joined; where a
    student replaced that cell, the cell right after the prompt is taken instead. The
    template's placeholder text counts as no answer."""
    cells = read_notebook(data, name).cells
    found: dict[str, list[str]] = {}
    for cell in cells:
        qid = _marker(cell).get("answer")
        if isinstance(qid, str):
            found.setdefault(qid, []).append(_source(cell).strip())
    for index, cell in enumerate(cells[:-1]):
        qid = _marker(cell).get("free_response")
        after = cells[index + 1]
        if isinstance(qid, str) and qid not in found and not _marker(after):
            found[qid] = [_source(after).strip()]
    result = {}
    for prompt in questions:
        parts = [p for p in found.get(prompt.id, []) if p and p != prompt.placeholder]
        result[prompt.id] = "\n\n".join(parts)
    return result


# ---------------------------------------------------------------- a submission's notebook


def submission_notebook(submission, notebook_name: str | None) -> tuple[str, bytes] | None:
    """The notebook of ``submission`` that holds its answers: the one named like the
    assignment's notebook, else the one the code was made from, else the only one; None
    where the submission has no notebook (or several, none of them the assignment's)."""
    notebooks = {PurePosixPath(n).name: data for n, data in submission.files.items()
                 if n.lower().endswith(".ipynb")}
    if not notebooks:
        return None
    for wanted in (notebook_name, PurePosixPath(submission.notebook).name if submission.notebook else None):
        if wanted and wanted in notebooks:
            return wanted, notebooks[wanted]
    if len(notebooks) == 1:
        return next(iter(notebooks.items()))
    return None


def assignment_prompts(assignment) -> list[Prompt]:
    """The free-response questions of an assignment's own notebook ([] without one)."""
    if not assignment.notebook:
        return []
    path = Path(assignment.root) / assignment.notebook
    if not path.is_file():
        return []
    return prompts(path.read_bytes(), assignment.notebook)


def folder_for(db: Path, assignment_name: str) -> Path:
    """Where grading keeps an assignment's free-response files: beside the gradebook."""
    return Path(db).resolve().parent / FOLDER / assignment_name


def kept_notebooks(db: Path, assignment_name: str, students) -> dict[str, Path]:
    """Each of ``students``' notebook that grading kept (student -> path, the file named as they
    named it); students without one are left out."""
    folder = folder_for(db, assignment_name) / NOTEBOOKS
    kept = {}
    for student in students:
        found = sorted((folder / _file_name(student)).glob("*.ipynb"))
        if found:
            kept[student] = found[0]
    return kept


def _file_name(student: str) -> str:
    name = re.sub(r"[^\w.@+-]+", "_", student).strip("_") or "unnamed"
    return "_" + name if name.startswith(".") else name


# ---------------------------------------------------------------- collecting a class


def collect(assignment, submissions, folder: Path) -> Collection | None:
    """Write each submission's answers to ``folder`` (one Markdown file per student, the
    notebook itself under ``notebooks/``, and ``index.md``); None when the assignment has
    no free-response questions. Students graded by earlier runs stay in the index."""
    questions = assignment_prompts(assignment)
    if not questions:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    (folder / NOTEBOOKS).mkdir(exist_ok=True)
    collected = []
    for submission in submissions:
        responses = Responses(submission.student)
        stem = _file_name(submission.student)
        kept = folder / NOTEBOOKS / stem
        shutil.rmtree(kept, ignore_errors=True)   # what an earlier submission of theirs left
        found = submission_notebook(submission, assignment.notebook)
        if found is None:
            several = sum(n.lower().endswith(".ipynb") for n in submission.files)
            if several:
                responses.problem = f"{several} notebooks were submitted and none is named {assignment.notebook}"
            elif submission.problem and not submission.files:
                responses.problem = f"the submission could not be read: {submission.problem}"
            else:
                responses.problem = "no notebook was submitted"
        else:
            responses.notebook, data = found
            kept.mkdir()
            (kept / _file_name(responses.notebook)).write_bytes(data)
            try:
                responses.answers = answers(data, responses.notebook, questions)
            except FreeResponseError as exc:
                responses.problem = str(exc)
        (folder / f"{stem}.md").write_text(student_page(assignment, questions, responses), encoding="utf-8")
        collected.append(responses)
    _write_index(assignment, questions, collected, folder)
    return Collection(folder, folder / INDEX, questions, collected)


def _quote(text: str) -> str:
    """A student's Markdown as a block quote, so that their headings cannot break the page's
    outline, with "<" escaped, so that a Markdown viewer shows their HTML as text instead of
    loading it (an image from elsewhere, say)."""
    return "\n".join("> " + line.replace("<", "&lt;") if line.strip() else ">" for line in text.splitlines())


def student_page(assignment, questions: list[Prompt], responses: Responses) -> str:
    total = format_points(sum(p.points for p in questions))
    lines = [f"# Free-response answers: {responses.student}", "",
             f"- Student: {responses.student}",
             f"- Assignment: {assignment.title} (`{assignment.name}`)",
             f"- Notebook: `{responses.notebook}`" if responses.notebook else f"- Notebook: none ({responses.problem})",
             f"- Answered: {responses.answered(questions)} of {len(questions)}", "",
             (f"These {len(questions)} question(s), {total} points in all, are graded by hand ({MANUAL}): "
              "their points are not part of the autograded score."), ""]
    if responses.notebook and responses.problem:
        lines += [f"**The notebook could not be read:** {responses.problem}", ""]
    for number, prompt in enumerate(questions, 1):
        answer = responses.answers.get(prompt.id, "").strip()
        text = re.sub(r"\A\*\*Free response\b[^\n]*\n+", "", prompt.text)   # the notebook's own heading
        lines += [f"## {number}. `{prompt.id}` ({format_points(prompt.points)} points, {MANUAL})", "",
                  text, "", "**Answer:**", "", _quote(answer) if answer else f"_{NO_ANSWER}_", ""]
    return "\n".join(lines)


def _write_index(assignment, questions: list[Prompt], collected: list[Responses], folder: Path) -> None:
    manifest_path = folder / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = {}
    if not isinstance(manifest, dict):
        manifest = {}
    for r in collected:
        manifest[r.student] = {"file": f"{_file_name(r.student)}.md", "notebook": r.notebook,
                               "answered": r.answered(questions), "problem": r.problem}
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    total = format_points(sum(p.points for p in questions))
    lines = [f"# Free-response answers: {assignment.title}", "",
             (f"{len(questions)} question(s), {total} points in all, graded by hand: these points are not "
              "part of the autograded score. One page per student; each quotes the question, its points and "
              "the student's answer."), "",
             "| Question | Points |", "| --- | ---: |",
             *(f"| `{p.id}` | {format_points(p.points)} |" for p in questions), "",
             "| Student | Answered | Notebook | Page |", "| --- | ---: | --- | --- |"]
    for student in sorted(manifest):
        entry = manifest[student]
        notebook = f"`{entry.get('notebook')}`" if entry.get("notebook") else entry.get("problem", "")
        lines.append(f"| {student} | {entry.get('answered', 0)} / {len(questions)} | "
                     f"{str(notebook).replace('|', '/')} | [{entry.get('file')}]({entry.get('file')}) |")
    (folder / INDEX).write_text("\n".join(lines) + "\n", encoding="utf-8")
