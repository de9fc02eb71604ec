"""Grading on a Dask cluster (`rnnkit grade --executor dask`): the same grades as on this
machine, in the one gradebook here, with nothing lost or recorded twice when a worker or
the client dies mid-run, and no sandbox left behind."""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import counts, graded_so_far, sandbox_processes

from autograder import executors
from autograder.batch import grade_class
from autograder.executors import CACHE_ENV, DaskExecutor, ShippedAssignment
from autograder.gradebook import Gradebook
from autograder.submissions import discover

distributed = pytest.importorskip("distributed")

SLOW = "import time as _time\n_time.sleep(5)  # a slow import: time to kill the worker grading it\n"


@pytest.fixture
def cluster(tmp_path_factory):
    """Two single-threaded worker processes, which unpack assignments into their own cache.
    A fresh cluster per test: a test that kills a worker or a client leaves the cluster
    busy with work nobody waits for, which slowed the next test by minutes."""
    cache = tmp_path_factory.mktemp("worker-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_ENV, str(cache))  # the workers inherit it
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                      dashboard_address=None) as local, \
                distributed.Client(local, set_as_default=False) as client:
            yield {"client": client, "cache": cache, "address": local.scheduler_address}


@pytest.fixture
def executor(cluster):
    return DaskExecutor(client=cluster["client"])


def results_per_submission(db) -> set[int]:
    with sqlite3.connect(db) as c:
        return {n for _, n in c.execute("SELECT submission_id, COUNT(*) FROM results GROUP BY submission_id")}


