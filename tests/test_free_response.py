"""Free-response questions: read from notebooks, collected at grading time for the instructor,
and students' notebooks exported to PDF by `rnnkit report --format pdf`."""

import json
import shutil
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from autograder import free_response, notebook_pdf
from autograder.free_response import FreeResponseError
from autograder.submissions import Submission, discover
from cli import main

ANSWER = "Clipping rescales the whole gradient by one factor, so **ratios** between time steps stay."


def template(assignment) -> nbformat.NotebookNode:
    return nbformat.read(assignment.root / assignment.notebook, as_version=4)


def answer_cell(notebook, qid):
    return next(c for c in notebook.cells if c.metadata.get("rnnkit", {}).get("answer") == qid)


def filled(assignment, answers: dict[str, str]) -> bytes:
    """The assignment's notebook with ``answers`` typed into the answer cells."""
    notebook = template(assignment)
    for qid, text in answers.items():
        answer_cell(notebook, qid).source = text
    return nbformat.writes(notebook).encode()


def write_submission(folder: Path, files: dict[str, bytes | str], repo_root: Path) -> Path:
    folder.mkdir(parents=True)
    shutil.copyfile(repo_root / "solutions" / "vanilla_rnn" / "rnn_layers.py", folder / "rnn_layers.py")
    for name, content in files.items():
        (folder / name).write_bytes(content.encode() if isinstance(content, str) else content)
    return folder


@pytest.fixture
def prompts(vanilla_rnn):
    return free_response.assignment_prompts(vanilla_rnn)


# ---------------------------------------------------------------- reading notebooks


def test_the_vanilla_notebook_asks_its_questions_with_points(prompts):
    assert [p.id for p in prompts] == ["clipping_vanishing", "spectral_radius"]
    assert [p.points for p in prompts] == [3, 2]
    assert "clipping" in prompts[0].text.lower() and prompts[0].placeholder


def test_answers_are_found_by_their_marker_and_by_position(vanilla_rnn, prompts):
    notebook = template(vanilla_rnn)
    answer_cell(notebook, "clipping_vanishing").source = ANSWER
    # a student who deleted the answer cell and wrote in a fresh one right after the prompt
    index = notebook.cells.index(answer_cell(notebook, "spectral_radius"))
    notebook.cells[index] = nbformat.v4.new_markdown_cell("Saturation: $1 - h^2 < 1$.")
    found = free_response.answers(nbformat.writes(notebook).encode(), "mine.ipynb", prompts)
    assert found == {"clipping_vanishing": ANSWER, "spectral_radius": "Saturation: $1 - h^2 < 1$."}


def test_the_untouched_placeholder_is_no_answer(vanilla_rnn, prompts):
    data = (vanilla_rnn.root / vanilla_rnn.notebook).read_bytes()
    assert free_response.answers(data, vanilla_rnn.notebook, prompts) == {p.id: "" for p in prompts}


@pytest.mark.parametrize("data, why", [
    (b"print('hello')", "not JSON"),
    (b"\xff\xfe\x00garbage", "not UTF-8"),
    (b'{"cells": 3}', "no list of cells"),
    (b'{"cells": [{"cell_type": "teapot"}], "nbformat": 4, "nbformat_minor": 5, "metadata": {}}', ""),
])
def test_a_broken_notebook_gets_a_message_naming_the_file(data, why):
    with pytest.raises(FreeResponseError) as caught:
        free_response.read_notebook(data, "alice/vanilla_rnn.ipynb")
    message = str(caught.value)
    assert message.startswith("alice/vanilla_rnn.ipynb is not a Jupyter notebook") and why in message


def author_notebook(*cells) -> bytes:
    return nbformat.writes(nbformat.v4.new_notebook(cells=list(cells))).encode()


def prompt_cell(qid, points=2):
    return nbformat.v4.new_markdown_cell("Why?", metadata={"rnnkit": {"free_response": qid, "points": points}})


def answer(qid):
    return nbformat.v4.new_markdown_cell("...", metadata={"rnnkit": {"answer": qid}})


