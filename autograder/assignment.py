"""An assignment as the grader sees it: its config, tests, oracle and reference.

The same layout is read from a course repository (``assignments/NAME`` beside
``solutions/NAME`` and ``student_template/NAME``) and from an autograder bundle
(one folder or zip holding all of it), so ``grade`` works from either.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
import tomllib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from autograder.student import ChildSetup, Limits
from autograder.submissions import Wanted

CONFIG = "assignment.toml"
BUNDLE_SOLUTION = "solution"


class AssignmentError(Exception):
    """The assignment itself is broken or missing (an instructor's problem)."""


@dataclass(frozen=True)
class Question:
    id: str
    title: str


@dataclass
class Assignment:
    name: str
    title: str
    root: Path                      # folder with assignment.toml, oracle.py and tests/
    modules: list[str]              # student modules, e.g. ["rnn_layers"]
    questions: list[Question]
    limits: Limits
    notebook: str | None = None
    solution_dir: Path | None = None
    template_dir: Path | None = None
    extra: dict = field(default_factory=dict)

    @property
    def public_tests(self) -> Path:
        return self.root / "tests" / "public"

    @property
    def hidden_tests(self) -> Path:
        return self.root / "tests" / "hidden"

    @property
    def oracle_file(self) -> Path:
        return self.root / "oracle.py"

    @property
    def student_files(self) -> list[str]:
        return [m + ".py" for m in self.modules]

    @property
    def driver_files(self) -> list[Path]:
        return driver_paths(self.extra, self.root)

    @property
    def shipped_files(self) -> list[str]:
        """Data files (relative to the assignment folder) copied as they are into the student's folder."""
        return [str(name) for name in self.extra.get("shipped", [])]

    @property
    def artifacts(self) -> tuple[str, ...]:
        """Files other than code a submission brings (a trained checkpoint, say); see ``[artifacts]``."""
        return tuple(self.extra.get("artifacts", {}).get("files", []))

    @property
    def wanted(self) -> Wanted:
        """What to take from a submission: its modules and, up to their size limit, its artifacts."""
        limit = int(float(self.extra.get("artifacts", {}).get("max_mb", 16)) * 2**20)
        return Wanted(tuple(self.modules), self.artifacts, limit)

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)

    def fingerprint(self) -> str:
        """A digest of everything that decides a grade: config, tests, oracle, reference.

        Stored with each graded submission so that changing a test regrades.
        """
        digest = hashlib.sha256()
        files = [self.root / CONFIG, self.oracle_file]
        for folder in (self.public_tests, self.hidden_tests):   # test data (held-out text, say) too
            files += sorted(p for p in folder.rglob("*") if "__pycache__" not in p.parts)
        files += self.driver_files
        files += [self.root / name for name in self.shipped_files]
        if self.solution_dir:
            files += [self.solution_dir / f for f in self.student_files]
            files += [self.solution_dir / f for f in self.artifacts]
        for path in files:
            if path.is_file():
                digest.update(path.name.encode() + b"\0" + path.read_bytes())
        return digest.hexdigest()[:16]


DRIVERS = "drivers"


def driver_paths(config: dict, root: Path) -> list[Path]:
    """The trusted helper modules an assignment runs beside the submission (``drivers``
    in its config), each at ``drivers/NAME.py`` under the assignment (or release) folder."""
    return [Path(root) / DRIVERS / f"{name}.py" for name in config.get("drivers", [])]


def child_setup(config: dict, root: Path) -> ChildSetup:
    """What the child does before it imports a submission: see :class:`ChildSetup`."""
    drivers = []
    for path in driver_paths(config, root):
        try:
            drivers.append((path.stem, path.read_text()))
        except OSError as exc:
            raise AssignmentError(f"the assignment's driver {path} cannot be read: {exc}") from None
    return ChildSetup(preload=tuple(config.get("preload", [])),
                      tripwires=tuple(config.get("banned", {}).get("apis", [])),
                      drivers=tuple(drivers))


