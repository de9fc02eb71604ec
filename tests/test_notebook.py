"""The companion notebooks: valid, built from their sources, free-response questions well formed,
and each runs top to bottom on the reference solution."""

import importlib.util
import time

import nbformat
import pytest

from autograder import assignment as assignments
from autograder import free_response, packaging

NOTEBOOKS = ["vanilla_rnn", "gated_rnn", "attention_lm"]


@pytest.fixture(scope="module")
def builder(repo_root):
    spec = importlib.util.spec_from_file_location("notebook_build", repo_root / "docs" / "notebooks" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load(name, repo_root):
    a = assignments.load(name, repo_root)
    if not a.notebook or not (a.root / a.notebook).is_file():
        pytest.skip(f"{name} has no notebook yet")
    return a


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_valid_and_has_no_outputs(name, repo_root):
    a = load(name, repo_root)
    notebook = nbformat.read(a.root / a.notebook, as_version=4)
    nbformat.validate(notebook)
    assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code")


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_what_its_source_builds(name, repo_root, builder):
    a = load(name, repo_root)
    assert (a.root / a.notebook).read_text(encoding="utf-8") == builder.render(name), \
        f"{a.notebook} differs from docs/notebooks/{name}_cells.py: run python docs/notebooks/build.py {name}"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_has_well_formed_free_response_questions(name, repo_root):
    a = load(name, repo_root)
    prompts = free_response.assignment_prompts(a)
    assert prompts, f"{a.notebook} asks no free-response question"
    notebook = nbformat.read(a.root / a.notebook, as_version=4)
    for prompt in prompts:
        assert prompt.points > 0 and prompt.text and prompt.placeholder
        cell = next(c for c in notebook.cells if c.metadata.get("rnnkit", {}).get("free_response") == prompt.id)
        assert cell.metadata.get("editable") is False   # students answer below it, not in it
    # the untouched template answers nothing
    answers = free_response.answers((a.root / a.notebook).read_bytes(), a.notebook, prompts)
    assert set(answers) == {p.id for p in prompts} and not any(answers.values())


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_the_students_copy_leaves_out_the_notebooks_own_exercises(name, repo_root, tmp_path):
    a = load(name, repo_root)
    source = (a.root / a.notebook).read_text(encoding="utf-8")
    packaging._write_student_notebook(a.root / a.notebook, tmp_path / a.notebook)
    student = nbformat.read(tmp_path / a.notebook, as_version=4)
    solution = set().union(*(packaging.solution_lines(c.source, a.notebook) for c in template_cells(a)))
    for cell in student.cells:
        assert "# BEGIN SOLUTION" not in cell.source
        assert not solution & {line.strip() for line in cell.source.splitlines()}
        if cell.cell_type == "code":
            compile("\n".join(x for x in cell.source.splitlines() if not x.lstrip().startswith("%")), name, "exec")
    assert [c.metadata.get("rnnkit") for c in student.cells] == [c.metadata.get("rnnkit") for c in template_cells(a)]
    if "# BEGIN SOLUTION" in source:   # an exercise left to students: the cells after it still run
        assert "except NotImplementedError" in source


def template_cells(a):
    return nbformat.read(a.root / a.notebook, as_version=4).cells


def run_notebook(a, monkeypatch) -> dict:
    """Every code cell of ``a``'s notebook in one namespace, with the reference solution importable."""
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    monkeypatch.syspath_prepend(str(a.solution_dir))
    monkeypatch.chdir(a.root)   # where a release keeps data/ beside the notebook
    notebook = nbformat.read(a.root / a.notebook, as_version=4)
    namespace = {}
    for index, cell in enumerate(c for c in notebook.cells if c.cell_type == "code"):
        source = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith("%"))
        exec(compile(source, f"{a.notebook}, code cell {index + 1}", "exec"), namespace)  # noqa: S102 (the point)
    import matplotlib.pyplot as plt
    plt.close("all")
    return namespace


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_on_the_reference(name, repo_root, monkeypatch):
    a = load(name, repo_root)
    for module in a.modules:
        if not (a.solution_dir / f"{module}.py").is_file():
            pytest.skip(f"the reference {module}.py is not there yet")
    start = time.perf_counter()
    namespace = run_notebook(a, monkeypatch)
    seconds = time.perf_counter() - start
    assert seconds < 240, f"{a.notebook} took {seconds:.0f} s; keep it near 2 minutes on a 2-core CPU"
    if name == "vanilla_rnn":
        assert namespace["history"][-1] < 0.5 * namespace["history"][0]  # truncated BPTT learned something
    if name == "gated_rnn":
        assert all(len(row) == 3 and min(row.values()) > 0 for row in namespace["timings"].values())
    if name == "attention_lm":
        assert namespace["lm_history"][-1] < namespace["lm_history"][0]   # the language model learned something