@pytest.mark.parametrize("cells, why", [
    ([prompt_cell("q1")], "needs an answer cell right after it"),
    ([prompt_cell("q1"), nbformat.v4.new_code_cell("x = 1"), answer("q1")], "needs an answer cell right after it"),
    ([prompt_cell("q1"), answer("q1"), prompt_cell("q1"), answer("q1")], "used twice"),
    ([prompt_cell("q1", points=0), answer("q1")], "positive number"),
    ([prompt_cell("q1", points="3"), answer("q1")], "positive number"),
    ([prompt_cell("has space"), answer("has space")], "non-empty name"),
    ([answer("lost")], "lost have no free-response prompt"),
])
def test_an_authors_mistakes_are_explained(cells, why):
    with pytest.raises(FreeResponseError, match=why) as caught:
        free_response.prompts(author_notebook(*cells), "a1.ipynb")
    assert str(caught.value).startswith("a1.ipynb")


# ---------------------------------------------------------------- collecting a class


@pytest.fixture
def small_class(tmp_path, vanilla_rnn, repo_root):
    """Five students: answers in the notebook beside the code, a notebook-only submission, no notebook,
    a broken notebook, and two notebooks (one of them the assignment's)."""
    folder = tmp_path / "class"
    write_submission(folder / "alice", {"vanilla_rnn.ipynb": filled(vanilla_rnn, {
        "clipping_vanishing": ANSWER,
        "spectral_radius": "## My heading\nThe derivative of tanh.\n<img src='https://example.com/t.png'>"})},
        repo_root)
    (folder / "bob").mkdir(parents=True)
    (folder / "bob" / "my_work.ipynb").write_bytes(filled(vanilla_rnn, {"spectral_radius": "Bob's answer."}))
    write_submission(folder / "carol", {}, repo_root)
    write_submission(folder / "dave", {"vanilla_rnn.ipynb": "{ this is not json"}, repo_root)
    write_submission(folder / "erin", {"scratch.ipynb": filled(vanilla_rnn, {"spectral_radius": "scratch"}),
                                       "vanilla_rnn.ipynb": filled(vanilla_rnn, {"spectral_radius": "Erin's."})},
                     repo_root)
    return folder


def test_answers_are_collected_for_a_small_class(small_class, vanilla_rnn, tmp_path):
    found = discover([small_class], vanilla_rnn.modules)
    out = tmp_path / "free_response" / "vanilla_rnn"
    collection = free_response.collect(vanilla_rnn, found, out)

    assert collection.index == out / "index.md" and collection.points == 5
    assert {p.name for p in out.glob("*.md")} == {"index.md", "alice.md", "bob.md", "carol.md", "dave.md", "erin.md"}
    assert {str(p.relative_to(out / "notebooks")) for p in (out / "notebooks").glob("*/*")} == {
        "alice/vanilla_rnn.ipynb", "bob/my_work.ipynb", "dave/vanilla_rnn.ipynb", "erin/vanilla_rnn.ipynb"}

    alice = (out / "alice.md").read_text()
    assert alice.startswith("# Free-response answers: alice")
    assert "Assignment: Assignment 1" in alice and "(`vanilla_rnn`)" in alice
    assert "## 1. `clipping_vanishing` (3 points, manual grading)" in alice
    assert "## 2. `spectral_radius` (2 points, manual grading)" in alice
    assert "not part of the autograded score" in alice
    assert "> " + ANSWER in alice and "> ## My heading" in alice   # quoted: cannot break the outline
    assert "> &lt;img src=" in alice and "<img" not in alice
    assert "Answered: 2 of 2" in alice

    bob = (out / "bob.md").read_text()   # graded from the notebook itself
    assert "Notebook: `my_work.ipynb`" in bob and "> Bob's answer." in bob and "_(no answer)_" in bob
    carol = (out / "carol.md").read_text()
    assert "no notebook was submitted" in carol and carol.count("_(no answer)_") == 2
    dave = (out / "dave.md").read_text()
    assert "vanilla_rnn.ipynb is not a Jupyter notebook" in dave and "Answered: 0 of 2" in dave
    erin = (out / "erin.md").read_text()
    assert "Notebook: `vanilla_rnn.ipynb`" in erin and "> Erin's." in erin and "scratch" not in erin

    index = (out / "index.md").read_text()
    assert "graded by hand" in index and "not part of the autograded score" in index
    assert "| alice | 2 / 2 | `vanilla_rnn.ipynb` | [alice.md](alice.md) |" in index
    assert "| carol | 0 / 2 | no notebook was submitted | [carol.md](carol.md) |" in index
    assert "answered at least one" in collection.summary() and str(out / "index.md") in collection.summary()


