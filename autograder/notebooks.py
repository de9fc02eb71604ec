"""Turn a student's Jupyter notebook into the module the grader imports.

Only code cells are kept, in order. IPython syntax is not Python, so shell lines
(``!cmd``), line magics (``%cmd``) and whole cell-magic cells (``%%bash``) become
comments, and a stand-in ``get_ipython()`` makes calls such as
``get_ipython().system(...)`` print a note and do nothing: nothing a notebook asks
of the shell or of IPython runs during grading.
"""

from __future__ import annotations

import json
import re
import warnings

import nbformat

NOT_RUN = "# rnnkit: not run during grading: "
# `!cmd`, `%magic`, `%%magic` at the start of a line; not `!=`, nor `% x` continuing a formatting expression
_MAGIC_LINE = re.compile(r"^([ \t]*)(!(?!=)|%[A-Za-z_%])")
_FUTURE_IMPORT = re.compile(r"^from[ \t]+__future__[ \t]+import\b")

SHIM = '''\
class _RnnkitNoIPython:
    """What get_ipython() gives during grading: every method only says that it did nothing."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)

        def not_run(*args, **kwargs):
            print(f"rnnkit: get_ipython().{name}(...) did nothing: shell commands and magics "
                  "do not run during grading")
        return not_run


def get_ipython():
    return _RnnkitNoIPython()
'''


class NotebookProblem(ValueError):
    pass


def notebook_to_module(data: bytes, name: str, module: str) -> str:
    """The source of ``module`` made from the notebook ``name`` (its bytes are ``data``)."""
    futures, body = [], []
    for number, source in enumerate(_code_cells(data, name), 1):
        body.append(f"\n# rnnkit: code cell {number} of {name!r}")
        for line in python_lines(source):
            if _FUTURE_IMPORT.match(line):   # only legal at the top of a module
                futures.append(line)
                line = "# rnnkit: moved to the top of the module: " + line
            body.append(line)
    if not any(line.strip() and not line.lstrip().startswith("#") for line in body):
        raise NotebookProblem(f"{name} has no code in its code cells, so there is nothing to grade: "
                              f"put your code in it, or submit {module} itself")
    header = [f"# rnnkit: {module} made for grading from the code cells of {name!r}.",
              "# Shell commands (!), magics (%) and cell magics (%%) became comments: "
              "they do not run during grading.",
              *futures, "", SHIM]
    return "\n".join(header + body) + "\n"


def python_lines(source: str) -> list[str]:
    """The lines of one code cell with IPython-only syntax turned into comments."""
    lines = re.split(r"\r\n|\r|\n", source)
    if source.lstrip().startswith("%%"):   # a cell magic owns its whole cell, which need not be Python
        return [NOT_RUN + line for line in lines]
    result, scanner = [], _LogicalLines()
    for line in lines:
        magic = _MAGIC_LINE.match(line) if scanner.at_start() else None
        if magic:
            indent = magic.group(1)   # inside a block, `pass` keeps the block valid
            line = f"{indent}pass  {NOT_RUN}{line.strip()}" if indent else NOT_RUN + line
        else:
            scanner.feed(line)
        result.append(line)
    return result


class _LogicalLines:
    """Tracks whether the next physical line starts a logical line, as IPython sees it:
    not inside brackets, a triple-quoted string, or after a backslash continuation."""

    def __init__(self):
        self.depth, self.quote, self.continued = 0, "", False

    def at_start(self) -> bool:
        return self.depth == 0 and not self.quote and not self.continued

    def feed(self, line: str) -> None:
        i, quote = 0, self.quote
        while i < len(line):
            if quote:
                if line.startswith(quote, i):
                    i, quote = i + len(quote), ""
                    continue
                i += 2 if line[i] == "\\" else 1
                continue
            char = line[i]
            if char == "#":
                break
            if line.startswith(('"""', "'''"), i):
                quote, i = line[i:i + 3], i + 3
                continue
            if char in "\"'":
                quote, i = char, i + 1
                continue
            self.depth += (char in "([{") - (char in ")]}")
            i += 1
        self.depth = max(self.depth, 0)
        self.quote = quote if len(quote) == 3 else ""   # a one-quote string ends with its line
        self.continued = line.rstrip().endswith("\\") and not line.lstrip().startswith("#")


def read_notebook(data: bytes, name: str) -> nbformat.NotebookNode:
    """The notebook ``name`` (its bytes are ``data``) as nbformat version 4, read as data
    (nothing runs), or a :class:`NotebookProblem` that names the file and says what is wrong."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise NotebookProblem(f"{name} is not a Jupyter notebook: it is not UTF-8 text") from None
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError):
        raise NotebookProblem(f"{name} is not a Jupyter notebook: it is not JSON text "
                              "(was another kind of file renamed to .ipynb?)") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("cells", raw.get("worksheets")), list):
        raise NotebookProblem(f"{name} is not a Jupyter notebook: it is JSON, but has no list of cells")
    try:
        with warnings.catch_warnings():   # e.g. missing cell ids: harmless here
            warnings.simplefilter("ignore")
            notebook = nbformat.convert(nbformat.reader.reads(text), 4)
            nbformat.validate(notebook, relax_add_props=True)
    except Exception as exc:  # noqa: BLE001 (the reader and the validator fail in many ways on a wrong notebook)
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise NotebookProblem(f"{name} is not a Jupyter notebook: {reason}") from None
    return notebook


def _code_cells(data: bytes, name: str) -> list[str]:
    return [_text(cell.source) for cell in read_notebook(data, name).cells if cell.cell_type == "code"]


def _text(source) -> str:
    return "".join(source) if isinstance(source, list) else source
