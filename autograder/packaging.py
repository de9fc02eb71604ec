"""Build what instructors hand out: student stubs, the student release and the autograder bundle.

The reference solution is the one source of every exercise. Code between
``# BEGIN SOLUTION`` and ``# END SOLUTION`` lines is replaced in the stubs by a
``raise NotImplementedError``; everything else (docstrings, hints, provided
helpers) is kept as written.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import stat
import tempfile
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

import nbformat
import numpy as np

import autograder
from autograder import channel
from autograder.assignment import BUNDLE_SOLUTION, CONFIG, DRIVERS, Assignment
from autograder.local import EXPECTED_VALUES
from autograder.oracle import RecordingOracle
from autograder.plugin import PUBLIC_SEED
from autograder.scoring import format_points

BEGIN = re.compile(r"^(\s*)# BEGIN SOLUTION\s*$")
END = re.compile(r"^\s*# END SOLUTION\s*$")
DEF = re.compile(r"^(\s*)def\s+(\w+)\s*\(")
ZIP_TIME = (2020, 1, 1, 0, 0, 0)  # fixed, so the same sources give byte-identical zips
RELEASE_CONFTEST = '''"""Lets plain `pytest` run the public tests here (`rnnkit check` does the same)."""

pytest_plugins = ["autograder.plugin"]
'''


class PackagingError(Exception):
    """The authored assignment cannot be packaged (bad markers, failing reference, ...)."""


# ---------------------------------------------------------------------------
# solution markers


def solution_blocks(text: str, filename: str) -> list[tuple[int, int, str]]:
    """(first line, last line, indent) of each marked block, 0-based and inclusive of markers."""
    blocks, start, indent = [], None, ""
    for number, line in enumerate(text.splitlines()):
        if (match := BEGIN.match(line)) is not None:
            if start is not None:
                raise PackagingError(f"{filename}:{number + 1}: BEGIN SOLUTION inside another solution block "
                                     f"(opened at line {start + 1})")
            start, indent = number, match.group(1)
        elif END.match(line):
            if start is None:
                raise PackagingError(f"{filename}:{number + 1}: END SOLUTION without a BEGIN SOLUTION")
            blocks.append((start, number, indent))
            start = None
    if start is not None:
        raise PackagingError(f"{filename}:{start + 1}: BEGIN SOLUTION is never closed by END SOLUTION")
    return blocks


def strip_solutions(text: str, filename: str) -> str:
    """The stub version of ``text``: each solution block becomes a NotImplementedError."""
    lines = text.splitlines()
    out, previous_end = [], 0
    for start, end, indent in solution_blocks(text, filename):
        out += lines[previous_end:start]
        name = _enclosing_function(lines, start, len(indent))
        what = f"{name} is not implemented yet" if name else "this part is not implemented yet"
        out.append(f'{indent}raise NotImplementedError("{what}")')
        previous_end = end + 1
    out += lines[previous_end:]
    stub = "\n".join(out) + ("\n" if text.endswith("\n") else "")
    try:  # IPython magics (%matplotlib, !pip) are not Python: leave them out of the check
        compile(re.sub(r"(?m)^\s*[%!].*$", "", stub), filename, "exec")
    except SyntaxError as exc:
        raise PackagingError(f"{filename}: the generated stub is not valid Python ({exc}); "
                             "check that each solution block is a whole statement sequence") from None
    return stub


def _enclosing_function(lines: list[str], index: int, indent: int) -> str | None:
    for line in reversed(lines[:index]):
        match = DEF.match(line)
        if match and len(match.group(1)) < indent:
            return match.group(2)
    return None


def solution_lines(text: str, filename: str) -> set[str]:
    """Distinctive lines of solution code: inside a block, and nowhere outside one."""
    lines = text.splitlines()
    inside, outside = set(), set()
    marked = set()
    for start, end, _ in solution_blocks(text, filename):
        marked.update(range(start, end + 1))
    for number, line in enumerate(lines):
        (inside if number in marked else outside).add(line.strip())
    return {line for line in inside - outside if len(line) >= 16 and not line.startswith("#")}


# ---------------------------------------------------------------------------
# the student tree (student_template/NAME, and the release zip made from it)


def build_student_tree(assignment: Assignment, dest: Path) -> None:
    """Write the student's folder for ``assignment`` into ``dest`` (which must not exist)."""
    dest.mkdir(parents=True)
    for name in assignment.student_files:
        source = assignment.solution_dir / name
        if not source.is_file():
            raise PackagingError(f"the reference solution {source} is missing")
        (dest / name).write_text(strip_solutions(source.read_text(), str(source)))
    shutil.copyfile(assignment.root / CONFIG, dest / CONFIG)
    _copy_drivers(assignment, dest)
    _copy_shipped(assignment, dest)
    (dest / "conftest.py").write_text(RELEASE_CONFTEST)
    if assignment.notebook:
        _write_student_notebook(assignment.root / assignment.notebook, dest / assignment.notebook)
    tests = dest / "tests"
    shutil.copytree(assignment.public_tests, tests / "public", ignore=shutil.ignore_patterns("__pycache__"))
    if (assignment.root / "tests" / "conftest.py").is_file():
        shutil.copyfile(assignment.root / "tests" / "conftest.py", tests / "conftest.py")
    answers, results = record_expected_values(assignment)
    failing = [f"{r.test_id}: {r.message}" for r in results if not r.passed]
    if failing:
        raise PackagingError("the reference solution fails public tests, so their expected values "
                             "cannot be recorded:\n" + "\n".join(failing))
    answers.save(tests / EXPECTED_VALUES)
    (dest / "README.md").write_text(student_readme(assignment, results))