def test_collecting_again_keeps_the_others_and_drops_a_notebook_no_longer_submitted(small_class, vanilla_rnn,
                                                                                     tmp_path, repo_root):
    out = tmp_path / "fr"
    free_response.collect(vanilla_rnn, discover([small_class], vanilla_rnn.modules), out)
    (small_class / "alice" / "vanilla_rnn.ipynb").unlink()
    free_response.collect(vanilla_rnn, discover([small_class / "alice"], vanilla_rnn.modules), out)
    assert not (out / "notebooks" / "alice").exists()
    assert "no notebook was submitted" in (out / "alice.md").read_text()
    index = (out / "index.md").read_text()
    assert all(f"| {s} |" in index for s in ["alice", "bob", "carol", "dave", "erin"])


def test_a_submission_that_could_not_be_read_says_so(vanilla_rnn, tmp_path):
    sub = Submission("yan", tmp_path, problem="work.ipynb is not a Jupyter notebook: it is not JSON text")
    free_response.collect(vanilla_rnn, [sub], tmp_path / "out")
    assert "could not be read: work.ipynb is not a Jupyter notebook" in (tmp_path / "out" / "yan.md").read_text()


def test_a_hand_built_submission(vanilla_rnn, tmp_path):
    sub = Submission("zoe", tmp_path, files={"rnn_layers.py": b"x = 1\n",
                                             "vanilla_rnn.ipynb": filled(vanilla_rnn, {"clipping_vanishing": "Z."})})
    collection = free_response.collect(vanilla_rnn, [sub], tmp_path / "out")
    assert collection.students[0].answers == {"clipping_vanishing": "Z.", "spectral_radius": ""}
    assert (tmp_path / "out" / "notebooks" / "zoe" / "vanilla_rnn.ipynb").read_bytes() == sub.files["vanilla_rnn.ipynb"]


def test_an_assignment_without_questions_collects_nothing(vanilla_rnn, tmp_path):
    class NoNotebook:
        notebook = None
        root = vanilla_rnn.root
    assert free_response.collect(NoNotebook(), [], tmp_path / "x") is None and not (tmp_path / "x").exists()


# ---------------------------------------------------------------- grade and report, as users run them


@pytest.fixture(scope="module")
def graded(tmp_path_factory, vanilla_rnn, repo_root):
    """`rnnkit grade` on a class of three (answers, no notebook, a broken notebook)."""
    tmp = tmp_path_factory.mktemp("graded")
    folder = tmp / "class"
    write_submission(folder / "alice", {"vanilla_rnn.ipynb": filled(vanilla_rnn, {"clipping_vanishing": ANSWER})},
                     repo_root)
    write_submission(folder / "carol", {}, repo_root)
    write_submission(folder / "dave", {"vanilla_rnn.ipynb": "{ this is not json"}, repo_root)
    db = tmp / "books" / "grades.sqlite"
    db.parent.mkdir()
    result = CliRunner().invoke(main, ["grade", str(folder), "--assignment", "vanilla_rnn", "--db", str(db),
                                       "--workers", "1"], catch_exceptions=False)
    return db, result


def test_grade_collects_the_answers_beside_the_gradebook_and_says_where(graded):
    db, result = graded
    assert result.exit_code == 0, result.output
    folder = db.parent / "free_response" / "vanilla_rnn"
    assert "Free-response answers (2 question(s), 5 points graded by hand" in result.output
    assert "index.md" in result.output.replace("\n", "")
    assert "> " + ANSWER in (folder / "alice.md").read_text()
    kept = free_response.kept_notebooks(db, "vanilla_rnn", ["alice", "carol", "dave", "nobody"])
    assert {s: p.name for s, p in kept.items()} == {"alice": "vanilla_rnn.ipynb", "dave": "vanilla_rnn.ipynb"}


