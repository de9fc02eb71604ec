"""The companion notebook is a valid notebook and runs top to bottom on the reference solution."""

import nbformat
import pytest


def test_notebook_is_valid_and_has_no_outputs(vanilla_rnn):
    notebook = nbformat.read(vanilla_rnn.root / vanilla_rnn.notebook, as_version=4)
    nbformat.validate(notebook)
    assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code")


@pytest.mark.slow
def test_notebook_runs_on_the_reference(vanilla_rnn, monkeypatch):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    monkeypatch.syspath_prepend(str(vanilla_rnn.solution_dir))
    notebook = nbformat.read(vanilla_rnn.root / vanilla_rnn.notebook, as_version=4)
    namespace = {}
    for index, cell in enumerate(c for c in notebook.cells if c.cell_type == "code"):
        source = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith("%"))
        exec(compile(source, f"code cell {index + 1}", "exec"), namespace)
    assert namespace["history"][-1] < 0.5 * namespace["history"][0]  # truncated BPTT learned something
