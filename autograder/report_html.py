"""The instructor's HTML report for one assignment: one self-contained page, no JavaScript.

Class statistics, a histogram of totals, a table and a chart per question, the
submissions that did not grade cleanly, speed targets and a table per student.
Charts are matplotlib PNGs (Agg) embedded as data URIs; every string from the
gradebook goes through ``html.escape``. Failure messages are the same safe
messages students see: no hidden test code, no expected values.
"""

from __future__ import annotations

import base64
import html
import io
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from autograder.assignment import Question
from autograder.scoring import SubmissionResult, format_points, question_scores, trouble

UNSANDBOXED = "process"
MESSAGE_CHARS = 240

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2em auto;
       max-width: 1200px; padding: 0 1em; color: #222; line-height: 1.4; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; margin-top: 1.8em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #f0f2f5; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.hardest td { background: #fde8e6; } tr.trouble td { background: #fff6dd; }
.warning { background: #fff0f0; border-left: 4px solid #c62828; padding: 0.6em 1em; }
.muted { color: #666; } img { max-width: 100%; height: auto; display: block; margin: 0.5em 0; }
code { background: #f3f3f3; padding: 0 0.2em; }
"""


def esc(value) -> str:
    return html.escape(str(value), quote=True)


def pct(part: float, whole: float) -> float:
    return 100.0 * part / whole if whole else 0.0


@dataclass
class QuestionSummary:
    question: Question
    max_points: float
    mean_points: float
    mean_pct: float
    pass_rate: float          # share of students with full marks, in %
    common_failure: str       # plain text, escaped when written


def class_stats(results: list[SubmissionResult]) -> dict:
    """Counts and the mean, median, min, max and (population) standard deviation of the totals."""
    totals = [r.score for r in results]
    percents = [pct(r.score, r.max_score) for r in results]
    stats = {"students": len(results), "clean": sum(1 for r in results if not trouble(r))}
    for label, values in (("points", totals), ("percent", percents)):
        stats[label] = {
            "mean": statistics.fmean(values), "median": statistics.median(values),
            "min": min(values), "max": max(values), "std": statistics.pstdev(values),
        } if values else {}
    return stats


def most_common_failure(results: list[SubmissionResult], question_id: str) -> str:
    """The verdict most students who lost points on the question got, and its most common message.
    Submissions that did not load are left out: they lose every question, and say nothing about this one."""
    verdicts, messages = Counter(), Counter()
    losers = 0
    for r in results:
        if r.problem:
            continue
        failed = [t for t in r.tests if t.question == question_id and not t.passed]
        if not failed or sum(t.score for t in failed) >= sum(t.max_score for t in failed):
            continue
        losers += 1
        # once per student; dicts keep test order, so ties go to the earliest test, run after run
        verdicts.update(list(dict.fromkeys(t.verdict or "failed" for t in failed)))
        messages.update(list(dict.fromkeys((t.verdict or "failed", f"{t.name}: {t.message}" if t.message else t.name)
                                           for t in failed)))
    if not verdicts:
        return ""
    verdict, count = verdicts.most_common(1)[0]
    message = next(m for (v, m), _ in messages.most_common() if v == verdict)
    if len(message) > MESSAGE_CHARS:
        message = message[:MESSAGE_CHARS - 1] + "…"
    return f"{verdict} ({count} of {losers} students who lost points): {message}"


def summarize_questions(results: list[SubmissionResult], questions: list[Question]) -> list[QuestionSummary]:
    per_student = [{q.id: q for q in question_scores(r.tests, questions)} for r in results]
    out = []
    for q in questions:
        scores = [s[q.id] for s in per_student]
        max_points = max((s.max_score for s in scores), default=0.0)
        mean_points = statistics.fmean([s.score for s in scores]) if scores else 0.0
        full = sum(1 for s in scores if s.max_score > 0 and s.score >= s.max_score)
        out.append(QuestionSummary(q, max_points, mean_points, pct(mean_points, max_points),
                                   pct(full, len(scores)), most_common_failure(results, q.id)))
    return out


def hardest(summaries: list[QuestionSummary]) -> str | None:
    """The id of the question with the lowest mean %, the first one on a tie."""
    return min(summaries, key=lambda s: s.mean_pct).question.id if summaries else None


# -- charts ---------------------------------------------------------------------------
def png_data_uri(fig: Figure) -> str:
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def histogram_png(results: list[SubmissionResult], stats: dict) -> str:
    totals = [r.score for r in results]
    top = max([r.max_score for r in results] + totals + [1.0])
    fig = Figure(figsize=(8, 3.6))
    ax = fig.subplots()
    ax.hist(totals, bins=10, range=(0, top), color="#4a78b5", edgecolor="white")
    ax.axvline(stats["points"]["mean"], color="#c62828", linestyle="--",
               label=f"mean {stats['points']['mean']:.1f}")
    ax.axvline(stats["points"]["median"], color="#2e7d32", linestyle=":",
               label=f"median {format_points(stats['points']['median'])}")
    ax.set_xlim(0, top)
    ax.set_xlabel(f"total points (out of {format_points(top)})")
    ax.set_ylabel("students")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(loc="upper left")
    ax.set_title("Distribution of totals")
    return png_data_uri(fig)


def question_chart_png(summaries: list[QuestionSummary]) -> str:
    ordered = sorted(summaries, key=lambda s: s.mean_pct)       # hardest first (on top)
    labels = [s.question.title if len(s.question.title) <= 48 else s.question.title[:47] + "…"
              for s in ordered]
    colours = ["#c62828" if i == 0 else "#4a78b5" for i in range(len(ordered))]
    fig = Figure(figsize=(8, 0.45 * len(ordered) + 1.2))
    ax = fig.subplots()
    bars = ax.barh(range(len(ordered)), [s.mean_pct for s in ordered], color=colours)
    ax.bar_label(bars, labels=[f"{s.mean_pct:.0f}%" for s in ordered], padding=3, fontsize=9)
    ax.set_yticks(range(len(ordered)), labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 110)
    ax.set_xlabel("class mean, % of the question's points")
    ax.set_title("Questions, hardest first")
    return png_data_uri(fig)


# -- HTML -----------------------------------------------------------------------------
def table(headers: list[str], rows: list[list[str]], table_id: str, numeric: set[int] = frozenset(),
          row_classes: list[str] | None = None) -> str:
    """A table; headers and cells are already-escaped HTML, ``numeric`` the right-aligned columns."""
    def cell(tag, i, content):
        attr = ' class="num"' if i in numeric else ""
        return f"<{tag}{attr}>{content}</{tag}>"
    head = "".join(cell("th", i, h) for i, h in enumerate(headers))
    body = []
    for n, row in enumerate(rows):
        cls = row_classes[n] if row_classes else ""
        attr = f' class="{esc(cls)}"' if cls else ""
        body.append(f"<tr{attr}>" +
                    "".join(cell("td", i, c) for i, c in enumerate(row)) + "</tr>")
    return (f'<table id="{esc(table_id)}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")


def stats_section(stats: dict) -> str:
    n = stats["students"]
    out = [f"<h2>Class statistics</h2><p>{n} student{'s' if n != 1 else ''}; "
           f"{stats['clean']} of {n} graded cleanly.</p>"]
    if n:
        names = [("mean", "Mean"), ("median", "Median"), ("min", "Minimum"), ("max", "Maximum"),
                 ("std", "Standard deviation (population)")]
        rows = [[label, f"{stats['points'][key]:.2f}", f"{stats['percent'][key]:.1f}%"] for key, label in names]
        out.append(table(["Total", "Points", "%"], rows, "class-stats", numeric={1, 2}))
    return "".join(out)


def questions_section(summaries: list[QuestionSummary]) -> str:
    worst = hardest(summaries)
    rows = [[esc(s.question.title), format_points(s.max_points), f"{s.mean_points:.2f}", f"{s.mean_pct:.1f}%",
             f"{s.pass_rate:.0f}%", esc(s.common_failure) or '<span class="muted">none</span>']
            for s in summaries]
    classes = ["hardest" if s.question.id == worst else "" for s in summaries]
    out = ["<h2>Questions</h2><p>Pass rate: the share of students with full marks on the question. "
           "The hardest question (lowest mean) is highlighted.</p>",
           table(["Question", "Max points", "Mean points", "Mean %", "Pass rate", "Most common failure"],
                 rows, "questions", numeric={1, 2, 3, 4}, row_classes=classes)]
    if summaries:
        means = ", ".join(f"{s.question.id} {s.mean_pct:.0f}%" for s in sorted(summaries, key=lambda s: s.mean_pct))
        out.append(f'<img src="{question_chart_png(summaries)}" '
                   f'alt="Bar chart of the class mean per question in percent, hardest first: {esc(means)}">')
    return "".join(out)


def trouble_section(results: list[SubmissionResult]) -> str:
    unsandboxed = [r for r in results if r.mode == UNSANDBOXED]
    bad = [r for r in results if trouble(r)]
    out = ["<h2>Submissions that did not grade cleanly</h2>"]
    if bad:
        out.append(table(["Student", "Reason", "Total"],
                         [[esc(r.student), esc(trouble(r)), format_points(r.score)] for r in bad],
                         "trouble", numeric={2}))
    else:
        out.append("<p>Every submission graded cleanly.</p>")
    if unsandboxed:
        out.append(f'<p class="warning">{len(unsandboxed)} of {len(results)} submissions were graded with '
                   f"<code>--sandbox=process</code>: their code ran <strong>unsandboxed</strong>.</p>")
        out.append(table(["Student", "Sandbox mode"],
                         [[esc(r.student), esc(sandbox_label(r.mode))] for r in results], "sandbox"))
    return "".join(out)


def sandbox_label(mode: str) -> str:
    return f"{mode} (unsandboxed)" if mode == UNSANDBOXED else (mode or "unknown")


def speed_section(results: list[SubmissionResult], questions: list[Question]) -> str:
    titles = {q.id: q.title for q in questions}
    seen: dict[tuple[str, str], list[bool]] = {}
    ratios: dict[tuple[str, str], list[float]] = {}
    for r in results:
        for t in r.tests:
            if t.measurement or "speed" in t.name.lower() or "speed" in t.question.lower():
                seen.setdefault((t.question, t.name), []).append(t.passed)
                ratio = _leading_ratio(t.measurement)
                if ratio is not None:
                    ratios.setdefault((t.question, t.name), []).append(ratio)
    out = ["<h2>Speed targets</h2>"]
    if not seen:
        return out[0] + "<p>No speed targets in this assignment.</p>"
    rows = [[esc(titles.get(q, q)), esc(name), f"{pct(sum(passed), len(passed)):.0f}%", str(len(passed)),
             f"{statistics.median(ratios[(q, name)]):.2f}x" if ratios.get((q, name)) else "none measured"]
            for (q, name), passed in seen.items()]
    return out[0] + table(["Question", "Test", "Pass rate", "Runs", "Median ratio"], rows, "speed",
                          numeric={2, 3, 4})


def _leading_ratio(measurement: str) -> float | None:
    """The ratio a speed measurement starts with ("1.84x the time of ...")."""
    head = measurement.split("x", 1)[0] if measurement else ""
    try:
        return float(head)
    except ValueError:
        return None


def students_section(results: list[SubmissionResult], questions: list[Question]) -> str:
    any_unsandboxed = any(r.mode == UNSANDBOXED for r in results)
    rows, classes = [], []
    for r in results:
        scores = {q.id: q.score for q in question_scores(r.tests, questions)}
        row = [esc(r.student), *[format_points(scores[q.id]) for q in questions],
               format_points(r.score), f"{pct(r.score, r.max_score):.1f}%"]
        rows.append(row + ([esc(sandbox_label(r.mode))] if any_unsandboxed else []))
        classes.append("trouble" if trouble(r) else "")
    best = {q.id: max((s.max_score for r in results for s in question_scores(r.tests, [q])), default=0.0)
            for q in questions}
    headers = ["Student", *[f'<span title="{esc(q.title)}">{esc(q.id)}</span> '
                            f'<span class="muted">/{format_points(best[q.id])}</span>' for q in questions],
               "Total", "%"]
    headers += ["Sandbox"] if any_unsandboxed else []
    numeric = set(range(1, len(questions) + 3))
    return ("<h2>Students</h2><p>Rows highlighted did not grade cleanly (see above).</p>" +
            table(headers, rows, "students", numeric=numeric, row_classes=classes))


def render_report(results: list[SubmissionResult], assignment_name: str, title: str,
                  questions: list[Question]) -> str:
    stats = class_stats(results)
    summaries = summarize_questions(results, questions)
    histogram = ""
    if results:
        p = stats["points"]
        histogram = (f'<img src="{histogram_png(results, stats)}" alt="Histogram of the {len(results)} '
                     f'students\' totals: mean {p["mean"]:.1f}, median {format_points(p["median"])}, '
                     f'range {format_points(p["min"])} to {format_points(p["max"])} points">')
    body = [f"<h1>{esc(title)}</h1><p class=\"muted\">Instructor's report for <code>{esc(assignment_name)}</code>."
            "</p>", stats_section(stats), histogram, questions_section(summaries), trouble_section(results),
            speed_section(results, questions), students_section(results, questions)]
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}: report</title><style>{CSS}</style></head>\n<body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def write_html_report(results: list[SubmissionResult], assignment_name: str, title: str,
                      questions: list[Question], out_dir: Path) -> Path:
    """Write ``out_dir/<assignment_name>-report.html`` and return its path."""
    path = Path(out_dir) / f"{assignment_name}-report.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(results, assignment_name, title, questions), encoding="utf-8")
    return path
