"""Grade one submission inside Gradescope's autograder container (what ``run_autograder`` runs).

    python -m autograder.gradescope [ROOT]     # ROOT: /autograder, or $RNNKIT_GRADESCOPE_ROOT

Gradescope lays out ROOT as:

    source/bundle/              the autograder bundle (config, oracle, tests, reference), from our zip
    submission/                 the student's files (a module, a notebook, a folder or one zip of them)
    submission_metadata.json    who submitted (users[0]: sid, email, name) and the submission's id
    results/results.json        what we must write, whatever happens

Grading is the engine ``rnnkit grade`` uses, with the same bubblewrap sandbox. Where bubblewrap
cannot run (Gradescope's containers may not allow its user namespaces), the weaker ``process``
mode is used only when the course says so, knowing that student code can then read the
autograder's files: ``RNNKIT_SANDBOX=process`` in the environment, or in assignment.toml

    [gradescope]
    sandbox_fallback = "process"

Otherwise the submission gets a results.json that scores 0 and says it is a grader problem.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from autograder import assignment as assignments
from autograder.assignment import Assignment, AssignmentError
from autograder.batch import grade_submission, seed_for, submission_id
from autograder.reports import gradescope_results
from autograder.sandbox import SandboxUnavailable, probe
from autograder.scoring import format_points, trouble
from autograder.submissions import IGNORED_PARTS, Submission, gradescope_submitter, read_submission, student_name

DEFAULT_ROOT = "/autograder"
ROOT_VARIABLE = "RNNKIT_GRADESCOPE_ROOT"
SANDBOX_VARIABLE = "RNNKIT_SANDBOX"
CONTACT = "**Grader problem: contact your instructor.** Your submission was not graded, through no fault of yours"
FALLBACK_HOWTO = ("Instructors: to grade without the sandbox where it cannot run, set `RNNKIT_SANDBOX=process`, "
                  "or `sandbox_fallback = \"process\"` under `[gradescope]` in assignment.toml and package again; "
                  "student code can then read the autograder's files, the reference solution included.")
FALLBACK_NOTE = ("**Note:** the grading sandbox (bubblewrap) cannot run on this grading machine, and your course "
                 "allows grading without it. Your score is computed the same way.")


class GraderProblem(Exception):
    """Grading cannot happen here. The message is safe to show students; ``details`` (which may quote
    hidden tests) go only to the autograder's output, which Gradescope shows instructors alone;
    ``advice`` is Markdown for the instructor."""

    def __init__(self, message: str, details: str = "", advice: str = ""):
        super().__init__(message)
        self.details = details
        self.advice = advice


@dataclass
class Submitter:
    student: str           # a name fit for the gradebook
    details: dict          # what Gradescope said about the submission, for extra_data


# ---------------------------------------------------------------------------
# reading what Gradescope gives us


def read_metadata(root: Path) -> Submitter:
    """The submitter named in ``submission_metadata.json`` (users[0]: sid, else email, else name) and
    the submission's id; missing or broken metadata is not fatal."""
    try:
        metadata = json.loads((root / "submission_metadata.json").read_text(encoding="utf-8"))
        name = str((metadata.get("users") or [{}])[0].get("name") or "")
        details = {"gradescope_submission_id": metadata.get("id")}
    except (OSError, ValueError, AttributeError, IndexError, TypeError):
        name, details = "", {}
    student = gradescope_submitter(root) or (student_name(Path(name)) if name.strip() else "submission")
    return Submitter(student, details)


def submission_path(folder: Path) -> Path:
    """The folder, or the one zip in it: a zip inside a folder would otherwise not be opened."""
    if not folder.is_dir():
        return folder
    entries = [p for p in folder.iterdir() if p.name not in IGNORED_PARTS and not p.name.startswith(".")]
    if len(entries) == 1 and entries[0].suffix.lower() == ".zip" and entries[0].is_file():
        return entries[0]
    return folder


def load_bundle(root: Path) -> Assignment:
    try:
        return assignments.load(root / "source" / "bundle")
    except AssignmentError as exc:
        raise GraderProblem("The autograder's assignment bundle cannot be loaded.", details=str(exc)) from None


