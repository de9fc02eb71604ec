"""Banned APIs (read from the source, caught at run time), device-marked tests and their
policy, and speed targets, through the same plugin that grades real assignments."""

import textwrap

import pytest
import torch  # noqa: F401  (loaded, so dotted paths resolve to the objects they name)

from autograder import assignment as assignments
from autograder import banned
from autograder.gradebook import Gradebook
from autograder.grading import run_assignment_tests
from autograder.scoring import SubmissionResult
from autograder.scoring import TestResult as Result

APIS = ["torch.nn.LSTM", "torch.nn.GRU", "torch._VF", "torch.lstm", "torch.backends.cudnn.rnn"]


@pytest.mark.parametrize("source, expected", [
    ("import torch\nx = torch.nn.LSTM(3, 4)\n", [(2, "torch.nn.LSTM")]),
    ("from torch import nn\nclass M(nn.Module):\n    def f(self):\n        return nn.GRU(1, 1)\n",
     [(4, "torch.nn.GRU")]),
    ("from torch.nn import LSTM as L\n", [(1, "torch.nn.LSTM")]),
    ("import torch.nn as tnn\ny = tnn.modules.rnn.LSTM\n", [(2, "torch.nn.LSTM")]),
    ("import torch\nout = torch._VF.lstm(1)\n", [(2, "torch._VF")]),
    ("from torch import _VF\n", [(1, "torch._VF")]),
    ("import torch\nf = getattr(torch, '_VF')\n", [(2, "torch._VF")]),
    ("import importlib\nm = importlib.import_module('torch.backends.cudnn.rnn')\n",
     [(2, "torch.backends.cudnn.rnn")]),
    ("import torch\nh = torch.lstm\n", [(2, "torch.lstm")]),
])
def test_the_source_check_finds_banned_apis_through_aliases(source, expected):
    assert [(u.line, u.api) for u in banned.scan(source, APIS, "torch_rnn.py")] == expected


def test_the_source_check_leaves_honest_code_alone():
    source = textwrap.dedent('''
        import torch
        from torch import nn
        from torch.nn.utils.rnn import pack_padded_sequence, PackedSequence

        class LSTM(nn.Module):              # the student's own class may share the name
            def forward(self, x):
                self.lstm = x               # so may an attribute
                gates = torch.sigmoid(x) @ torch.zeros(3, 3)
                return LSTM, nn.Linear(2, 2), nn.utils.rnn.pad_packed_sequence, "LSTM"
        ''')
    assert banned.scan(source, APIS) == []
    assert banned.scan("def broken(:\n", APIS) == []


# ---------------------------------------------------------------------------
# a tiny assignment graded through the plugin

ORACLE = "def nothing():\n    return 0\n"

TESTS = '''
import time
import numpy as np
import pytest

pytestmark = pytest.mark.question("layers")


@pytest.mark.points(2)
def test_layer_runs(student):
    """the layer runs"""
    assert student.layer() == 1


@pytest.mark.points(3)
@pytest.mark.device("cuda")
def test_layer_on_the_gpu(student):
    """the layer runs on the GPU"""
    assert student.layer() == 1
'''

SPEED_TESTS = '''
import pytest

pytestmark = pytest.mark.question("speed")


@pytest.mark.points(4)
def test_fast_enough(student, baseline, speed):
    """fast enough"""
    speed.assert_within(1.6, ("work",), ("drv.work",), baseline_name="the driver's work",
                        rounds=3, repeats=2, warmup=1)
'''

DRIVER = "import time\n\ndef work():\n    time.sleep(0.01)\n"


def make_assignment(root, banned_table="", policy="exclude", speed=False):
    (root / "tests" / "public").mkdir(parents=True)
    (root / "tests" / "hidden").mkdir()
    (root / "solution").mkdir()
    (root / "drivers").mkdir()
    (root / "drivers" / "drv.py").write_text(DRIVER)
    (root / "oracle.py").write_text(ORACLE)
    (root / "tests" / "hidden" / "test_layers.py").write_text(TESTS)
    questions = '[[questions]]\nid = "layers"\n'
    if speed:
        (root / "tests" / "hidden" / "test_speed.py").write_text(SPEED_TESTS)
        questions += '[[questions]]\nid = "speed"\n'
    (root / "assignment.toml").write_text(textwrap.dedent(f'''
        name = "tiny"
        modules = ["mod"]
        drivers = ["drv"]
        preload = ["torch"]
        {banned_table}
        [speed]
        missing_device = "{policy}"
        ''') + questions)
    (root / "solution" / "mod.py").write_text("def layer():\n    return 1\n\ndef work():\n    import time\n    time.sleep(0.01)\n")
    return assignments.load(root)


