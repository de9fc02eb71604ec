"""The `rnnkit` command as users run it."""

import csv
import json
import shutil
import zipfile

import pytest
from click.testing import CliRunner

from cli import main


@pytest.fixture
def run(monkeypatch):
    def invoke(*args, cwd=None):
        if cwd is not None:
            monkeypatch.chdir(cwd)
        return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return invoke


@pytest.mark.parametrize("command", ["package", "check", "validate", "grade", "report"])
def test_every_command_explains_itself_with_an_example(run, command):
    result = run(command, "--help")
    assert result.exit_code == 0 and "Example: rnnkit " + command in result.output


@pytest.fixture
def release(course_copy, tmp_path, run):
    result = run("package", "vanilla_rnn", "--out", tmp_path / "dist", cwd=course_copy)
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(tmp_path / "dist" / "vanilla_rnn-student.zip") as z:
        z.extractall(tmp_path / "student")
    return tmp_path / "student" / "vanilla_rnn"


def test_check_fails_on_the_stubs_and_passes_on_the_reference(release, run, repo_root):
    result = run("check", release)
    assert result.exit_code == 1
    assert "0 of 14 public tests pass" in result.output and "not implemented yet" in result.output
    shutil.copyfile(repo_root / "solutions" / "vanilla_rnn" / "rnn_layers.py", release / "rnn_layers.py")
    result = run("check", release)
    assert result.exit_code == 0 and "14 of 14 public tests pass" in result.output


def test_check_runs_from_a_subfolder_and_says_where_to_run_it_otherwise(release, run, tmp_path):
    assert run("check", release / "tests").exit_code == 1  # found the release above
    (tmp_path / "elsewhere").mkdir()
    result = run("check", tmp_path / "elsewhere")
    assert result.exit_code == 2 and "run this inside the assignment folder" in result.output


def test_grade_json_then_report_csv_and_gradescope(run, repo_root, tmp_path):
    db = tmp_path / "grades.sqlite"
    submissions = repo_root / "examples" / "submissions"
    result = run("grade", submissions / "perfect", submissions / "mask-ignored", "--assignment", "vanilla_rnn",
                 "--db", db, "--json", "--workers", "1")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    by_student = {s["student"]: s for s in summary["submissions"]}
    assert by_student["perfect"]["total"] == by_student["perfect"]["max"] == 91
    assert by_student["mask-ignored"]["questions"]["softmax_loss"] == 4
    assert set(by_student["perfect"]) >= {"id", "total", "max", "questions"}

    result = run("report", "--format", "csv", "--format", "gradescope", "--db", db, "--out", tmp_path / "reports")
    assert result.exit_code == 0, result.output
    with open(tmp_path / "reports" / "vanilla_rnn-grades.csv") as f:
        rows = list(csv.DictReader(f))
    header = list(rows[0])
    assert header[:2] == ["student", "rnn_step"] and header[-5:] == ["total", "max", "percentage", "problem",
                                                                                "sandbox"]
    assert {r["student"]: r["percentage"] for r in rows} == {"mask-ignored": "90.11", "perfect": "100.0"}
    assert {r["sandbox"] for r in rows} == {"bwrap"}
    gradescope = tmp_path / "reports" / "gradescope" / "vanilla_rnn"
    results = json.loads((gradescope / "mask-ignored" / "results.json").read_text())
    assert results["score"] == 82 and len(results["tests"]) == 47
    assert set(results["tests"][0]) >= {"score", "max_score", "status", "name", "number", "output", "visibility"}
    assert sum(t["score"] for t in results["tests"]) == results["score"]


def test_grade_explains_a_wrong_assignment_name(run, repo_root, tmp_path):
    result = run("grade", repo_root / "examples" / "submissions" / "perfect", "--assignment", "nope",
                 "--db", tmp_path / "g.sqlite")
    assert result.exit_code == 2 and "no assignment named 'nope'" in result.output and "vanilla_rnn" in result.output