def session_options(config: dict, root: Path) -> dict:
    """The :class:`~autograder.plugin.Session` settings an assignment's config decides."""
    banned = config.get("banned", {})
    policy = config.get("speed", {}).get("missing_device", "exclude")
    if policy not in ("exclude", "award", "zero"):
        raise AssignmentError(f"[speed] missing_device must be exclude, award or zero, not {policy!r}")
    artifacts = config.get("artifacts", {})
    return {"setup": child_setup(config, root), "banned_apis": tuple(banned.get("apis", [])),
            "banned_questions": frozenset(banned.get("questions", [])), "missing_device": policy,
            "artifacts": tuple(artifacts.get("files", [])),
            "artifact_bytes": int(float(artifacts.get("max_mb", 16)) * 2**20)}


def parse_config(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise AssignmentError(f"{path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise AssignmentError(f"{path} is not valid TOML: {exc}") from None


def _from_config(root: Path, solution_dir, template_dir) -> Assignment:
    config = parse_config(root / CONFIG)
    try:
        questions = [Question(q["id"], q.get("title", q["id"])) for q in config["questions"]]
        limits = Limits(**config.get("limits", {}))
        return Assignment(
            name=config["name"], title=config.get("title", config["name"]), root=root,
            modules=list(config["modules"]), questions=questions, limits=limits,
            notebook=config.get("notebook"), solution_dir=solution_dir,
            template_dir=template_dir, extra=config,
        )
    except (KeyError, TypeError) as exc:
        raise AssignmentError(f"{root / CONFIG} is missing or has a wrong entry: {exc}") from None


def find_course_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` with ``assignments/`` and ``solutions/``;
    else the kit's own checkout (where this package lives)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "assignments").is_dir() and (folder / "solutions").is_dir():
            return folder
    return Path(__file__).resolve().parent.parent


def list_assignments(course_root: Path) -> list[str]:
    folder = course_root / "assignments"
    return sorted(p.name for p in folder.iterdir() if (p / CONFIG).is_file()) if folder.is_dir() else []


def load(spec: str | os.PathLike, course_root: Path | None = None) -> Assignment:
    """Load an assignment by name (from the course repo), or from a bundle folder or zip."""
    path = Path(spec)
    if path.suffix == ".zip" and path.is_file():
        return _load_bundle_zip(path)
    if (path / CONFIG).is_file() and (path / BUNDLE_SOLUTION).is_dir():
        return _from_config(path.resolve(), path.resolve() / BUNDLE_SOLUTION, None)
    course_root = course_root or find_course_root()
    source = course_root / "assignments" / str(spec)
    if not (source / CONFIG).is_file():
        known = ", ".join(list_assignments(course_root)) or "none"
        raise AssignmentError(f"no assignment named {spec!r} in {course_root / 'assignments'} "
                              f"(known: {known}); or pass the path of an autograder bundle")
    return _from_config(source, course_root / "solutions" / str(spec),
                        course_root / "student_template" / str(spec))


def _load_bundle_zip(path: Path) -> Assignment:
    target = Path(tempfile.mkdtemp(prefix="rnnkit-bundle-"))
    try:
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                if member.startswith("/") or ".." in Path(member).parts:
                    raise AssignmentError(f"{path}: bundle entry {member!r} points outside the bundle")
            archive.extractall(target)
    except zipfile.BadZipFile:
        raise AssignmentError(f"{path} is not a valid zip file") from None
    atexit.register(shutil.rmtree, target, True)
    roots = [target, *(p for p in target.iterdir() if p.is_dir())]
    root = next((r for r in roots if (r / CONFIG).is_file()), None)
    if root is None:
        raise AssignmentError(f"{path} is not an autograder bundle: it has no {CONFIG}")
    return _from_config(root, root / BUNDLE_SOLUTION, None)
