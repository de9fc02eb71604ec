"""The `rnnkit` command: a thin click layer over the engine in `autograder/`."""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)
from rich.table import Table

from autograder import assignment as assignments
from autograder import (canvas, devices, exports, feedback, free_response, local, notebook_pdf, packaging, reports,
                        roster)
from autograder.assignment import AssignmentError
from autograder.batch import default_workers, grade_class
from autograder.executors import EXECUTORS, DaskExecutor, ExecutorUnavailable, LocalExecutor
from autograder.gradebook import Gradebook
from autograder.packaging import PackagingError
from autograder.runner import GraderError
from autograder.sandbox import SANDBOXES, SandboxUnavailable, probe
from autograder.scoring import format_points, question_scores, trouble
from autograder.submissions import discover
from autograder.validate import validate as run_validation

DEFAULT_DB = "gradebook.sqlite"
out = Console()
err = Console(stderr=True)


def fail(message: str, code: int = 2):
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)   # messages are text, not markup
    sys.exit(code)


def load_assignments(names: tuple[str, ...]):
    root = assignments.find_course_root()
    names = names or tuple(assignments.list_assignments(root))
    if not names:
        fail(f"no assignments found under {root / 'assignments'}")
    try:
        return [assignments.load(n, root) for n in names]
    except AssignmentError as exc:
        fail(str(exc))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rnnkit")
def main():
    """rnnkit: autograded exercises on recurrent neural networks.

    Students: `rnnkit check` in your assignment folder.
    Instructors: `rnnkit package`, `rnnkit validate`, `rnnkit grade`, `rnnkit report`.
    """


# ---------------------------------------------------------------------------


@main.command()
@click.argument("names", nargs=-1)
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("out/packages"),
              show_default=True, help="Where the release and bundle zips go.")
def package(names, out_dir):
    """Build student stubs, the student release and the autograder bundle.

    Regenerates student_template/NAME from solutions/NAME (code between
    `# BEGIN SOLUTION` and `# END SOLUTION` becomes a NotImplementedError),
    records the public tests' expected values, and writes
    OUT/NAME-student.zip and OUT/NAME-autograder.zip. All assignments by default.

    Example: rnnkit package vanilla_rnn --out dist/
    """
    for a in load_assignments(names):
        try:
            made = packaging.package(a, out_dir)
        except PackagingError as exc:
            fail(f"{a.name}: {exc}")
        out.print(f"[green]packaged[/] {a.name}: {made['release']}, {made['bundle']}, {made['template']}")


@main.command()
@click.argument("path", type=click.Path(exists=True, path_type=Path), default=".")
@click.option("-k", "select", help="Only tests whose names match this pytest expression.")
def check(path, select):
    """Run the public tests on your work and show what passes.

    Run it in (or point it at) the assignment folder you downloaded. Prints, per
    question, the tests passed, the points earned and the first failure. Exits
    with 0 only when every public test passes.

    Example: rnnkit check ~/assignments/vanilla_rnn
    """
    try:
        config, results = local.check(path, select)
    except (AssignmentError, GraderError) as exc:
        fail(str(exc))
    questions = [assignments.Question(q["id"], q.get("title", q["id"])) for q in config["questions"]]
    table = Table(title=config.get("title", config["name"]), show_lines=False)
    for column, justify in [("Question", "left"), ("Tests passed", "right"), ("Points", "right"),
                            ("First failure", "left")]:
        table.add_column(column, justify=justify, overflow="fold")
    for q in question_scores(results, questions):
        if not q.total:
            continue
        style = "green" if q.passed == q.total else "red"
        table.add_row(q.title, f"[{style}]{q.passed}/{q.total}[/]",
                      f"{format_points(q.score)}/{format_points(q.max_score)}", q.first_failure)
    out.print(table)
    passed = sum(r.passed for r in results)
    earned, possible = sum(r.score for r in results), sum(r.max_score for r in results)
    out.print(f"{passed} of {len(results)} public tests pass: {format_points(earned)} of "
              f"{format_points(possible)} public points. Hidden tests run when your work is graded.")
    sys.exit(0 if results and passed == len(results) else 1)


