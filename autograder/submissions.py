"""Find students' submissions on disk and read the files to grade from them.

A SUBMISSION argument is one student's folder, one student's zip, or a class folder
holding one such folder or zip per student. Only Python files are taken, from the
folder that holds the assignment's first module (so a student's helper modules
come along); zips are read in memory and never extracted, so no entry can land
outside its scratch folder.
"""

from __future__ import annotations

import hashlib
import re
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_TOTAL_BYTES = 50 * 1024 * 1024
MAX_ENTRIES = 2000
IGNORED_PARTS = {"__MACOSX", "__pycache__", ".ipynb_checkpoints", ".git"}


@dataclass
class Submission:
    student: str
    source: Path
    files: dict[str, bytes] = field(default_factory=dict)   # file name -> content
    problem: str = ""                                         # why it cannot be graded as it is

    @property
    def content_hash(self) -> str:
        digest = hashlib.sha256()
        for name in sorted(self.files):
            digest.update(name.encode() + b"\0" + hashlib.sha256(self.files[name]).digest())
        digest.update(self.problem.encode())
        return digest.hexdigest()

    def write_to(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        for name, content in self.files.items():
            (folder / name).write_bytes(content)
        return folder


def student_name(path: Path) -> str:
    name = path.stem if path.suffix.lower() == ".zip" else path.name
    return re.sub(r"[^\w.@+-]+", "_", name).strip("_") or "unnamed"


def discover(paths: list[Path], modules: list[str]) -> list[Submission]:
    """Every submission under ``paths``, sorted by student; duplicates of a name get a suffix."""
    found: list[Submission] = []
    for path in paths:
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"{path} does not exist")
        if _is_single_submission(path):
            found.append(read_submission(path, modules))
        else:
            entries = [p for p in sorted(path.iterdir()) if p.is_dir() or p.suffix.lower() == ".zip"]
            found += [read_submission(p, modules) for p in entries if p.name not in IGNORED_PARTS]
    seen: dict[str, int] = {}
    for submission in found:
        count = seen.get(submission.student, 0)
        seen[submission.student] = count + 1
        if count:
            submission.student = f"{submission.student}-{count + 1}"
    return sorted(found, key=lambda s: s.student)


def _is_single_submission(path: Path) -> bool:
    if path.is_file():
        return True
    children = list(path.iterdir())
    if any(c.is_file() and c.suffix in (".py", ".ipynb") for c in children):
        return True
    return not any(c.is_dir() or c.suffix.lower() == ".zip" for c in children)


def read_submission(path: Path, modules: list[str]) -> Submission:
    submission = Submission(student_name(path), path)
    try:
        if path.is_dir():
            files = {p.relative_to(path).as_posix(): p for p in path.rglob("*")
                     if p.is_file() and not p.is_symlink()}
            candidates = {name: p.read_bytes for name, p in files.items() if _wanted(name)}
        elif path.suffix.lower() == ".zip":
            candidates = _zip_candidates(path)
        elif path.suffix == ".py":
            candidates = {path.name: path.read_bytes}
        else:
            raise SubmissionProblem(f"{path.name} is neither a folder, a zip nor a .py file")
        submission.files = _pick_files(candidates, modules)
    except SubmissionProblem as exc:
        submission.problem = str(exc)
    return submission


class SubmissionProblem(Exception):
    pass


def _wanted(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return name.endswith(".py") and not any(p in IGNORED_PARTS or p.startswith(".") for p in parts)


def _zip_candidates(path: Path) -> dict:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SubmissionProblem(f"{path.name} is not a readable zip file ({exc})") from None
    infos = archive.infolist()
    if len(infos) > MAX_ENTRIES:
        raise SubmissionProblem(f"{path.name} has {len(infos)} entries (at most {MAX_ENTRIES} allowed)")
    if sum(i.file_size for i in infos) > MAX_TOTAL_BYTES:
        raise SubmissionProblem(f"{path.name} unpacks to more than {MAX_TOTAL_BYTES // 2**20} MB")
    candidates = {}
    for info in infos:
        name = info.filename
        if name.startswith("/") or ".." in PurePosixPath(name).parts:
            raise SubmissionProblem(f"{path.name} has an entry with an unsafe path: {name!r}")
        if stat.S_ISLNK(info.external_attr >> 16):
            continue  # links are never followed
        if not info.is_dir() and _wanted(name):
            candidates[name] = lambda info=info: _read_member(archive, info, path.name)
    return candidates


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, zip_name: str) -> bytes:
    if info.file_size > MAX_FILE_BYTES:
        raise SubmissionProblem(f"{zip_name}: {info.filename} is larger than {MAX_FILE_BYTES // 2**20} MB")
    try:
        return archive.read(info)
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError) as exc:
        raise SubmissionProblem(f"{zip_name}: {info.filename} cannot be read ({exc})") from None


def _pick_files(candidates: dict, modules: list[str]) -> dict[str, bytes]:
    """The .py files beside the first required module (the shallowest copy, if several)."""
    first = modules[0] + ".py"
    matches = sorted((n for n in candidates if PurePosixPath(n).name == first),
                     key=lambda n: (len(PurePosixPath(n).parts), n))
    if not matches:
        found = ", ".join(sorted(PurePosixPath(n).name for n in candidates)[:10]) or "no Python files"
        raise SubmissionProblem(f"no {first} found (the submission has: {found})")
    folder = PurePosixPath(matches[0]).parent
    files = {}
    for name, read in candidates.items():
        if PurePosixPath(name).parent == folder:
            content = read()
            if len(content) > MAX_FILE_BYTES:
                raise SubmissionProblem(f"{name} is larger than {MAX_FILE_BYTES // 2**20} MB")
            files[PurePosixPath(name).name] = content
    return files
