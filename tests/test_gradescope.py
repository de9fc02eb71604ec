"""The Gradescope autograder zip: its layout, its setup script, and run_autograder on a simulated
/autograder folder (the kit already installed here, so setup.sh is never run)."""

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import pytest

from autograder import assignment as assignments
from autograder import scoring
from autograder.assignment import Question
from autograder.packaging import package, solution_lines
from autograder.reports import gradescope_results

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = ROOT / "examples" / "submissions"
SCHEMA = json.loads((ROOT / "tests" / "schemas" / "gradescope_results.schema.json").read_text())
METADATA = {   # the shape of Gradescope's submission_metadata.json
    "id": 123456,
    "created_at": "2026-01-15T14:22:32.365935-07:00",
    "assignment": {"id": 25828, "course_id": 1234, "title": "Assignment 1", "total_points": "91.0",
                   "due_date": "2026-01-31T23:00:00.000000-07:00", "late_due_date": None,
                   "release_date": "2026-01-02T00:00:00.000000-07:00", "group_submission": False,
                   "group_size": None},
    "submission_method": "upload",
    "users": [{"email": "ada@example.edu", "id": 1234, "name": "Ada Lovelace", "sid": "1001"}],
    "previous_submissions": [],
}


@pytest.fixture(scope="module")
def packaged(tmp_path_factory):
    """A scratch copy of the course (package() rewrites student_template/), packaged once."""
    course = tmp_path_factory.mktemp("course")
    for name in ("assignments", "solutions", "student_template"):
        shutil.copytree(ROOT / name, course / name, ignore=shutil.ignore_patterns("__pycache__"))
    a = assignments.load("vanilla_rnn", course)
    return a, package(a, course / "dist")


@pytest.fixture(scope="module")
def gradescope_zip(packaged) -> Path:
    return packaged[1]["gradescope"]


def entries(zip_path: Path) -> dict[str, zipfile.ZipInfo]:
    with zipfile.ZipFile(zip_path) as archive:
        return {info.filename: info for info in archive.infolist()}


def read(zip_path: Path, name: str) -> str:
    with zipfile.ZipFile(zip_path) as archive:
        return archive.read(name).decode()


def gradescope_root(tmp_path: Path, gradescope_zip: Path, *submitted: Path) -> Path:
    """An /autograder folder as Gradescope makes it: our zip unpacked into source/, the student's
    files in submission/, and submission_metadata.json."""
    root = tmp_path / "autograder"
    with zipfile.ZipFile(gradescope_zip) as archive:
        archive.extractall(root / "source")
    (root / "source" / "run_autograder").chmod(0o755)   # zipfile drops modes; Gradescope's unzip keeps them
    (root / "submission").mkdir()
    for path in submitted:
        copy = shutil.copytree if path.is_dir() else shutil.copyfile
        copy(path, root / "submission" / path.name)
    (root / "submission_metadata.json").write_text(json.dumps(METADATA))
    return root


def results_of(root: Path) -> dict:
    results = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(results, SCHEMA)
    return results


