"""Build the companion notebooks from their sources in this folder.

Each assignment's notebook is authored once, here, as a list of cells
(``docs/notebooks/<name>_cells.py``, a ``CELLS`` list), and written with nbformat to
``assignments/<name>/<name>.ipynb`` without outputs. Code that students write goes
between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` lines; ``rnnkit package`` strips it
from the students' copy. Free-response questions are a prompt cell and an answer cell
marked with ``rnnkit`` metadata (see :func:`free_response` and docs/authoring.md).

    python docs/notebooks/build.py                 # every notebook
    python docs/notebooks/build.py gated_rnn       # one
    python docs/notebooks/build.py --check         # exit 1 if a notebook differs from its source
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
NAMES = ("vanilla_rnn", "gated_rnn", "attention_lm")
ANSWER_PLACEHOLDER = "_Write your answer here (a few sentences; formulas in $...$ are fine)._"


def _text(source: str) -> str:
    return source.strip("\n")


def md(source: str, **metadata):
    return nbformat.v4.new_markdown_cell(_text(source), metadata=metadata)


def code(source: str, **metadata):
    return nbformat.v4.new_code_cell(_text(source), metadata=metadata)


def free_response(qid: str, points: float, prompt: str, placeholder: str = ANSWER_PLACEHOLDER) -> list:
    """A free-response question: the prompt (not editable in Jupyter) and the answer cell
    after it that the student fills in. Both keep their place (not deletable); the answers
    are collected by `rnnkit grade` and graded by hand."""
    heading = f"**Free response `{qid}`** ({points:g} points, graded by hand)\n\n"
    return [md(heading + _text(prompt), rnnkit={"free_response": qid, "points": points},
               editable=False, deletable=False),
            md(placeholder, rnnkit={"answer": qid}, deletable=False)]


def build(name: str) -> nbformat.NotebookNode:
    sys.path.insert(0, str(HERE))
    try:
        cells = importlib.import_module(f"{name}_cells").CELLS
    finally:
        sys.path.remove(str(HERE))
    flat = []
    for cell in cells:
        flat.extend(cell if isinstance(cell, list) else [cell])
    notebook = nbformat.v4.new_notebook(cells=flat, metadata={
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"}})
    for index, cell in enumerate(notebook.cells):   # stable ids: rebuilding changes nothing
        cell.id = hashlib.sha256(f"{name}\0{index}\0{cell.source}".encode()).hexdigest()[:8]
    nbformat.validate(notebook)
    return notebook


def target(name: str) -> Path:
    return ROOT / "assignments" / name / f"{name}.ipynb"


def render(name: str) -> str:
    return nbformat.writes(build(name)) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=list(NAMES))
    parser.add_argument("--check", action="store_true", help="only compare; write nothing")
    args = parser.parse_args(argv)
    stale = []
    for name in args.names:
        text, path = render(name), target(name)
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        print(f"out of date (run python docs/notebooks/build.py): {', '.join(stale)}")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
