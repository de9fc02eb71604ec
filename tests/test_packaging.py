"""Stubs from solution markers, the student release, the autograder bundle, and validate."""

import zipfile

import pytest

from autograder import assignment as assignments
from autograder.packaging import PackagingError, package, release_leaks, strip_solutions
from autograder.validate import validate

AUTHORED = '''def f(x):
    """Doubles x."""
    y = None
    # Hint: multiply.
    # BEGIN SOLUTION
    y = 2 * x
    # END SOLUTION
    return y


def helper():
    return 1
'''


def test_solution_blocks_become_not_implemented_in_their_function():
    stub = strip_solutions(AUTHORED, "a.py")
    assert "2 * x" not in stub
    assert '    raise NotImplementedError("f is not implemented yet")' in stub
    assert '"""Doubles x."""' in stub and "# Hint: multiply." in stub and "return 1" in stub


@pytest.mark.parametrize("text, message", [
    ("def f():\n    # BEGIN SOLUTION\n    pass\n", r"a.py:2: BEGIN SOLUTION is never closed"),
    ("def f():\n    # END SOLUTION\n", r"a.py:2: END SOLUTION without a BEGIN SOLUTION"),
    ("# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION\n", r"a.py:2: BEGIN SOLUTION inside another"),
    ("x = (1,\n# BEGIN SOLUTION\n2)\n# END SOLUTION\n", r"a.py: the generated stub is not valid Python"),
])
def test_broken_markers_are_reported_with_file_and_line(text, message):
    with pytest.raises(PackagingError, match=message):
        strip_solutions(text, "a.py")


@pytest.fixture
def packaged(course_copy, tmp_path):
    a = assignments.load("vanilla_rnn", course_copy)
    return a, package(a, tmp_path / "dist")


def test_release_has_stubs_notebook_public_tests_and_answers_but_no_secrets(packaged):
    a, made = packaged
    with zipfile.ZipFile(made["release"]) as z:
        names = set(z.namelist())
        stub = z.read("vanilla_rnn/rnn_layers.py").decode()
    assert {"vanilla_rnn/rnn_layers.py", "vanilla_rnn/vanilla_rnn.ipynb", "vanilla_rnn/README.md",
            "vanilla_rnn/tests/expected_values.json", "vanilla_rnn/tests/public/test_q2_bptt.py"} <= names
    assert not any("hidden" in n or "oracle" in n or "solution" in n for n in names)
    assert "np.tanh(x @ Wx + prev_h @ Wh + b)" not in stub
    assert release_leaks(a, made["release"]) == []


def test_the_leak_scan_finds_solution_code_and_hidden_tests(packaged, tmp_path):
    a, made = packaged
    leaky = tmp_path / "leaky.zip"
    with zipfile.ZipFile(leaky, "w") as z:
        z.writestr("vanilla_rnn/rnn_layers.py", (a.solution_dir / "rnn_layers.py").read_text())
        z.writestr("vanilla_rnn/tests/extra.py", (a.hidden_tests / "test_q7_gradient_flow.py").read_text())
    leaks = release_leaks(a, leaky)
    assert any("solution code from rnn_layers.py" in leak for leak in leaks)
    assert any("hidden test test_q7_gradient_flow.py" in leak for leak in leaks)


def test_bundle_holds_hidden_tests_and_reference_and_grades_from_the_zip(packaged):
    _, made = packaged
    with zipfile.ZipFile(made["bundle"]) as z:
        names = set(z.namelist())
    assert {"vanilla_rnn/tests/hidden/test_q2_bptt.py", "vanilla_rnn/solution/rnn_layers.py",
            "vanilla_rnn/oracle.py", "vanilla_rnn/assignment.toml"} <= names


def test_packaging_twice_gives_identical_zips(packaged, tmp_path):
    a, made = packaged
    again = package(a, tmp_path / "again")
    assert made["release"].read_bytes() == again["release"].read_bytes()
    assert made["bundle"].read_bytes() == again["bundle"].read_bytes()


def test_validate_passes_on_the_committed_assignment(vanilla_rnn):
    checks = validate(vanilla_rnn)
    assert len(checks) == 8
    assert [(c.name, c.detail) for c in checks if not c.ok] == []


def test_validate_catches_a_stale_template(course_copy):
    stub = course_copy / "student_template" / "vanilla_rnn" / "rnn_layers.py"
    stub.write_text(stub.read_text() + "# edited by hand\n")
    failed = {c.name: c.detail for c in validate(assignments.load("vanilla_rnn", course_copy)) if not c.ok}
    assert list(failed) == ["student_template/ is current"]
    assert "rnn_layers.py: differs from what `rnnkit package` generates" in failed["student_template/ is current"]


def test_validate_catches_a_wrong_reference(course_copy):
    solution = course_copy / "solutions" / "vanilla_rnn" / "rnn_layers.py"
    solution.write_text(solution.read_text().replace("next_y = next_h @ Wy + by", "next_y = next_h @ Wy"))
    oracle = course_copy / "assignments" / "vanilla_rnn" / "oracle.py"
    oracle.write_text(oracle.read_text().replace("return ref.jordan_step_forward(*args)",
                                                 "h, y = ref.jordan_step_forward(*args)\n    return h, y + args[-1]"))
    failed = {c.name: c.detail for c in validate(assignments.load("vanilla_rnn", course_copy)) if not c.ok}
    assert "reference earns full marks (seed 1)" in failed
    assert "jordan" in failed["reference earns full marks (seed 1)"]
    assert "student release can be built" in failed