def test_grade_accepts_an_autograder_bundle(run, course_copy, tmp_path, repo_root):
    assert run("package", "--out", tmp_path / "dist", cwd=course_copy).exit_code == 0
    result = run("grade", repo_root / "examples" / "submissions" / "perfect", "--assignment",
                 tmp_path / "dist" / "vanilla_rnn-autograder.zip", "--db", tmp_path / "g.sqlite", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["submissions"][0]["total"] == 91


def test_a_zip_of_the_whole_release_folder_is_graded_on_its_module(release, run, repo_root, tmp_path):
    shutil.copyfile(repo_root / "solutions" / "vanilla_rnn" / "rnn_layers.py", release / "rnn_layers.py")
    archive = shutil.make_archive(str(tmp_path / "dana"), "zip", release.parent, release.name)
    result = run("grade", archive, "--assignment", "vanilla_rnn", "--db", tmp_path / "g.sqlite", "--json",
                 cwd=repo_root)
    assert result.exit_code == 0, result.output
    [graded] = json.loads(result.stdout)["submissions"]
    assert graded["student"] == "dana" and graded["total"] == graded["max"] == 91


def test_grade_without_bwrap_stops_with_the_fix_unless_asked_for_the_weaker_mode(run, repo_root, tmp_path,
                                                                                 monkeypatch):
    from autograder import sandbox

    monkeypatch.setattr(sandbox, "BWRAP", "rnnkit-no-such-bwrap")
    monkeypatch.setattr(sandbox, "_probed", {})
    perfect = repo_root / "examples" / "submissions" / "perfect"
    result = run("grade", perfect, "--assignment", "vanilla_rnn", "--db", tmp_path / "g.sqlite")
    assert result.exit_code == 2
    assert "apt-get install bubblewrap" in result.output and "--sandbox=process" in result.output
    assert not (tmp_path / "g.sqlite").exists()

    result = run("grade", perfect, "--assignment", "vanilla_rnn", "--db", tmp_path / "g.sqlite",
                 "--sandbox", "process", "--json")
    assert result.exit_code == 0, result.output
    assert "runs without the sandbox" in result.stderr
    [graded] = json.loads(result.stdout)["submissions"]
    assert graded["sandbox"] == "process" and graded["total"] == 91


def test_grade_ends_with_the_submissions_that_did_not_grade_cleanly(run, repo_root, tmp_path):
    submissions = repo_root / "examples" / "submissions"
    result = run("grade", submissions / "perfect", submissions / "syntax-error", submissions / "wrong-file-name",
                 "--assignment", "vanilla_rnn", "--db", tmp_path / "g.sqlite", "--workers", "2")
    assert result.exit_code == 0, result.output
    summary = result.output[result.output.index("did not grade cleanly"):]
    assert "2 submission(s) did not grade cleanly" in result.output
    assert "syntax-error: the submission could not be loaded" in summary and "SyntaxError" in summary
    assert "wrong-file-name: no rnn_layers.py found" in summary
    assert "perfect" not in summary


def test_report_writes_the_lms_files_and_lists_roster_problems(run, graded_sample_class, repo_root, tmp_path):
    db, _ = graded_sample_class
    result = run("report", "--format", "canvas", "--db", db, "--out", tmp_path)
    assert result.exit_code == 2 and "need the class roster: add --roster" in result.output

    result = run("report", "--db", db, "--out", tmp_path, "--roster", repo_root / "examples" / "roster.csv",
                 "--canvas-assignment-id", "4242",
                 *[arg for f in ("canvas", "moodle", "otter", "feedback", "html") for arg in ("--format", f)])
    assert result.exit_code == 0, result.output
    assert "15 submission(s) matched" in result.output and "1016 (Johnson, Katherine) has no submission" in result.output
    for name in ("vanilla_rnn-canvas.csv", "vanilla_rnn-moodle.csv", "vanilla_rnn-final_grades.csv",
                 "feedback/vanilla_rnn/perfect.html", "feedback/vanilla_rnn/mask-ignored.md",
                 "vanilla_rnn-report.html"):
        assert (tmp_path / name).is_file(), name
    assert "(4242)" in (tmp_path / "vanilla_rnn-canvas.csv").read_text().splitlines()[0]


def test_upload_canvas_dry_run_then_post_then_rerun_posts_nothing(run, graded_sample_class, tmp_path, monkeypatch):
    from fake_canvas import FakeCanvas

    db, _ = graded_sample_class
    (tmp_path / "roster.csv").write_text(
        "student_id,name,email,canvas_user_id,sis_user_id,sis_login_id\n"
        "1,Ada,perfect@example.edu,101,,\n2,Bob,mask-ignored@example.edu,,S002,\n3,Cy,stub@example.edu,,,cy\n")
    monkeypatch.setenv("CANVAS_API_TOKEN", "good-token")
    with FakeCanvas() as canvas:
        args = ["upload", "canvas", "--url", canvas.url, "--course", canvas.course_id, "--assignment",
                canvas.assignment_id, "--db", db, "--roster", tmp_path / "roster.csv", "--ledger", tmp_path / "l.sqlite"]
        result = run(*args, "--dry-run")
        assert result.exit_code == 0, result.output
        assert "would post perfect (101): new, 91" in result.output and canvas.puts == []
        assert "submission 'syntax-error' matches no student on the roster" in result.output

        result = run(*args)
        assert result.exit_code == 0, result.output
        assert canvas.grades == {101: 91, 102: 82, 103: 0}
        assert canvas.comments[102][0].startswith("82/91 points.")
        result = run(*args)
        assert result.exit_code == 0 and len(canvas.puts) == 3
        assert "posted 0, skipped 3" in result.output

    monkeypatch.setenv("CANVAS_API_TOKEN", "wrong")
    with FakeCanvas() as canvas:
        result = run("upload", "canvas", "--url", canvas.url, "--course", 1, "--assignment", 7, "--db", db,
                     "--roster", tmp_path / "roster.csv", "--ledger", tmp_path / "l2.sqlite")
        assert result.exit_code == 2 and "Canvas rejected the token (401)" in result.output


@pytest.mark.skipif(__import__("autograder.devices").devices.cuda_present(), reason="this machine has a GPU")
def test_grade_device_cuda_without_a_gpu_stops_and_says_why(run, repo_root, tmp_path):
    result = run("grade", repo_root / "examples" / "submissions" / "perfect", "--assignment", "vanilla_rnn",
                 "--db", tmp_path / "g.sqlite", "--device", "cuda")
    assert result.exit_code != 0
    assert "--device cuda: no CUDA device is visible to PyTorch here" in result.output
    assert not (tmp_path / "g.sqlite").exists()