def record_expected_values(assignment: Assignment):
    """Run the public tests on the reference (through the student proxy), recording every answer."""
    from autograder.grading import run_assignment_tests

    recorder = RecordingOracle(assignment.oracle_file, assignment.solution_dir)
    results = run_assignment_tests(assignment, assignment.solution_dir, PUBLIC_SEED,
                                   public_only=True, oracle=recorder)
    return recorder, results


def _write_student_notebook(source: Path, dest: Path) -> None:
    notebook = nbformat.read(source, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            if "# BEGIN SOLUTION" in cell.source:
                cell.source = strip_solutions(cell.source, f"{source.name} (a code cell)")
            cell.outputs, cell.execution_count = [], None
    nbformat.write(notebook, dest)


def student_readme(assignment: Assignment, public_results) -> str:
    per_question = {q.id: 0.0 for q in assignment.questions}
    for r in public_results:
        per_question[r.question] = per_question.get(r.question, 0.0) + r.max_score
    rows = "\n".join(f"| {q.title} | {format_points(per_question[q.id])} |" for q in assignment.questions)
    files = ", ".join(f"`{f}`" for f in assignment.student_files)
    notebook = (f"\nThe notebook `{assignment.notebook}` explains the ideas and runs experiments on "
                "your code; open it with Jupyter.\n" if assignment.notebook else "")
    submitted = files + (f" and `{assignment.notebook}`" if assignment.notebook else "")
    manual = ("; your answers to the notebook's free-response questions are read and graded by "
              "hand" if assignment.notebook else "")
    artifacts = "." if not assignment.artifacts else (
        ". Put your trained model beside the code as " + " or ".join(f"`{a}`" for a in assignment.artifacts)
        + ": the grader reads it itself (never with pickle) and scores it; the question about it says how.")
    return f"""# {assignment.title}

Fill in every function marked `raise NotImplementedError` in {files}. Each
function's docstring states its inputs, outputs, shapes and conventions.
{notebook}
## Check your work

    pip install rnnkit        # once (or what your course says); gives you `rnnkit`
    rnnkit check              # run inside this folder

`rnnkit check` runs the public tests in `tests/public/` and prints, per
question, the tests passed, the points earned and the first failure. You can
also run `pytest tests -x` for the full pytest output.

| Question | Public points |
| --- | --- |
{rows}

When your work is graded, the same public tests run again on fresh random inputs,
and hidden tests add more points per question (more shapes, edge cases and
numeric gradient checks). Passing every public test is necessary, not sufficient.

## Submit

Submit {submitted} (the files themselves, or a zip of this folder). The code is graded
automatically{manual}{artifacts}
"""


# ---------------------------------------------------------------------------
# zips


def write_zip(folder: Path, zip_path: Path, prefix: str, exclude=()) -> None:
    """Zip ``folder`` under ``prefix/`` with fixed timestamps and sorted entries."""
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder)
            if not path.is_file() or "__pycache__" in relative.parts or relative.parts[0] in exclude:
                continue
            info = zipfile.ZipInfo(f"{prefix}/{relative.as_posix()}", ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes())


def _copy_drivers(assignment: Assignment, dest: Path) -> None:
    """The trusted helpers that run beside student code (they hold no answers, so the
    student's release carries them too, for the public tests)."""
    for path in assignment.driver_files:
        if not path.is_file():
            raise PackagingError(f"the assignment's driver {path} is missing")
        (dest / DRIVERS).mkdir(exist_ok=True)
        shutil.copyfile(path, dest / DRIVERS / path.name)


