"""The instructor's HTML report: right numbers, nothing hidden, readable in a real browser without JavaScript."""

import base64
import html
import io
import shutil
import statistics
import subprocess
from html.parser import HTMLParser

import numpy as np
import pytest
from matplotlib.image import imread

from autograder.assignment import Question
from autograder.gradebook import Gradebook
from autograder.report_html import write_html_report
from autograder.reports import questions_of
from autograder.scoring import SubmissionResult, trouble
from autograder.scoring import TestResult as Result  # not collected as a test class

PNG_PREFIX = "data:image/png;base64,"


class PageParser(HTMLParser):
    """Tables by id (their body rows as lists of cell texts) and the images' attributes."""

    def __init__(self, page: str):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.images: list[dict] = []
        self._table = None
        self._in_body = False
        self._cell = None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._table = attrs.get("id", "")
            self.tables[self._table] = []
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body and self._table is not None:
            self.tables[self._table].append([])
        elif tag == "td" and self._in_body and self._table is not None:
            self._cell = ""
        elif tag == "img":
            self.images.append(attrs)

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        elif tag == "tbody":
            self._in_body = False
        elif tag == "td" and self._cell is not None:
            self.tables[self._table][-1].append(self._cell.strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def decode_png(data: bytes) -> np.ndarray:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    return imread(io.BytesIO(data), format="png")


def distinct_colours(pixels: np.ndarray) -> int:
    """Distinct RGB colours (imread gives floats in [0, 1], RGB or RGBA)."""
    rgb = np.round(pixels[..., :3] * 255).astype(np.uint32)
    return len(np.unique(rgb[..., 0] << 16 | rgb[..., 1] << 8 | rgb[..., 2]))


def check_images(images: list[dict]) -> None:
    """At least the histogram and the question chart, each a real, non-blank PNG with alt text."""
    pngs = [img for img in images if img.get("src", "").startswith(PNG_PREFIX)]
    assert len(pngs) >= 2 and len(pngs) == len(images)
    for img in pngs:
        assert len(img.get("alt", "")) > 20
        data = base64.b64decode(img["src"][len(PNG_PREFIX):], validate=True)
        assert 5_000 < len(data) < 2_000_000
        pixels = decode_png(data)
        assert pixels.shape[0] >= 200 and pixels.shape[1] >= 400
        assert distinct_colours(pixels) > 1


@pytest.fixture(scope="module")
def sample_report(graded_sample_class, vanilla_rnn, tmp_path_factory):
    """The sample class's report: (path, results, questions)."""
    db, _ = graded_sample_class
    with Gradebook(db) as book:
        results = book.class_results(vanilla_rnn.name)
    questions = questions_of(results, vanilla_rnn)
    path = write_html_report(results, vanilla_rnn.name, vanilla_rnn.title, questions,
                             tmp_path_factory.mktemp("reports"))
    return path, results, questions


def test_report_statistics_match_the_results(sample_report, vanilla_rnn):
    path, results, questions = sample_report
    assert path.name == "vanilla_rnn-report.html"
    page = path.read_text()
    parsed = PageParser(page)
    totals = [r.score for r in results]
    percents = [100 * r.score / r.max_score for r in results]
    stats = {row[0]: row[1:] for row in parsed.tables["class-stats"]}
    for label, compute in [("Mean", statistics.fmean), ("Median", statistics.median), ("Minimum", min),
                           ("Maximum", max), ("Standard deviation (population)", statistics.pstdev)]:
        assert stats[label] == [f"{compute(totals):.2f}", f"{compute(percents):.1f}%"], label
    assert stats["Mean"][0] == f"{np.mean(totals):.2f}"
    clean = sum(1 for r in results if not trouble(r))
    assert f"{len(results)} students; {clean} of {len(results)} graded cleanly." in page
    assert clean < len(results)  # the sample class has broken submissions

    rows = parsed.tables["questions"]
    assert [row[0] for row in rows] == [q.title for q in vanilla_rnn.questions]
    assert [len(row) for row in rows] == [6] * len(rows)
    perfect_everywhere = sum(1 for r in results if r.score == r.max_score)
    for row in rows:
        pass_rate = float(row[4].rstrip("%"))
        assert 100 * perfect_everywhere / len(results) <= pass_rate < 100
        assert row[5]  # someone lost points on every question: the commonest failure is shown

    students = parsed.tables["students"]
    assert [row[0] for row in students] == [r.student for r in results]
    for row, r in zip(students, results):
        assert row[-2] == f"{r.score:g}" and row[-1] == f"{100 * r.score / r.max_score:.1f}%"
    assert [row[0] for row in parsed.tables["trouble"]] == [r.student for r in results if trouble(r)]
    assert "No speed targets in this assignment." in page
    assert "unsandboxed" not in page  # the sample class is graded in bubblewrap
    check_images(parsed.images)


def test_report_is_self_contained(sample_report):
    page = sample_report[0].read_text()
    assert "<script" not in page.lower()
    for external in ("http://", "https://", "src=\"/", "href=", "@import", "url("):
        assert external not in page


def test_report_never_shows_hidden_test_code(sample_report, vanilla_rnn):
    text = html.unescape(sample_report[0].read_text())
    hidden_lines = {line.strip() for f in vanilla_rnn.hidden_tests.glob("*.py")
                    for line in f.read_text().splitlines() if len(line.strip()) > 25}
    assert hidden_lines
    assert [line for line in hidden_lines if line in text] == []
    assert "oracle" not in text


def make_result(student, mode, speed_passed, message="wrong"):
    tests = [
        Result("public/t.py::test_a", "forward is right", "q1", 2, 2, "passed", visibility="public"),
        Result("hidden/t.py::test_b", "backward <b>is</b> right", "q1", 3, 0 if message else 3,
                   "failed" if message else "passed", verdict="wrong" if message else "", message=message),
        Result("hidden/t.py::test_speed", "speed: forward within 2x of the reference", "q2", 1,
                   1 if speed_passed else 0, "passed" if speed_passed else "failed",
                   verdict="" if speed_passed else "timeout", message="" if speed_passed else "too slow",
                   measurement=f"{1.5 if speed_passed else 3.0}x the time of the reference (limit 2x) on cpu"
                   if mode == "bwrap" or speed_passed else ""),
    ]
    return SubmissionResult(student=student, submission_id=student, assignment="demo", tests=tests, mode=mode)


def test_report_flags_unsandboxed_grading_and_lists_speed_targets(tmp_path):
    results = [make_result("<script>alert('eve')</script>", "process", False, "h <script>x</script> & more"),
               make_result("bob", "bwrap", True, ""),
               make_result("carol", "process", True)]
    questions = [Question("q1", "Q1 & <friends>"), Question("q2", "Q2. Fast forward")]
    page = write_html_report(results, "demo", "Demo <A&B>", questions, tmp_path).read_text()
    assert "<script" not in page
    assert "&lt;script&gt;alert(&#x27;eve&#x27;)&lt;/script&gt;" in page
    assert "Demo &lt;A&amp;B&gt;" in page and "Q1 &amp; &lt;friends&gt;" in page
    assert "2 of 3 submissions were graded with <code>--sandbox=process</code>" in page
    parsed = PageParser(page)
    assert parsed.tables["sandbox"] == [[r.student, m] for r, m in
                                        zip(results, ["process (unsandboxed)", "bwrap", "process (unsandboxed)"])]
    assert [row[-1] for row in parsed.tables["students"]] == ["process (unsandboxed)", "bwrap",
                                                              "process (unsandboxed)"]
    assert "No speed targets" not in page
    # the median of the ratios measured (bob 1.5x, carol 1.5x; eve's run measured nothing)
    assert parsed.tables["speed"] == [["Q2. Fast forward", "speed: forward within 2x of the reference", "67%", "3",
                                       "1.50x"]]
    q1, q2 = parsed.tables["questions"]
    assert q1[:5] == ["Q1 & <friends>", "5", "3.00", "60.0%", "33%"]
    assert q1[5].startswith("wrong (2 of 2 students who lost points): backward <b>is</b> right: ")
    assert q2[5] == "timeout (1 of 1 students who lost points): speed: forward within 2x of the reference: too slow"
    assert parsed.tables["trouble"] == [[results[0].student, "1 test: timeout", "2"]]


def test_report_of_an_empty_class(tmp_path):
    page = write_html_report([], "demo", "Demo", [Question("q1", "Q1")], tmp_path).read_text()
    assert "0 students; 0 of 0 graded cleanly." in page
    assert PageParser(page).tables["students"] == []


def run_chromium(browser, *args, tmp_path, timeout=120):
    return subprocess.run([browser, "--headless=new", "--no-sandbox", "--disable-gpu",
                           f"--user-data-dir={tmp_path / 'profile'}", *args],
                          capture_output=True, text=True, timeout=timeout)


def test_report_renders_in_headless_chromium(sample_report, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("no chromium on PATH: install it (Debian: apt-get install -y chromium) to check the page in a "
                    "real browser")
    path, results, questions = sample_report
    url = path.resolve().as_uri()

    dom = run_chromium(browser, "--dump-dom", url, tmp_path=tmp_path)
    assert dom.returncode == 0, dom.stderr[-2000:]
    parsed = PageParser(dom.stdout)
    assert len(parsed.tables["questions"]) == len(questions)
    assert [row[0] for row in parsed.tables["students"]] == [r.student for r in results]
    check_images(parsed.images)

    shot = tmp_path / "report.png"
    taken = run_chromium(browser, f"--screenshot={shot}", "--window-size=1280,2400", url, tmp_path=tmp_path)
    assert taken.returncode == 0 and shot.is_file(), taken.stderr[-2000:]
    pixels = decode_png(shot.read_bytes())
    assert pixels.shape[:2] == (2400, 1280)
    assert distinct_colours(pixels) > 50  # text, tables and charts, not a blank or error page