@main.command()
@click.argument("names", nargs=-1)
def validate(names):
    """Check that an assignment is ready to release.

    The reference solution earns full marks on public and hidden tests (two
    seeds), the stubs earn zero on every question, every test belongs to a
    declared question, student_template/ is what `package` generates now, and
    the release holds no solution code or hidden test. All assignments by default.

    Example: rnnkit validate vanilla_rnn
    """
    ok = True
    for a in load_assignments(names):
        try:
            checks = run_validation(a)
        except (PackagingError, GraderError) as exc:
            fail(f"{a.name}: {exc}")
        for c in checks:
            mark = "[green]ok[/]  " if c.ok else "[red]FAIL[/]"
            out.print(f"{mark} {a.name}: {c.name}", highlight=False)
            if not c.ok:
                out.print("      " + c.detail.replace("\n", "\n      "), highlight=False)
            ok &= c.ok
    sys.exit(0 if ok else 1)


@main.command()
@click.argument("submissions", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--assignment", "name", help="Assignment name, or the path of an autograder bundle "
              "(folder or zip). Optional when the course has one assignment.")
@click.option("--db", type=click.Path(path_type=Path), default=Path(DEFAULT_DB), show_default=True,
              help="The SQLite gradebook to record results in.")
@click.option("--workers", type=click.IntRange(1), default=None,
              show_default="the number of cores, fewer where memory is short",
              help="Submissions graded at once (with --executor local).")
@click.option("--executor", "executor_kind", type=click.Choice(EXECUTORS), default="local", show_default=True,
              help="Where submissions are graded: local (--workers processes on this machine) or dask (the "
              "workers of a running Dask cluster, see --scheduler; needs the rnnkit[cluster] extra).")
@click.option("--scheduler", metavar="ADDRESS",
              help="The Dask scheduler to grade on with --executor dask, e.g. tcp://HOST:8786.")
@click.option("--sandbox", type=click.Choice(SANDBOXES), default="bwrap", show_default=True,
              help="How student code is isolated: bwrap (bubblewrap sandbox) or process (a plain child "
              "process: weaker, for machines without bwrap; recorded with every result).")
@click.option("--force", is_flag=True, help="Regrade submissions already in the gradebook.")
@click.option("--device", type=click.Choice(devices.CHOICES), default="auto", show_default=True,
              help="Where GPU tests and speed targets run: auto (CUDA when PyTorch sees a GPU), cuda "
              "(fail if there is none) or cpu (CUDA tests are 'not run', scored by the assignment's policy). With "
              "--executor dask the workers decide: auto is CUDA only where every worker sees a GPU.")