def no_sandbox_left(timeout_s: float = 10) -> list[str]:
    deadline = time.monotonic() + timeout_s
    while (left := sandbox_processes()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def make_class(folder: Path, repo_root: Path, names: list[str], slow: str | None = None) -> Path:
    for name in names:
        shutil.copytree(repo_root / "examples" / "submissions" / name, folder / name)
    if slow:
        (folder / slow).mkdir(parents=True)
        perfect = (repo_root / "examples" / "submissions" / "perfect" / "rnn_layers.py").read_text()
        (folder / slow / "rnn_layers.py").write_text(SLOW + perfect)
    return folder


def test_the_assignment_travels_as_bytes_and_unpacks_to_the_same_fingerprint(vanilla_rnn, tmp_path):
    shipped = ShippedAssignment.pack(dataclasses.replace(vanilla_rnn, limits=dataclasses.replace(
        vanilla_rnn.limits, call_timeout_s=7)))
    again = pickle.loads(pickle.dumps(shipped))
    local = again.materialise(tmp_path)
    assert local.root.parent == tmp_path and vanilla_rnn.fingerprint() in local.root.name
    assert local.fingerprint() == vanilla_rnn.fingerprint()
    assert local.limits.call_timeout_s == 7  # the client's assignment, changes in memory included
    assert (local.solution_dir / "rnn_layers.py").is_file() and local.template_dir is None
    (local.hidden_tests / "test_q1_rnn_step.py").write_text("# tampered\n")
    executors._materialised.clear()
    assert again.materialise(tmp_path).fingerprint() == vanilla_rnn.fingerprint()  # unpacked afresh


def test_dask_missing_names_the_extra_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(executors.ExecutorUnavailable, match=r"rnnkit\[cluster\]"):
        DaskExecutor("tcp://127.0.0.1:1")


def test_the_sample_class_gets_the_same_grades_on_the_cluster(cluster, executor, graded_sample_class,
                                                              vanilla_rnn, repo_root, tmp_path):
    _, local = graded_sample_class
    assert executor.check("bwrap", "auto") == frozenset({"cpu"})  # no GPU on these workers
    found = discover([repo_root / "examples" / "submissions"], vanilla_rnn.modules)
    seen = []
    with Gradebook(tmp_path / "g.sqlite") as book:
        outcomes = grade_class(vanilla_rnn, found, book, executor=executor, on_outcome=seen.append,
                               keep_results=False)
        assert [(o.student, o.grader_error) for o in outcomes if o.grader_error] == []
        stored = {o.student: book.load(o.submission_id, o.student) for o in outcomes}
    assert all(o.result is None and o.submission_id for o in outcomes)  # light: the gradebook has them
    assert all(o.result is not None for o in seen)                     # the callback saw each one whole
    assert set(stored) == set(local)
    for student, result in stored.items():
        expected = local[student].result
        assert result.score == expected.score, student
        assert [(t.test_id, t.verdict, t.score) for t in result.tests] == \
            [(t.test_id, t.verdict, t.score) for t in expected.tests], student
    assert counts(tmp_path / "g.sqlite")["students"] == len(found)
    assert [p.name for p in cluster["cache"].iterdir() if not p.name.startswith(".")] == \
        [f"vanilla_rnn-{vanilla_rnn.fingerprint()}-{ShippedAssignment.pack(vanilla_rnn).digest[:12]}"]
    assert no_sandbox_left() == []


def executing(dask_worker) -> list[str]:
    return [str(ts.key) for ts in dask_worker.state.executing]


def test_a_worker_killed_mid_run_loses_and_duplicates_nothing(cluster, executor, vanilla_rnn, repo_root, tmp_path):
    client = cluster["client"]
    folder = make_class(tmp_path / "class", repo_root, ["perfect", "mask-ignored", "stub"], slow="slow")
    found = discover([folder], vanilla_rnn.modules)
    db = tmp_path / "g.sqlite"
    done = {}

    def grade():
        with Gradebook(db) as book:
            done["outcomes"] = grade_class(vanilla_rnn, found, book, executor=executor)

    grading = threading.Thread(target=grade)
    grading.start()
    victim, deadline = None, time.monotonic() + 60
    while victim is None and time.monotonic() < deadline:
        busy = client.run(executing)
        victim = next((w for w, keys in busy.items() if any("-slow-" in k for k in keys)), None)
        time.sleep(0.1)
    assert victim is not None, "the slow submission never started"
    time.sleep(1.0)  # well inside its slow import, with a sandbox running
    [pid] = client.run(os.getpid, workers=[victim]).values()
    os.kill(pid, signal.SIGKILL)
    grading.join(timeout=120)
    assert not grading.is_alive()
    assert victim not in client.nthreads()  # it died grading the slow one, which was regraded elsewhere
    outcomes = {o.student: o for o in done["outcomes"]}
    assert {s: (o.grader_error, o.result.score) for s, o in outcomes.items()} == \
        {"perfect": ("", 91), "mask-ignored": ("", 82), "stub": ("", 0), "slow": ("", 91)}
    assert counts(db)["submissions"] == counts(db)["students"] == 4
    assert len(results_per_submission(db)) == 1  # each with its full set of results, none twice
    assert no_sandbox_left() == []


def test_a_client_killed_mid_run_regrades_only_what_is_missing(cluster, executor, vanilla_rnn, repo_root, tmp_path):
    names = ["perfect", "mask-ignored", "stub", "jordan-raises", "mutates-input"]
    folder = make_class(tmp_path / "class", repo_root, names)
    db = tmp_path / "g.sqlite"
    command = [sys.executable, str(repo_root / "cli.py"), "grade", str(folder), "--assignment", "vanilla_rnn",
               "--db", str(db), "--executor", "dask", "--scheduler", cluster["address"]]
    run = subprocess.Popen(command, cwd=repo_root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and graded_so_far(db) < 2 and run.poll() is None:
        time.sleep(0.05)
    run.send_signal(signal.SIGKILL)
    _, stderr = run.communicate()
    assert run.returncode == -signal.SIGKILL, stderr.decode()[-2000:]
    with Gradebook(db) as book:
        before = {sid for (sid,) in book.db.execute("SELECT id FROM submissions")}
        assert 2 <= len(before) < len(names)
        outcomes = grade_class(vanilla_rnn, discover([folder], vanilla_rnn.modules), book, executor=executor)
    regraded = {o.submission_id for o in outcomes if not o.cached}
    assert [(o.student, o.grader_error) for o in outcomes if o.grader_error] == []
    assert regraded.isdisjoint(before) and len(regraded | before) == len(names)
    assert counts(db)["submissions"] == counts(db)["students"] == len(names)
    assert len(results_per_submission(db)) == 1
    assert no_sandbox_left(30) == []  # the killed client's last jobs finish on the workers, then stop


def test_the_cli_grades_on_the_cluster_and_summarises_from_the_gradebook(cluster, repo_root, tmp_path):
    from click.testing import CliRunner

    from cli import main

    submissions = repo_root / "examples" / "submissions"
    args = ["grade", str(submissions / "perfect"), str(submissions / "syntax-error"), "--assignment",
            "vanilla_rnn", "--db", str(tmp_path / "g.sqlite"), "--executor", "dask", "--scheduler",
            cluster["address"], "--json"]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert {s["student"]: s["total"] for s in summary["submissions"]} == {"perfect": 91, "syntax-error": 0}
    assert "did not grade cleanly" in result.stderr and "syntax-error" in result.stderr
    result = CliRunner().invoke(main, args[:-5] + ["--executor", "dask"], catch_exceptions=False)
    assert result.exit_code == 2 and "--scheduler ADDRESS" in result.output


@pytest.mark.slow
def test_the_adversarial_suite_gets_its_verdicts_on_the_cluster(cluster, executor, vanilla_rnn, repo_root,
                                                                tmp_path):
    import test_adversarial as adversarial

    for marker in adversarial.HOST_MARKERS:
        marker.unlink(missing_ok=True)
    root = tmp_path / "adversarial"
    root.mkdir()
    for case, spec in adversarial.CASES.items():
        adversarial.build_submission(case, spec, root / case, repo_root)
    for name in adversarial.NEIGHBOURS:
        shutil.copytree(repo_root / "examples" / "submissions" / name, root / name)
    assignment = dataclasses.replace(vanilla_rnn, limits=adversarial.TIGHT)
    with Gradebook(root / "grades.sqlite") as book:
        outcomes = grade_class(assignment, discover([root], assignment.modules), book, executor=executor)
        results = {r.student: r for r in book.class_results(assignment.name)}
    graded = {"outcomes": outcomes, "results": results, "leftovers": no_sandbox_left(), "assignment": assignment}
    adversarial.test_every_submission_was_graded(graded)
    for case in sorted(adversarial.CASES):
        adversarial.test_hostile_submission_gets_its_verdict(graded, case)
    adversarial.test_honest_neighbours_keep_their_scores(graded)
    adversarial.test_no_process_outlives_grading(graded)
    adversarial.test_nothing_was_unpickled_run_or_written_on_the_host(graded)