def test_grade_json_names_the_index(graded, repo_root):
    db, _ = graded
    folder = db.parent.parent / "class"
    result = CliRunner().invoke(main, ["grade", str(folder / "alice"), "--assignment", "vanilla_rnn", "--db", str(db),
                                       "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["free_response"] == str(db.parent.resolve() / "free_response" / "vanilla_rnn" / "index.md")


def test_report_pdf_without_otter_says_how_to_install_it(graded, tmp_path, monkeypatch):
    monkeypatch.setattr(notebook_pdf, "otter_installed", lambda: False)
    db, _ = graded
    result = CliRunner().invoke(main, ["report", "--format", "pdf", "--db", str(db), "--out", str(tmp_path)],
                                catch_exceptions=False)
    assert result.exit_code == 2
    assert 'pip install "rnnkit[otter]"' in result.output and "otter-grader" in result.output
    assert not (tmp_path / "pdf").exists()


def test_an_exporter_whose_tools_are_missing_is_named(monkeypatch):
    monkeypatch.setattr(notebook_pdf, "otter_installed", lambda: True)
    monkeypatch.setattr(notebook_pdf.shutil, "which", lambda name: None)
    monkeypatch.setattr(notebook_pdf, "_playwright_chromium", lambda: None)
    with pytest.raises(notebook_pdf.PdfUnavailable, match="pandoc and xelatex"):
        notebook_pdf.choose_exporter("latex")
    with pytest.raises(notebook_pdf.PdfUnavailable, match="Chromium"):
        notebook_pdf.choose_exporter("auto")


@pytest.mark.slow
def test_report_pdf_exports_each_kept_notebook(graded, tmp_path):
    try:
        exporter = notebook_pdf.choose_exporter("auto")
    except notebook_pdf.PdfUnavailable as exc:
        pytest.skip(str(exc))
    db, _ = graded
    result = CliRunner().invoke(main, ["report", "--format", "pdf", "--format", "csv", "--db", str(db),
                                       "--out", str(tmp_path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    pdf = tmp_path / "pdf" / "vanilla_rnn" / "alice.pdf"
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 10_000
    assert f"PDF ({exporter} exporter): 1 notebook(s)" in result.output
    assert "no notebook kept" in result.output and "carol" in result.output
    assert "not exported dave: vanilla_rnn.ipynb is not a Jupyter notebook" in " ".join(result.output.split())
    assert (tmp_path / "vanilla_rnn-grades.csv").is_file()

    questions = tmp_path / "questions"
    result = CliRunner().invoke(main, ["report", "--format", "pdf", "--pdf-questions-only", "--db", str(db),
                                       "--out", str(questions)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    only = (questions / "pdf" / "vanilla_rnn" / "alice.pdf").read_bytes()
    assert only.startswith(b"%PDF") and len(only) < pdf.stat().st_size


def test_the_pdf_copy_marks_each_question_for_otter(vanilla_rnn):
    data = filled(vanilla_rnn, {"clipping_vanishing": ANSWER})
    notebook = notebook_pdf.marked_copy(data, "vanilla_rnn.ipynb")
    sources = [c.source for c in notebook.cells]
    begins = [i for i, text in enumerate(sources) if text.startswith(notebook_pdf.BEGIN_QUESTION)]
    assert len(begins) == 2
    for i in begins:
        assert sources[i + 1].startswith("**Answer (") and sources[i + 2] == notebook_pdf.END_QUESTION
    assert ANSWER in sources[begins[0] + 1]
    nbformat.validate(notebook)


@pytest.mark.slow
def test_a_pdf_shows_no_file_of_the_grading_machine(tmp_path):
    if notebook_pdf.system_chromium() is None and notebook_pdf._playwright_chromium() is None:
        pytest.skip("no Chromium here")
    pytest.importorskip("playwright")
    secret = tmp_path / "secret.txt"
    secret.write_text("the instructor's secret")
    html = (f'<html><body><p>answer</p><iframe src="{secret.as_uri()}"></iframe>'
            f'<img src="{secret.as_uri()}"><img src="https://example.com/x.png"></body></html>')
    refused = []
    pdf = notebook_pdf._print_html(html, paginate=True, settle_ms=0, refused=refused)
    assert pdf.startswith(b"%PDF")
    assert secret.as_uri() in refused and "https://example.com/x.png" in refused
