"""`rnnkit validate`: the checks an instructor runs before releasing an assignment."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from autograder import devices
from autograder.assignment import Assignment
from autograder.grading import run_assignment_tests
from autograder.packaging import PackagingError, build_student_tree, release_leaks, template_differences, write_zip
from autograder.scoring import question_scores

SEEDS = (1, 2)  # two fresh seeds, so a test that passes the reference only by luck shows up


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""


def _device_absent(result) -> bool:
    return result.verdict == "not run" and result.message.startswith("not run: no ")


def validate(assignment: Assignment) -> list[Check]:
    checks = []
    present = devices.available("auto")
    for seed in SEEDS:
        results = run_assignment_tests(assignment, assignment.solution_dir, seed, devices=present)
        failing = [f"{r.test_id}: {r.message}" for r in results if not r.passed and not _device_absent(r)]
        checks.append(Check(f"reference earns full marks (seed {seed})", not failing, "\n".join(failing)))
    absent = [f"{r.test_id}: {r.message}" for r in results if _device_absent(r)]
    if absent:  # not a failure, but the instructor should know what this machine could not check
        checks.append(Check("tests for absent devices (checked where the device is present)", True,
                            "\n".join(absent)))
    declared = {q.id for q in assignment.questions}
    used = {r.question for r in results}
    checks.append(Check("every test belongs to a declared question", used <= declared,
                        ", ".join(sorted(used - declared))))
    checks.append(Check("every question has tests", declared <= used, ", ".join(sorted(declared - used))))

    with tempfile.TemporaryDirectory(prefix="rnnkit-validate-") as scratch:
        fresh = Path(scratch) / assignment.name
        try:
            build_student_tree(assignment, fresh)
        except PackagingError as exc:
            return checks + [Check("student release can be built", False, str(exc))]
        checks.append(Check("student release can be built", True))
        stub_results = run_assignment_tests(assignment, fresh, SEEDS[0])
        scoring = [f"{q.id}: {q.score:g} points" for q in question_scores(stub_results, assignment.questions)
                   if q.score]
        checks.append(Check("stubs earn zero on every question", not scoring, "\n".join(scoring)))
        differences = template_differences(assignment, fresh)
        checks.append(Check("student_template/ is current", not differences,
                            "\n".join(differences) + f"\nrun `rnnkit package {assignment.name}`"))
        release = Path(scratch) / "release.zip"
        write_zip(fresh, release, assignment.name)
        leaks = release_leaks(assignment, release)
        checks.append(Check("release holds no solution code or hidden test", not leaks, "\n".join(leaks)))
    return checks