def choose_sandbox(assignment: Assignment) -> tuple[str, list[str]]:
    """("bwrap" or "process", notes for the summary); GraderProblem where neither may run."""
    try:
        probe()
        return "bwrap", []
    except SandboxUnavailable as exc:
        why = str(exc)
    if fallback_allowed(assignment):
        print(f"warning: grading with --sandbox=process, as the course allows: {why}")
        return "process", [FALLBACK_NOTE]
    raise GraderProblem(why, advice=FALLBACK_HOWTO)


def hide_autograder_files(root: Path) -> None:
    """Without the sandbox, a child that runs as a user of its own (the grader is root here)
    must not read the reference and hidden tests: the bundle is loaded, so close it to others."""
    if os.geteuid() == 0:
        for folder in (root / "source", root / "results"):
            if folder.is_dir():
                os.chmod(folder, 0o700)


def fallback_allowed(assignment: Assignment) -> bool:
    """Only an explicit setting lets student code run without the sandbox."""
    setting = os.environ.get(SANDBOX_VARIABLE) or assignment.extra.get("gradescope", {}).get("sandbox_fallback")
    return setting == "process"


# ---------------------------------------------------------------------------
# grading


def grade(root: Path) -> dict:
    """results.json for the submission under ``root``; GraderProblem when it cannot be graded."""
    submitter = read_metadata(root)
    assignment = load_bundle(root)
    submission = read_submission(submission_path(root / "submission"), assignment.wanted)
    submission.student = submitter.student
    if not (root / "submission").exists():
        submission.problem = "nothing was submitted: the submission folder is missing"
    sandbox, notes = choose_sandbox(assignment)
    if sandbox == "process":
        hide_autograder_files(root)
    sid = submission_id(assignment.name, assignment.fingerprint(), submission.content_hash)
    seed = seed_for(assignment.name, submission.content_hash)
    result, error = grade_submission(assignment, submission, sid, seed, sandbox)
    if result is None:
        raise GraderProblem("The grader failed while running the tests.", details=error)
    results = gradescope_results(result, assignment.questions, notes=notes)
    results["extra_data"] = {**submitter.details, "student": submitter.student, "assignment": assignment.name,
                             "rnnkit_submission_id": sid, "seed": seed, "sandbox": sandbox}
    _log(submission, result)
    return results


def _log(submission: Submission, result) -> None:
    """For the instructor: Gradescope keeps our stdout, hidden from students."""
    print(f"{submission.student}: {format_points(result.score)}/{format_points(result.max_score)} points, "
          f"sandbox {result.mode}, {result.seconds:.1f} s")
    if trouble(result):
        print(f"  did not grade cleanly: {trouble(result)}")


def problem_results(problem: GraderProblem, seconds: float) -> dict:
    """A score of 0 that says the grader, not the student, is at fault, and why."""
    why = str(problem).replace("```", "` ` `")   # keeps the code block closed
    if problem.details:
        why += "\nThe details are in the autograder's output, which only instructors see."
    return {
        "score": 0,
        "execution_time": round(seconds, 2),
        "output": "\n\n".join(filter(None, [CONTACT + ".", f"```text\n{why}\n```", problem.advice])),
        "output_format": "md",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [],
        "leaderboard": [],
    }


def write_results(root: Path, results: dict) -> Path:
    """Written whole or not at all: Gradescope must never read half a file."""
    path = root / "results" / "results.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    partial.replace(path)
    return path


def report_problem(problem: GraderProblem, start: float) -> dict:
    print(f"grader problem: {problem}\n{problem.details}".rstrip())
    return problem_results(problem, time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    root = Path(argv[0] if argv else os.environ.get(ROOT_VARIABLE, DEFAULT_ROOT))
    start = time.perf_counter()
    try:
        results = grade(root)
    except GraderProblem as problem:
        results = report_problem(problem, start)
    except Exception as exc:  # noqa: BLE001  (a bug of ours: still a results.json, the traceback for the instructor)
        results = report_problem(GraderProblem(f"The autograder failed unexpectedly ({type(exc).__name__}).",
                                               details=traceback.format_exc()), start)
    write_results(root, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