def _copy_shipped(assignment: Assignment, dest: Path) -> None:
    """Data the assignment hands out as it is (``shipped``: a corpus, say), at the same paths."""
    for name in assignment.shipped_files:
        source = assignment.root / name
        if not source.is_file():
            raise PackagingError(f"{source} is listed in `shipped` but does not exist")
        target = dest / name
        if dest.resolve() not in target.resolve().parents:
            raise PackagingError(f"`shipped` entry {name!r} points outside the assignment folder")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)


def build_bundle_tree(assignment: Assignment, dest: Path) -> None:
    """The autograder bundle: config, oracle, public and hidden tests (with their data), shipped
    data, and the reference (with its artifacts, such as a trained checkpoint)."""
    dest.mkdir(parents=True)
    shutil.copyfile(assignment.root / CONFIG, dest / CONFIG)
    shutil.copyfile(assignment.oracle_file, dest / "oracle.py")
    _copy_drivers(assignment, dest)
    _copy_shipped(assignment, dest)
    shutil.copytree(assignment.root / "tests", dest / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    (dest / BUNDLE_SOLUTION).mkdir()
    for name in assignment.student_files:
        shutil.copyfile(assignment.solution_dir / name, dest / BUNDLE_SOLUTION / name)
    for name in assignment.artifacts:
        if (assignment.solution_dir / name).is_file():
            shutil.copyfile(assignment.solution_dir / name, dest / BUNDLE_SOLUTION / name)


def package(assignment: Assignment, out_dir: Path) -> dict[str, Path]:
    """Regenerate ``student_template/NAME`` and write the release, bundle and Gradescope zips into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rnnkit-package-") as scratch:
        tree = Path(scratch) / assignment.name
        build_student_tree(assignment, tree)
        if assignment.template_dir is not None:
            if assignment.template_dir.exists():
                shutil.rmtree(assignment.template_dir)
            shutil.copytree(tree, assignment.template_dir)
        release = out_dir / f"{assignment.name}-student.zip"
        write_zip(tree, release, assignment.name)
        bundle_tree = Path(scratch) / "bundle"
        build_bundle_tree(assignment, bundle_tree)
        bundle = out_dir / f"{assignment.name}-autograder.zip"
        write_zip(bundle_tree, bundle, assignment.name)
        gradescope_tree = Path(scratch) / "gradescope"
        build_gradescope_tree(bundle_tree, gradescope_tree)
        gradescope = out_dir / f"{assignment.name}-gradescope.zip"
        write_root_zip(gradescope_tree, gradescope)
    return {"release": release, "bundle": bundle, "gradescope": gradescope, "template": assignment.template_dir}


# ---------------------------------------------------------------------------
# the Gradescope autograder zip
#
# Gradescope unpacks the zip into /autograder/source, runs setup.sh there once to build its image,
# and runs run_autograder (copied to /autograder) for every submission. So the zip's root holds
#   setup.sh, run_autograder   Gradescope's two entry points
#   rnnkit/                    what `pip install` needs of the kit: pyproject.toml, README.md, cli.py, autograder/
#   bundle/                    the autograder bundle, the same tree as NAME-autograder.zip
# and autograder/gradescope.py reads /autograder/source/bundle.

GRADESCOPE_KIT = "rnnkit"
GRADESCOPE_BUNDLE = "bundle"
KIT_FILES = ("pyproject.toml", "README.md", "cli.py")
DEFAULT_TORCH = "torch>=2.2,<3"

SETUP_SH = r"""#!/usr/bin/env bash
# Gradescope runs this once, as root, to build the autograder's image (an Ubuntu base image):
# bubblewrap (the sandbox for student code), a venv with the CPU build of torch, and rnnkit.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SOURCE=/autograder/source
VENV=/autograder/venv

apt-get update
apt-get install -y --no-install-recommends bubblewrap python3 python3-venv
PYTHON=python3
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    # rnnkit needs Python 3.11 or newer; older Ubuntu images have it as a package of its own.
    apt-get install -y --no-install-recommends python3.11 python3.11-venv
    PYTHON=python3.11
fi
"$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install --no-cache-dir --upgrade pip
# The CPU build: the default one brings gigabytes of CUDA libraries that Gradescope cannot use.
"$VENV/bin/pip" install --no-cache-dir --prefer-binary --index-url https://download.pytorch.org/whl/cpu "@TORCH@"
"$VENV/bin/pip" install --no-cache-dir --prefer-binary "$SOURCE/rnnkit"

# Say now, in the build log, whether student code can be sandboxed here.
"$VENV/bin/python" -c 'from autograder.sandbox import probe; probe()' \
    && echo "rnnkit: the bubblewrap sandbox runs here" \
    || echo "rnnkit: warning: the bubblewrap sandbox cannot run while building the image (see above);" \
            "if it cannot run when grading either, every submission gets a grader-problem result" \
            "unless the course allows RNNKIT_SANDBOX=process (see autograder/gradescope.py)"
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope runs this for every submission, from /autograder. `python -m autograder.gradescope`
# grades it and writes results/results.json whatever happens; this script only covers Python
# itself failing to start. RNNKIT_GRADESCOPE_ROOT and RNNKIT_PYTHON let tests run it elsewhere.
set -uo pipefail
ROOT="${RNNKIT_GRADESCOPE_ROOT:-/autograder}"
PYTHON="${RNNKIT_PYTHON:-/autograder/venv/bin/python}"
RESULTS="$ROOT/results/results.json"

rm -f "$RESULTS"
"$PYTHON" -I -m autograder.gradescope "$ROOT"
if [ ! -s "$RESULTS" ]; then
    mkdir -p "$ROOT/results"
    cat > "$RESULTS" <<'EOF'
{"score": 0, "execution_time": 0, "output": "**Grader problem: contact your instructor.** The autograder stopped before it could grade your submission. The autograder's output, which only instructors see, says why.", "output_format": "md", "visibility": "visible", "stdout_visibility": "hidden", "tests": [], "leaderboard": []}
EOF
fi
"""


def build_gradescope_tree(bundle_tree: Path, dest: Path) -> None:
    """Gradescope's autograder for the bundle in ``bundle_tree``, laid out as described above."""
    dest.mkdir(parents=True)
    pyproject = copy_kit(dest / GRADESCOPE_KIT)
    shutil.copytree(bundle_tree, dest / GRADESCOPE_BUNDLE)
    _write_script(dest / "setup.sh", SETUP_SH.replace("@TORCH@", torch_requirement(pyproject)))
    _write_script(dest / "run_autograder", RUN_AUTOGRADER)


def copy_kit(dest: Path) -> str:
    """What `pip install` needs to install the kit, and nothing else of its checkout (no tests,
    examples or solutions); returns the pyproject.toml written."""
    package_dir = Path(autograder.__file__).resolve().parent
    shutil.copytree(package_dir, dest / "autograder", ignore=shutil.ignore_patterns("__pycache__", ".*"))
    checkout = package_dir.parent
    if all((checkout / name).is_file() for name in KIT_FILES):
        for name in KIT_FILES:
            shutil.copyfile(checkout / name, dest / name)
    else:  # installed from a wheel: no checkout to copy from
        shutil.copyfile(checkout / "cli.py", dest / "cli.py")
        (dest / "pyproject.toml").write_text(_pyproject_from_metadata())
    return (dest / "pyproject.toml").read_text()


def _pyproject_from_metadata() -> str:
    requires = [r for r in metadata.requires("rnnkit") or [] if "extra ==" not in r]
    dependencies = "".join(f"    {json.dumps(r)},\n" for r in requires)
    return ('[build-system]\nrequires = ["setuptools>=68"]\nbuild-backend = "setuptools.build_meta"\n\n'
            f'[project]\nname = "rnnkit"\nversion = "{metadata.version("rnnkit")}"\nrequires-python = ">=3.11"\n'
            f'dependencies = [\n{dependencies}]\n\n[project.scripts]\nrnnkit = "cli:main"\n\n'
            '[tool.setuptools]\npy-modules = ["cli"]\npackages = ["autograder"]\n')


def torch_requirement(pyproject: str) -> str:
    """The kit's own torch requirement, so that setup.sh installs a torch the kit accepts."""
    for requirement in tomllib.loads(pyproject).get("project", {}).get("dependencies", []):
        if re.match(r"torch\s*([<>=!~;\[]|$)", requirement.strip()):
            return requirement.strip()
    return DEFAULT_TORCH


def _write_script(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o755)


def write_root_zip(folder: Path, zip_path: Path) -> None:
    """Zip ``folder``'s contents at the zip's root (where Gradescope looks for setup.sh), keeping
    executable bits, with fixed timestamps and sorted entries like :func:`write_zip`."""
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder)
            if not path.is_file() or "__pycache__" in relative.parts:
                continue
            info = zipfile.ZipInfo(relative.as_posix(), ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            mode = 0o755 if path.stat().st_mode & 0o111 else 0o644
            info.external_attr = (stat.S_IFREG | mode) << 16
            archive.writestr(info, path.read_bytes())


# ---------------------------------------------------------------------------
# checks used by `validate` and the test suite


# Solution lines shorter than this are too generic to count as a leak when a provided
# file (a driver, a docstring) happens to contain the same line.
MIN_SECRET_LINE = 20


def release_leaks(assignment: Assignment, release_zip: Path) -> list[str]:
    """Solution code or hidden tests found in a student release zip (empty when clean)."""
    secrets = {}
    for name in assignment.student_files:
        source = assignment.solution_dir / name
        for line in solution_lines(source.read_text(), str(source)):
            if len(line) >= MIN_SECRET_LINE:  # "if lengths is None:" gives nothing away
                secrets[line] = f"solution code from {name}"
    public = {line.strip() for f in assignment.public_tests.rglob("*.py") for line in f.read_text().splitlines()}
    for test_file in sorted(assignment.hidden_tests.rglob("*.py")):
        for line in test_file.read_text().splitlines():
            if line.strip().startswith("def test_") and line.strip() not in public:
                secrets[line.strip()] = f"hidden test {test_file.name}"
    shipped = {line.strip() for name in assignment.shipped_files
               for line in (assignment.root / name).read_text(errors="replace").splitlines()}
    for data_file in sorted(p for p in assignment.hidden_tests.rglob("*") if p.is_file() and p.suffix != ".py"
                            and "__pycache__" not in p.parts):
        for line in data_file.read_text(errors="replace").splitlines():   # held-out text, say
            if len(line.strip()) >= 40 and line.strip() not in shipped:
                secrets[line.strip()] = f"hidden test data {data_file.name}"
    leaks = []
    with zipfile.ZipFile(release_zip) as archive:
        for entry in archive.namelist():
            if "hidden" in Path(entry).parts or entry.endswith("oracle.py"):
                leaks.append(f"{entry}: a grader-only file")
            text = archive.read(entry).decode("utf-8", "replace")
            found = {line.strip() for line in text.splitlines()} & secrets.keys()
            leaks += [f"{entry}: {secrets[line]}: {line}" for line in sorted(found)]
    return leaks


def template_differences(assignment: Assignment, fresh: Path) -> list[str]:
    """How the committed ``student_template/NAME`` differs from ``fresh``, a tree just built
    by :func:`build_student_tree` (empty when the committed copy is current)."""
    committed = assignment.template_dir
    if committed is None or not committed.is_dir():
        return [f"{committed} does not exist: run `rnnkit package {assignment.name}`"]
    names = {p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file()}
    names |= {p.relative_to(committed) for p in committed.rglob("*")
              if p.is_file() and "__pycache__" not in p.parts}
    differences = []
    for name in sorted(names):
        a, b = fresh / name, committed / name
        if not b.is_file():
            differences.append(f"{name}: missing from {committed}")
        elif not a.is_file():
            differences.append(f"{name}: in {committed} but no longer generated")
        elif name.name == EXPECTED_VALUES:
            if not _same_answers(a, b):
                differences.append(f"{name}: stored expected values differ")
        elif a.read_bytes() != b.read_bytes():
            differences.append(f"{name}: differs from what `rnnkit package` generates")
    return differences


def _same_answers(fresh: Path, committed: Path) -> bool:
    """Equal keys, and values equal to within rounding (BLAS builds differ in the last bits)."""
    a, b = json.loads(fresh.read_text()), json.loads(committed.read_text())
    if a.keys() != b.keys():
        return False
    for key in a:
        x = channel.decode(base64.b64decode(a[key]))
        y = channel.decode(base64.b64decode(b[key]))
        if not _close_trees(x, y):
            return False
    return True


def _close_trees(x, y) -> bool:
    if isinstance(x, dict):
        return isinstance(y, dict) and x.keys() == y.keys() and all(_close_trees(x[k], y[k]) for k in x)
    if isinstance(x, (list, tuple)):
        return isinstance(y, (list, tuple)) and len(x) == len(y) and all(_close_trees(a, b) for a, b in zip(x, y))
    try:
        return bool(np.allclose(x, y, rtol=1e-10, atol=1e-12, equal_nan=True))
    except TypeError:
        return x == y