@click.option("--roster", "roster_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Class roster CSV: lists submissions that match no student, and students with none.")
@click.option("--mapping", "mapping_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CSV of submission,student_id for submissions the roster cannot match by name.")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary on stdout.")
def grade(submissions, name, db, workers, executor_kind, scheduler, sandbox, force, device, roster_path,
          mapping_path, as_json):
    """Grade submissions against the hidden and public tests.

    Each SUBMISSION is one student's folder or zip, or a folder holding one
    folder or zip per student. Every test result goes into the gradebook;
    submissions already graded with the same tests are not graded again
    (unless --force). Answers to the notebook's free-response questions (graded
    by hand) are collected beside the gradebook, in free_response/NAME/: a page
    per student, an index, and each student's notebook (for report --format pdf).

    With --executor dask, the submissions are graded on the workers of a Dask
    cluster (each with rnnkit and bubblewrap installed); results still go into
    the one gradebook here, as each finishes. See "Grading on a cluster" in the README.

    Example: rnnkit grade submissions/ --assignment vanilla_rnn --db grades.sqlite
    """
    if executor_kind == "dask" and not scheduler:
        fail("--executor dask needs --scheduler ADDRESS (the Dask scheduler, e.g. tcp://HOST:8786)")
    if scheduler and executor_kind != "dask":
        fail("--scheduler is for --executor dask")
    root = assignments.find_course_root()
    if name is None:
        known = assignments.list_assignments(root)
        if len(known) != 1:
            fail(f"say which assignment with --assignment (known: {', '.join(known) or 'none'})")
        name = known[0]
    try:
        a = assignments.load(name, root)
        found = discover(list(submissions), a.wanted)
    except (AssignmentError, FileNotFoundError) as exc:
        fail(str(exc))
    if not found:
        fail("no submissions found in " + ", ".join(map(str, submissions)))
    matching = load_matching(roster_path, mapping_path, [s.student for s in found])
    if executor_kind == "dask":
        executor = start_dask(scheduler, sandbox, device)  # the workers' sandbox and devices decide
        present = executor.devices
    else:
        workers = workers or default_workers(a)
        executor = LocalExecutor(workers)
        if sandbox == "bwrap":
            try:
                probe()
            except SandboxUnavailable as exc:
                fail(str(exc))
        try:
            present = devices.available(device)
        except devices.DeviceUnavailable as exc:
            fail(str(exc))
    log = err if as_json else out
    log.print(f"Grading {len(found)} submission(s) of {a.name} with {executor.describe()} into {db} "
              f"(devices: {', '.join(sorted(present))})")
    if sandbox == "process":
        log.print("[yellow]warning:[/] --sandbox=process: student code runs without the sandbox (it can read "
                  "world-readable files and use the network); every result records this", highlight=False)

    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn())
    start = time.perf_counter()
    unclean = []  # (student, why): kept as it comes, results are not (a large class stays small in memory)
    with Gradebook(db) as book, executor:
        with Progress(*columns, console=log, transient=True) as bar:
            task = bar.add_task("grading", total=len(found))

            def progress(o):
                bar.advance(task)
                if o.grader_error:
                    unclean.append((o.student, o.grader_error))
                    bar.console.print(f"  [red]grader error[/] {o.student}: {o.grader_error}", highlight=False)
                    return
                r = o.result
                note = " (already graded)" if o.cached else f" in {r.seconds:.1f} s"
                why = trouble(r)
                if why:
                    unclean.append((o.student, why))
                bar.console.print(f"  {o.student}: {format_points(r.score)}/{format_points(r.max_score)}{note}"
                                  + (f"  [yellow]{why}[/]" if why else ""), highlight=False)

            outcomes = grade_class(a, found, book, on_outcome=progress, sandbox=sandbox, force=force,
                                   devices=present, executor=executor, keep_results=False)
        elapsed = time.perf_counter() - start
        graded = [o for o in outcomes if not o.grader_error]
        # each result read back from the gradebook as its row is written, one at a time
        stored = (dataclasses.replace(o, result=book.load(o.submission_id, o.student)) for o in graded)
        answers = collect_free_responses(a, found, db, log)
        if as_json:
            summary = json_summary(a, stored, elapsed)
            summary["free_response"] = str(answers.index) if answers else None
            click.echo(json.dumps(summary, indent=2))
        else:
            out.print(summary_table(a, stored))
            out.print(question_legend(a), highlight=False)
            out.print(f"Graded {len(graded)} submission(s) in {elapsed:.1f} s (sandbox: {sandbox}).")
        if answers:
            log.print(escape(answers.summary()), highlight=False)
    if matching is not None:
        print_roster_problems(matching, log)
    unclean.sort()
    if unclean:
        log.print(f"{len(unclean)} submission(s) did not grade cleanly:")
        for student, why in unclean:
            log.print(f"  {student}: {why}", highlight=False)
    errors = [o for o in outcomes if o.grader_error]
    if errors:
        fail(f"{len(errors)} submission(s) could not be graded because of a grader problem (nothing "
             "was recorded for them); fix it and run the same command again", code=1)