def run_autograder(root: Path, python: str = sys.executable) -> dict:
    """The zip's own run_autograder, pointed at ``root`` and at this venv's Python."""
    env = {**os.environ, "RNNKIT_GRADESCOPE_ROOT": str(root), "RNNKIT_PYTHON": python}
    done = subprocess.run([root / "source" / "run_autograder"], env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return results_of(root)


def hidden_test_lines() -> set[str]:
    hidden = ROOT / "assignments" / "vanilla_rnn" / "tests" / "hidden"
    return {line.strip() for f in hidden.glob("*.py") for line in f.read_text().splitlines()
            if line.strip().startswith(("assert", "def test_"))}


def all_text(value) -> str:
    if isinstance(value, dict):
        return "\n".join(all_text(v) for v in value.values())
    if isinstance(value, list):
        return "\n".join(all_text(v) for v in value)
    return str(value)


# ---------------------------------------------------------------------------
# the zip


def test_the_zip_root_holds_the_two_scripts_the_kit_and_the_bundle(packaged, gradescope_zip):
    _, made = packaged
    found = entries(gradescope_zip)
    # Gradescope unpacks the zip into /autograder/source: so rnnkit/ and bundle/ sit at the root
    assert {name.split("/")[0] for name in found} == {"setup.sh", "run_autograder", "rnnkit", "bundle"}
    for script in ("setup.sh", "run_autograder"):
        assert (found[script].external_attr >> 16) & 0o111 == 0o111, f"{script} is not executable"
        assert read(gradescope_zip, script).startswith("#!/usr/bin/env bash\n")
    assert {"rnnkit/pyproject.toml", "rnnkit/README.md", "rnnkit/cli.py", "rnnkit/autograder/gradescope.py",
            "rnnkit/autograder/batch.py"} <= set(found)
    assert {n.split("/")[1] for n in found if n.startswith("rnnkit/")} == {"pyproject.toml", "README.md", "cli.py",
                                                                           "autograder"}
    # bundle/ is the autograder bundle zip's tree, file for file
    with zipfile.ZipFile(made["bundle"]) as bundle, zipfile.ZipFile(gradescope_zip) as ours:
        expected = {n.split("/", 1)[1]: bundle.read(n) for n in bundle.namelist()}
        inside = {n.split("/", 1)[1]: ours.read(n) for n in ours.namelist() if n.startswith("bundle/")}
    assert inside == expected


def test_the_scripts_are_valid_bash_and_setup_installs_cpu_torch_with_pip(gradescope_zip, tmp_path):
    setup = read(gradescope_zip, "setup.sh")
    assert "set -euo pipefail" in setup
    assert "apt-get install -y --no-install-recommends bubblewrap python3 python3-venv" in setup
    assert '--index-url https://download.pytorch.org/whl/cpu "torch>=2.2,<3"' in setup   # pyproject's range
    assert 'pip" install --no-cache-dir --prefer-binary "$SOURCE/rnnkit"' in setup and "SOURCE=/autograder/source" in setup
    assert all("--no-cache-dir" in line for line in setup.splitlines() if " install " in line and "pip" in line)
    assert "conda" not in setup.lower()
    for script in ("setup.sh", "run_autograder"):
        (tmp_path / script).write_text(read(gradescope_zip, script))
        check = subprocess.run(["bash", "-n", tmp_path / script], capture_output=True, text=True, check=False)
        assert check.returncode == 0, check.stderr


def test_the_zip_holds_no_solution_outside_the_bundle_nor_examples_or_kit_tests(packaged, gradescope_zip):
    a, _ = packaged
    solutions = {p.read_bytes(): p for p in (ROOT / "solutions").rglob("*") if p.is_file()}
    secrets = {line for f in a.student_files for line in solution_lines((a.solution_dir / f).read_text(), f)}
    kit_tests = {p.name for p in (ROOT / "tests").rglob("*.py")}
    with zipfile.ZipFile(gradescope_zip) as archive:
        for name in archive.namelist():
            assert not {"examples", "solutions", "student_template"} & set(name.split("/")), name
            if name.startswith("bundle/"):
                continue
            assert "tests" not in name.split("/"), name
            content = archive.read(name)
            assert content not in solutions, f"{name} is {solutions.get(content)}"
            assert not secrets & {line.strip() for line in content.decode().splitlines()}, name
            assert Path(name).name not in kit_tests, name
    assert any(n.startswith("bundle/solution/") for n in entries(gradescope_zip))


def test_packaging_twice_gives_an_identical_gradescope_zip(packaged, gradescope_zip, tmp_path):
    a, _ = packaged
    assert package(a, tmp_path / "again")["gradescope"].read_bytes() == gradescope_zip.read_bytes()


# ---------------------------------------------------------------------------
# run_autograder on a simulated /autograder


@pytest.mark.parametrize("submitted, score", [
    (SUBMISSIONS / "perfect" / "rnn_layers.py", 91),   # the file itself
    (SUBMISSIONS / "mask-ignored", 82),                 # a folder holding it
    (SUBMISSIONS / "zipped-perfect.zip", 91),           # one zip of it
])
def test_run_autograder_grades_like_rnnkit_grade(gradescope_zip, tmp_path, submitted, score):
    results = run_autograder(gradescope_root(tmp_path, gradescope_zip, submitted))
    assert results["score"] == score == sum(t["score"] for t in results["tests"])
    assert results["output_format"] == "md" and results["stdout_visibility"] == "hidden"
    assert results["output"].startswith(f"**{score} of 91 points**")
    assert "| Q4. Temporal softmax loss with a padding mask |" in results["output"]
    assert "bubblewrap sandbox" in results["output"]
    assert results["leaderboard"][:2] == [{"name": "Score", "value": score, "order": "desc"},
                                          {"name": "Percentage", "value": round(100 * score / 91, 2),
                                           "order": "desc"}]
    assert results["extra_data"]["student"] == "1001" and results["extra_data"]["sandbox"] == "bwrap"
    assert results["extra_data"]["gradescope_submission_id"] == 123456
    visibility = {t["tags"][1]: t["visibility"] for t in results["tests"]}
    assert visibility == {"public": "visible", "hidden": "after_due_date"}
    text = all_text(results)
    assert not [line for line in hidden_test_lines() if line in text]


def test_an_empty_submission_scores_zero_and_says_so(gradescope_zip, tmp_path):
    results = run_autograder(gradescope_root(tmp_path, gradescope_zip))
    assert results["score"] == 0 and results["tests"]
    assert "the submission is empty" in results["output"]
    assert all(t["status"] == "failed" and "the submission is empty" in t["output"] for t in results["tests"])


def test_without_the_sandbox_it_is_a_grader_problem_unless_the_course_allows_process(gradescope_zip, tmp_path):
    root = gradescope_root(tmp_path, gradescope_zip, SUBMISSIONS / "perfect" / "rnn_layers.py")
    no_bwrap = {**os.environ, "PATH": str(Path(sys.executable).parent)}   # bwrap is not found

    def grade(**env) -> dict:
        subprocess.run([sys.executable, "-m", "autograder.gradescope", root], env={**no_bwrap, **env},
                       check=True, capture_output=True, timeout=300)
        return results_of(root)

    refused = grade()
    assert refused["score"] == 0 and refused["tests"] == []
    assert "Grader problem: contact your instructor" in refused["output"]
    assert "bwrap: command not found" in refused["output"] and "RNNKIT_SANDBOX=process" in refused["output"]
    allowed = grade(RNNKIT_SANDBOX="process")
    assert allowed["score"] == 91 and allowed["extra_data"]["sandbox"] == "process"
    assert "plain child process" in allowed["output"] and "allows grading without it" in allowed["output"]
    config = root / "source" / "bundle" / "assignment.toml"
    config.write_text(config.read_text() + '\n[gradescope]\nsandbox_fallback = "process"\n')
    assert grade()["extra_data"]["sandbox"] == "process"
    assert grade(RNNKIT_SANDBOX="bwrap")["score"] == 0   # the environment overrides the bundle


def test_run_autograder_writes_results_even_when_python_cannot_start(gradescope_zip, tmp_path):
    root = gradescope_root(tmp_path, gradescope_zip, SUBMISSIONS / "perfect" / "rnn_layers.py")
    results = run_autograder(root, python=str(tmp_path / "no-such-python"))
    assert results["score"] == 0 and "contact your instructor" in results["output"]


def test_a_broken_bundle_is_a_grader_problem_that_shows_students_no_details(gradescope_zip, tmp_path):
    root = gradescope_root(tmp_path, gradescope_zip, SUBMISSIONS / "perfect" / "rnn_layers.py")
    (root / "source" / "bundle" / "assignment.toml").write_text("name = ")
    results = run_autograder(root)
    assert results["score"] == 0 and "contact your instructor" in results["output"]
    assert "assignment.toml" not in results["output"]   # that is for the instructor, in stdout


# ---------------------------------------------------------------------------
# results.json itself


def test_results_are_markdown_safe_and_take_extra_leaderboard_entries():
    questions = [Question("q", "Q1. A | B")]
    tests = [scoring.TestResult("public/t.py::a", "a", "q", 2, 2, "passed", visibility="public"),
             scoring.TestResult("hidden/t.py::b", "b", "q", 3, 0, "failed", verdict="raised",
                        message="ValueError: ``` **not bold** <b>x</b>", visibility="hidden")]
    result = scoring.SubmissionResult("s", "id", "a", tests=tests, mode="bwrap", seconds=1.234)
    results = gradescope_results(result, questions, notes=["A note."],
                                 leaderboard=[{"name": "Bits per character", "value": 1.9, "order": "asc"}])
    jsonschema.validate(results, SCHEMA)
    failed = results["tests"][1]
    assert failed["output"] == "**raised**\n\n````text\nValueError: ``` **not bold** <b>x</b>\n````"
    assert "| Q1. A / B | 1 / 1 |" in results["output"] and results["output"].endswith("A note.")
    assert "by verdict" not in results["output"]   # the only failure is hidden: not shown before its time
    assert [e["name"] for e in results["leaderboard"]] == ["Score", "Percentage", "Bits per character"]