def submission(tmp_path, source):
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "mod.py").write_text(source)
    return folder


@pytest.mark.parametrize("policy, score, max_score, status", [
    ("exclude", 0.0, 0.0, "failed"), ("award", 3.0, 3.0, "passed"), ("zero", 0.0, 3.0, "failed")])
def test_a_test_for_an_absent_device_is_not_run_and_scored_by_policy(tmp_path, policy, score, max_score, status):
    a = make_assignment(tmp_path / "a", policy=policy)
    results = run_assignment_tests(a, a.solution_dir, seed=1, devices={"cpu"})
    gpu = next(r for r in results if r.name == "the layer runs on the GPU")
    assert (gpu.score, gpu.max_score, gpu.status, gpu.verdict) == (score, max_score, status, "not run")
    assert gpu.message.startswith("not run: no CUDA device")


def test_a_banned_api_fails_the_questions_that_ban_it_and_says_where(tmp_path):
    a = make_assignment(tmp_path / "a", banned_table='[banned]\napis = ["torch.nn.LSTM"]\nquestions = ["layers"]\n')
    cheat = submission(tmp_path, "import torch\n\ndef layer():\n    torch.nn.LSTM(2, 2)\n    return 1\n")
    results = run_assignment_tests(a, cheat, seed=1, devices={"cpu"})
    runs = next(r for r in results if r.name == "the layer runs")
    assert (runs.score, runs.verdict) == (0.0, "banned API")
    assert "mod.py, line 4: torch.nn.LSTM(2, 2) uses torch.nn.LSTM" in runs.message
    honest = run_assignment_tests(a, a.solution_dir, seed=1, devices={"cpu"})
    assert next(r for r in honest if r.name == "the layer runs").passed


def test_a_banned_api_reached_at_run_time_only_is_caught_by_the_tripwire(tmp_path):
    a = make_assignment(tmp_path / "a", banned_table='[banned]\napis = ["torch.nn.LSTM"]\nquestions = ["layers"]\n')
    sneaky = submission(tmp_path, "import torch\n\ndef layer():\n    getattr(torch.nn, 'LS' + 'TM')(2, 2)\n"
                                  "    return 1\n")
    results = run_assignment_tests(a, sneaky, seed=1, devices={"cpu"})
    runs = next(r for r in results if r.name == "the layer runs")
    assert runs.verdict == "banned API" and "mod.py, line 4: called torch.nn.LSTM" in runs.message


@pytest.mark.parametrize("sleep, passes", [(0.01, True), (0.04, False)])
def test_a_speed_target_compares_against_the_baseline_and_records_the_ratio(tmp_path, sleep, passes):
    a = make_assignment(tmp_path / "a", speed=True)
    folder = submission(tmp_path, f"import time\n\ndef layer():\n    return 1\n\ndef work():\n    time.sleep({sleep})\n")
    results = run_assignment_tests(a, folder, seed=1, devices={"cpu"})
    timed = next(r for r in results if r.question == "speed")
    assert timed.passed == passes, timed.message
    ratio = float(timed.measurement.split("x", 1)[0])
    assert (ratio < 1.6) == passes
    assert "the driver's work (limit 1.6x) on cpu" in timed.measurement
    if not passes:
        assert timed.message.startswith("too slow: ")


def test_measurements_are_kept_in_the_gradebook_and_old_gradebooks_are_upgraded(tmp_path):
    import sqlite3

    db = tmp_path / "old.sqlite"
    with sqlite3.connect(db) as old:  # the results table as rnnkit wrote it before speed targets
        old.execute("CREATE TABLE results (submission_id TEXT NOT NULL, test_id TEXT NOT NULL, name TEXT NOT NULL, "
                    "question TEXT NOT NULL, score REAL NOT NULL, max_score REAL NOT NULL, status TEXT NOT NULL, "
                    "verdict TEXT NOT NULL, message TEXT NOT NULL, visibility TEXT NOT NULL, seconds REAL NOT NULL, "
                    "PRIMARY KEY (submission_id, test_id))")
    test = Result("hidden/t.py::test_speed", "speed", "speed", 4, 4, "passed",
                      measurement="1.20x the time of torch.nn.LSTM (limit 3x) on cpu")
    result = SubmissionResult("ada", "s1", "tiny", [test], seed=3)
    with Gradebook(db) as book:
        book.record(result, "hash", "fp", "src", "bwrap")
        assert book.load("s1", "ada").tests[0].measurement == test.measurement