def collect_free_responses(a, found, db: Path, console):
    """Each submission's answers to the notebook's free-response questions, written beside the
    gradebook for the instructor (with the notebooks, for `report --format pdf`); None without any."""
    try:
        return free_response.collect(a, found, free_response.folder_for(db, a.name))
    except (free_response.FreeResponseError, OSError) as exc:   # the assignment's own notebook is wrong
        console.print(f"[yellow]warning:[/] free-response answers not collected: {escape(str(exc))}", highlight=False)
    return None


def start_dask(scheduler: str, sandbox: str, device: str) -> DaskExecutor:
    """Connect to the Dask scheduler and check its workers can grade (sandbox, devices, rnnkit)."""
    try:
        executor = DaskExecutor(scheduler)
    except ExecutorUnavailable as exc:
        fail(str(exc))
    try:
        executor.check(sandbox, device)
    except (ExecutorUnavailable, devices.DeviceUnavailable) as exc:
        executor.close()
        fail(str(exc))
    return executor


def json_summary(a, outcomes, elapsed: float) -> dict:
    return {
        "assignment": a.name,
        "seconds": round(elapsed, 3),
        "submissions": [{
            "student": o.student,
            "id": o.result.submission_id,
            "total": o.result.score,
            "max": o.result.max_score,
            "questions": {q.id: q.score for q in question_scores(o.result.tests, a.questions)},
            "problem": o.result.problem,
            "trouble": trouble(o.result),
            "sandbox": o.result.mode,
            "cached": o.cached,
        } for o in outcomes],
    }


def summary_table(a, outcomes) -> Table:
    table = Table(title=f"{a.title}")
    table.add_column("Student")
    for i in range(len(a.questions)):
        table.add_column(f"Q{i + 1}", justify="right")
    table.add_column("Total", justify="right")
    table.add_column("%", justify="right")
    for o in outcomes:
        r = o.result
        scores = [format_points(q.score) for q in question_scores(r.tests, a.questions)]
        table.add_row(o.student, *scores, f"{format_points(r.score)}/{format_points(r.max_score)}",
                      f"{reports.percentage(r):.0f}")
    return table


def question_legend(a) -> str:
    return "\n".join(f"  Q{i + 1}  {q.id:<16} {q.title.split('. ', 1)[-1]}" for i, q in enumerate(a.questions))


def load_matching(roster_path: Path | None, mapping_path: Path | None, names: list[str]):
    """The roster matching for ``names``, or None without a roster; stops on a bad file."""
    if roster_path is None:
        if mapping_path is not None:
            fail("--mapping needs --roster")
        return None
    try:
        mapping = roster.load_mapping(mapping_path) if mapping_path else None
        return roster.match(roster.load_roster(roster_path), names, mapping)
    except roster.RosterError as exc:
        fail(str(exc))


def print_roster_problems(matching, console) -> None:
    problems = matching.problems()
    console.print(f"Roster: {len(matching.matched)} submission(s) matched to students"
                  + (f"; {len(problems)} thing(s) to look at:" if problems else "."), highlight=False)
    for line in problems:
        console.print(f"  [yellow]{line}[/]", highlight=False)


REPORT_FORMATS = (*reports.FORMATS, *exports.FORMATS, "pdf")


@main.command()
@click.option("--format", "formats", type=click.Choice(REPORT_FORMATS), multiple=True, default=["csv"],
              show_default=True, help="Repeat for several formats.")
@click.option("--db", type=click.Path(exists=True, path_type=Path), default=Path(DEFAULT_DB), show_default=True)
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("out/reports"), show_default=True)
@click.option("--assignment", "names", multiple=True, help="Only these assignments (default: all in the gradebook).")
@click.option("--roster", "roster_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Class roster CSV (student_id, name, email, sis_user_id, sis_login_id, canvas_user_id, "
              "section); needed by canvas and moodle.")
@click.option("--mapping", "mapping_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CSV of submission,student_id for submissions the roster cannot match by name.")
@click.option("--canvas-assignment-id", help="Canvas's id of the assignment, so the import updates it "
              "instead of creating a new one.")
@click.option("--pdf-exporter", type=click.Choice(notebook_pdf.EXPORTERS), default="auto", show_default=True,
              help="otter-grader's exporter for --format pdf: html (Chromium), latex (pandoc and xelatex), or "
              "auto (html where Chromium is found, else latex).")
@click.option("--pdf-questions-only", is_flag=True, help="With --format pdf: only the notebook's free-response "
              "questions and answers, a page each (for a Gradescope PDF assignment), not the whole notebook.")
def report(formats, db, out_dir, names, roster_path, mapping_path, canvas_assignment_id, pdf_exporter,
           pdf_questions_only):
    """Export grades from the gradebook.

    \b
    csv         OUT/NAME-grades.csv: a row per student, a column per question
    gradescope  OUT/gradescope/NAME/STUDENT/results.json (Gradescope's format)
    canvas      OUT/NAME-canvas.csv: Canvas gradebook import (needs --roster)
    moodle      OUT/NAME-moodle.csv: Moodle grade import with feedback (needs --roster)
    otter       OUT/NAME-final_grades.csv: otter-grader's layout
    feedback    OUT/feedback/NAME/STUDENT.md and .html for each student
    html        OUT/NAME-report.html: class statistics, plots, hardest questions
    pdf         OUT/pdf/NAME/STUDENT.pdf: each student's notebook (kept by `grade`
                beside the gradebook), for grading written answers by hand; needs
                otter-grader: pip install "rnnkit[otter]"

    Example: rnnkit report --format canvas --format feedback --roster roster.csv --db grades.sqlite
    """
    if any(f in exports.ROSTER_FORMATS for f in formats) and roster_path is None:
        fail("the canvas and moodle formats need the class roster: add --roster roster.csv")
    exporter = None
    if "pdf" in formats:
        try:
            exporter = notebook_pdf.choose_exporter(pdf_exporter)
        except notebook_pdf.PdfUnavailable as exc:
            fail(str(exc))
    root = assignments.find_course_root()
    with Gradebook(db) as book:
        if not (names or book.assignments()):
            fail(f"{db} holds no grades yet: run `rnnkit grade` first", code=1)
        for name in names or book.assignments():
            try:
                a = assignments.load(name, root)
            except AssignmentError:
                a = None  # graded from a bundle that is not in this course: use what the gradebook has
            results = book.class_results(name)
            questions = reports.questions_of(results, a)
            title = a.title if a else name
            matching = load_matching(roster_path, mapping_path, [r.student for r in results])
            if matching is not None:
                print_roster_problems(matching, out)
            written = reports.write_reports(results, name, questions, [f for f in formats if f in reports.FORMATS],
                                            out_dir)
            written += exports.write_exports(results, name, title, questions, list(formats), out_dir,
                                             matching, canvas_assignment_id)
            if exporter:
                written += export_pdfs(db, name, [r.student for r in results], out_dir, exporter, pdf_questions_only)
            out.print(f"[green]wrote[/] {len(written)} file(s) for {name} under {out_dir}")


def export_pdfs(db: Path, name: str, students: list[str], out_dir: Path, exporter: str,
                questions_only: bool = False) -> list[Path]:
    """OUT/pdf/NAME/STUDENT.pdf from the notebooks `grade` kept beside the gradebook."""
    mine = free_response.kept_notebooks(db, name, students)
    folder = out_dir / "pdf" / name
    with Progress(SpinnerColumn(), TextColumn(f"PDFs of {name}'s notebooks"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=out, transient=True) as bar:
        task = bar.add_task("pdf", total=len(mine))
        made = notebook_pdf.export_class(mine, folder, exporter, on_done=lambda _: bar.advance(task),
                                         questions_only=questions_only)
    without = sorted(set(students) - set(mine))
    out.print(escape(f"PDF ({exporter} exporter): {len(made.written)} notebook(s) of {name} under {folder}"),
              highlight=False)
    if without:
        out.print(f"  [yellow]no notebook kept[/] for {len(without)} submission(s) (none submitted, or graded "
                  f"before notebooks were kept: run `rnnkit grade` on them again): {escape(', '.join(without))}",
                  highlight=False)
    for student, why in made.failed:
        out.print(f"  [red]not exported[/] {escape(student)}: {escape(why)}", highlight=False)
    return made.written


@main.group()
def upload():
    """Post grades and feedback to a learning management system."""


def canvas_user(entry) -> str | None:
    """How Canvas knows a roster entry, as it goes in a URL."""
    if entry.canvas_user_id:
        return entry.canvas_user_id
    if entry.sis_user_id:
        return f"sis_user_id:{entry.sis_user_id}"
    if entry.sis_login_id:
        return f"sis_login_id:{entry.sis_login_id}"
    return None


@upload.command("canvas")
@click.option("--url", envvar="CANVAS_URL", required=True, help="Your Canvas, e.g. https://canvas.example.edu "
              "(or set CANVAS_URL).")
@click.option("--course", "course_id", required=True, help="Canvas course id (the number after /courses/).")
@click.option("--assignment", "canvas_assignment", required=True,
              help="Canvas assignment id (the number after /assignments/).")
@click.option("--name", help="Which graded assignment to post (default: the gradebook's only one).")
@click.option("--db", type=click.Path(exists=True, path_type=Path), default=Path(DEFAULT_DB), show_default=True)
@click.option("--roster", "roster_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Class roster CSV with canvas_user_id, sis_user_id or sis_login_id per student.")
@click.option("--mapping", "mapping_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CSV of submission,student_id for submissions the roster cannot match by name.")
@click.option("--ledger", type=click.Path(path_type=Path),
              help="Record of what was posted (default: next to the gradebook).")
@click.option("--dry-run", is_flag=True, help="Show what would change; post nothing.")
def upload_canvas(url, course_id, canvas_assignment, name, db, roster_path, mapping_path, ledger, dry_run):
    """Post each student's total and a feedback comment to a Canvas assignment.

    The access token is read from CANVAS_API_TOKEN, never from the command line. Each
    grade is recorded in a ledger as soon as Canvas accepts it: after a failure, run the
    same command again and only what is missing is posted.

    Example: rnnkit upload canvas --url https://canvas.example.edu --course 1234 --assignment 5678 --roster roster.csv --dry-run
    """
    with Gradebook(db) as book:
        known = book.assignments()
        if name is None:
            if len(known) != 1:
                fail(f"say which graded assignment to post with --name (in {db}: {', '.join(known) or 'none'})")
            name = known[0]
        results = book.class_results(name)
    if not results:
        fail(f"{db} holds no grades for {name}", code=1)
    try:
        a = assignments.load(name, assignments.find_course_root())
    except AssignmentError:
        a = None
    questions = reports.questions_of(results, a)
    matching = load_matching(roster_path, mapping_path, [r.student for r in results])
    print_roster_problems(matching, out)
    entries, unreachable = [], []
    for result in results:
        entry = matching.matched.get(result.student)
        user = canvas_user(entry) if entry else None
        if entry and user is None:
            unreachable.append(entry.student_id)
        elif user:
            entries.append(canvas.GradeEntry(result.student, user, result.score, feedback.comment(result, questions)))
    if unreachable:
        out.print(f"[yellow]not posted[/] (no canvas_user_id, sis_user_id or sis_login_id on the roster): "
                  f"{', '.join(unreachable)}", highlight=False)
    try:
        client = canvas.CanvasClient(url, canvas.token_from_env())
        report = canvas.upload(client, course_id, canvas_assignment, entries,
                               ledger or db.with_name(db.name + ".canvas-ledger.sqlite"), dry_run=dry_run)
    except canvas.UploadInterrupted as exc:
        out.print(exc.report.summary(), highlight=False)
        fail(str(exc), code=1)
    except canvas.CanvasError as exc:
        fail(str(exc))
    for change in report.pending if dry_run else []:
        out.print(f"  would post {change.describe()}", highlight=False)
    out.print(report.summary(), highlight=False)
    sys.exit(0 if report.ok else 1)


if __name__ == "__main__":
    main()
