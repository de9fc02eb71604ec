"""Find students' submissions on disk and read the files to grade from them.

A SUBMISSION argument is one student's folder, one student's zip, or a class folder
holding one such folder or zip per student. Files are taken from the folder that
holds the assignment's first module: its Python files (so a student's helper modules
come along), its notebooks (for free-response answers and PDF export) and the
assignment's artifacts (a trained checkpoint, say; see :class:`Wanted`). A
submission with no such module but a single Jupyter notebook is graded on the
notebook's code (see :mod:`autograder.notebooks`). Zips are read in
memory and never extracted, so no entry can land outside its scratch folder; links
are never followed and special files (devices, FIFOs, sockets) never opened.
Whatever is wrong with one submission becomes its ``problem``, a message for the
student, and never stops the others.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Callable

import yaml

from autograder.notebooks import NotebookProblem, notebook_to_module

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024    # outputs (plots) make notebooks far bigger than their code
MAX_TOTAL_BYTES = 50 * 1024 * 1024
MAX_ENTRIES = 2000
MAX_RATIO = 200                          # deflate rarely beats 200:1 on real files; zip bombs do
RATIO_CHECKED_FROM = 1024 * 1024         # small files may compress that well harmlessly
READABLE_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}   # the only ones read with bounded memory
IGNORED_PARTS = {"__MACOSX", "__pycache__", ".ipynb_checkpoints", ".git"}
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz",
                    ".gz", ".bz2", ".xz", ".zst", ".7z", ".rar")


@dataclass(frozen=True)
class Wanted:
    """What to take from a submission: the modules to grade, and the assignment's artifacts
    (files that are not code, read by the grader itself), each at most ``artifact_bytes``."""
    modules: tuple[str, ...]
    artifacts: tuple[str, ...] = ()
    artifact_bytes: int = MAX_FILE_BYTES

    @classmethod
    def of(cls, wanted) -> Wanted:
        return wanted if isinstance(wanted, Wanted) else cls(tuple(wanted))


@dataclass
class Submission:
    student: str
    source: Path
    files: dict[str, bytes] = field(default_factory=dict)   # file name -> content
    problem: str = ""                                         # why it cannot be graded as it is
    notebook: str = ""                                        # the notebook the first module was made from

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
            if name in ("", ".", "..") or name != PurePosixPath(name).name:
                raise ValueError(f"{name!r} is not a plain file name")   # files hold plain names only
            (folder / name).write_bytes(content)
        return folder


class SubmissionProblem(Exception):
    pass


@dataclass
class _Listing:
    """What a submission holds, by path inside it; nothing is read until it is picked."""
    files: dict[str, Callable[[int], bytes]] = field(default_factory=dict)   # regular files: read(limit)
    others: dict[str, str] = field(default_factory=dict)   # entries never read: what they are


def student_name(path: Path) -> str:
    name = path.stem if path.suffix.lower() == ".zip" else path.name
    return re.sub(r"[^\w.@+-]+", "_", name).strip("_") or "unnamed"


def gradescope_submitter(path: Path) -> str:
    """The submitter named in the ``submission_metadata.json`` that Gradescope writes into
    the grading container's root ``path`` (its first user's student id, else email), or "".
    Never read from inside a submission: students choose what is there."""
    metadata = path / "submission_metadata.json" if path.is_dir() else None
    if metadata is None or not metadata.is_file() or metadata.is_symlink():
        return ""
    try:
        users = json.loads(metadata.read_bytes()[:1_000_000]).get("users") or []
        first = users[0]
        who = str(first.get("sid") or first.get("email") or "").strip()
    except (OSError, ValueError, AttributeError, IndexError, TypeError):
        return ""
    return student_name(Path(who)) if who else ""


def gradescope_export_submitters(folder: Path) -> dict[str, str]:
    """For a Gradescope export ("Download submissions"), each submission folder's submitter
    (student id, else email) from the ``submission_metadata.yml`` Gradescope writes beside
    the folders; {} for any other class folder."""
    metadata = folder / "submission_metadata.yml"
    if not metadata.is_file() or metadata.is_symlink():
        return {}
    try:
        entries = yaml.safe_load(metadata.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    submitters = {}
    for name, entry in entries.items() if isinstance(entries, dict) else ():
        people = _field(entry, "submitters") or []
        who = next((str(_field(p, "sid") or _field(p, "email") or "").strip() for p in people[:1]), "")
        if who:
            submitters[str(name)] = student_name(Path(who))
    return submitters


def _field(entry, key: str):
    """Gradescope's YAML keys are Ruby symbols (":sid"); accept plain keys too."""
    return entry.get(f":{key}", entry.get(key)) if isinstance(entry, dict) else None


def discover(paths: list[Path], modules: Wanted | list[str]) -> list[Submission]:
    """Every submission under ``paths``, sorted by student; duplicates of a name get a suffix.
    ``modules`` is what to take from each (:class:`Wanted`), or just the module names."""
    modules = Wanted.of(modules)
    found: list[Submission] = []
    for path in paths:
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"{path} does not exist")
        if _is_single_submission(path):
            found.append(read_submission(path, modules))
        else:
            entries = [p for p in sorted(path.iterdir()) if p.is_dir() or p.suffix.lower() == ".zip"]
            submitters = gradescope_export_submitters(path)
            for entry in entries:
                if entry.name not in IGNORED_PARTS:
                    submission = _read_class_entry(entry, modules)
                    submission.student = submitters.get(entry.name, submission.student)
                    found.append(submission)
    seen: dict[str, int] = {}
    for submission in found:
        count = seen.get(submission.student, 0)
        seen[submission.student] = count + 1
        if count:
            submission.student = f"{submission.student}-{count + 1}"
    return sorted(found, key=lambda s: s.student)


def _is_single_submission(path: Path) -> bool:
    if not path.is_dir():
        return True
    children = list(path.iterdir())
    if any(c.is_file() and c.suffix in (".py", ".ipynb") for c in children):
        return True
    return not any(c.is_dir() or c.suffix.lower() == ".zip" for c in children)


def _read_class_entry(path: Path, modules: Wanted) -> Submission:
    """A class folder's entries come from students too: a link there is not followed either."""
    mode = path.lstat().st_mode
    if stat.S_ISDIR(mode) or stat.S_ISREG(mode):
        return read_submission(path, modules)
    name = _printable(path.name)
    if stat.S_ISLNK(mode):
        problem = (f"{name} is a symbolic link, and links in a class folder are not followed: "
                   "copy the submission itself there")
    else:
        problem = f"{name} is {_kind(mode)}, not a folder or a zip; it was not read"
    return Submission(student_name(path), path, problem=problem)


def read_submission(path: Path, modules: Wanted | list[str]) -> Submission:
    modules = Wanted.of(modules)
    submission = Submission(student_name(path), path)
    try:
        submission.files, submission.notebook = _pick_files(_list(path), modules, _printable(path.name))
    except SubmissionProblem as exc:
        submission.problem = str(exc)
    return submission


def _list(path: Path) -> _Listing:
    shown = _printable(path.name)
    if path.is_dir():
        return _folder_listing(path)
    if path.suffix.lower() == ".zip":
        return _zip_listing(path, shown)
    if path.suffix in (".py", ".ipynb"):
        return _Listing({shown: partial(_read_file, path, shown, follow_links=True)})
    raise SubmissionProblem(f"{shown} is neither a folder, a zip, a .py nor a .ipynb file")


# ---------------------------------------------------------------- folders

def _folder_listing(root: Path) -> _Listing:
    """Every file under ``root``, looked at with lstat only: no link is followed and no special
    file opened (opening a FIFO would block)."""
    listing = _Listing()
    folders = [(root, "")]
    while folders:
        folder, prefix = folders.pop()
        try:
            with os.scandir(folder) as scan:
                entries = list(scan)
            for entry in entries:
                if entry.name in IGNORED_PARTS or entry.name.startswith("."):
                    continue
                name = prefix + _printable(entry.name)
                mode = entry.stat(follow_symlinks=False).st_mode
                if stat.S_ISDIR(mode):
                    folders.append((Path(entry.path), name + "/"))
                elif _printable(entry.name) != entry.name:
                    listing.others[name] = _ODD_NAME
                elif stat.S_ISREG(mode):
                    listing.files[name] = partial(_read_file, Path(entry.path), name, follow_links=False)
                else:
                    listing.others[name] = _kind(mode)
        except OSError as exc:
            raise SubmissionProblem(f"{prefix.rstrip('/') or 'the submission folder'} cannot be read "
                                    f"({exc.strerror or exc})") from None
    return listing


def _read_file(path: Path, shown: str, limit: int, *, follow_links: bool) -> bytes:
    """At most ``limit`` bytes of a regular file."""
    with _open_regular(path, shown, follow_links=follow_links) as file:
        if os.fstat(file.fileno()).st_size > limit:
            raise SubmissionProblem(_too_large(shown, limit))
        content = file.read(limit + 1)
    if len(content) > limit:   # it grew after the check
        raise SubmissionProblem(_too_large(shown, limit))
    return content


def _open_regular(path: Path, shown: str, *, follow_links: bool):
    """``path`` opened for reading if it is a regular file. The checks are on the opened file, so a
    file swapped for a link or a FIFO after listing is still not followed, nor waited on."""
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow_links else os.O_NOFOLLOW)
    try:
        file = open(os.open(path, flags), "rb")
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow_links:
            raise SubmissionProblem(f"{shown} is a symbolic link, and links are not followed during grading: "
                                    "submit the file itself") from None
        raise SubmissionProblem(f"{shown} cannot be read ({exc.strerror or exc})") from None
    mode = os.fstat(file.fileno()).st_mode
    if not stat.S_ISREG(mode):
        file.close()
        raise SubmissionProblem(f"{shown} is {_kind(mode)}, not a file; it was not read")
    return file


# ---------------------------------------------------------------- zips

def _zip_listing(path: Path, zip_name: str) -> _Listing:
    archive = _open_zip(path, zip_name)
    infos = archive.infolist()
    if len(infos) > MAX_ENTRIES:
        raise SubmissionProblem(f"{zip_name} has {len(infos)} entries (at most {MAX_ENTRIES} allowed)")
    if sum(i.file_size for i in infos) > MAX_TOTAL_BYTES:
        raise SubmissionProblem(f"{zip_name} unpacks to more than {MAX_TOTAL_BYTES // 2**20} MB")
    for info in infos:
        if info.file_size > RATIO_CHECKED_FROM and info.file_size / max(info.compress_size, 1) > MAX_RATIO:
            raise SubmissionProblem(
                f"{zip_name} looks like a zip bomb: {_printable(info.filename)} would unpack from "
                f"{info.compress_size:,} to {info.file_size:,} bytes; remove that file and zip again")
    listing = _Listing()
    for info in infos:
        name = info.filename.replace("\\", "/")   # zips made on Windows may use backslashes
        parts = PurePosixPath(name).parts
        if name.startswith("/") or re.match(r"[A-Za-z]:", name) or ".." in parts:
            raise SubmissionProblem(f"{zip_name} has an entry with an unsafe path: {name!r}; "
                                    "zip the files with paths relative to your folder")
        if name.endswith("/") or any(p in IGNORED_PARTS or p.startswith(".") for p in parts):
            continue
        mode = info.external_attr >> 16
        shown = _printable(name)
        if shown != name:
            listing.others[shown] = _ODD_NAME
        elif stat.S_IFMT(mode) in (0, stat.S_IFREG):   # 0: made where files have no Unix mode
            listing.files[name] = partial(_read_member, archive, info, zip_name, name)
        else:
            listing.others[name] = _kind(mode)   # links, devices, FIFOs: never read
    return listing


def _open_zip(path: Path, zip_name: str) -> zipfile.ZipFile:
    file = _open_regular(path, zip_name, follow_links=True)
    try:
        return zipfile.ZipFile(file)
    except UnicodeDecodeError:   # the entry says its name is UTF-8, and it is not
        file.close()
        raise SubmissionProblem(f"{zip_name} has a file whose name is marked as UTF-8 but is not valid "
                                "UTF-8, so the zip cannot be read: zip the files again with your "
                                "system's zip tool") from None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        file.close()
        raise SubmissionProblem(f"{zip_name} is not a readable zip file ({exc})") from None


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, zip_name: str, name: str,
                 limit: int) -> bytes:
    """At most ``limit`` bytes; zipfile stops at the declared size and then fails the CRC check,
    so a member that unpacks to more than it declares is an error, never more bytes."""
    where = f"{zip_name}: {name}"
    if info.flag_bits & 0x1:
        raise SubmissionProblem(f"{where} is encrypted; submit a zip without a password")
    if info.compress_type not in READABLE_METHODS:
        method = {zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "LZMA", 9: "Deflate64"}.get(
            info.compress_type, f"method {info.compress_type}")
        raise SubmissionProblem(f"{where} is compressed with {method}, which the grader does not unpack; "
                                "zip the files again with ordinary (deflate) compression")
    if info.file_size > limit:
        raise SubmissionProblem(_too_large(where, limit))
    try:
        with archive.open(info) as member:
            content = member.read(limit + 1)   # deflate output is bounded by the size asked for
    except zipfile.BadZipFile as exc:
        raise SubmissionProblem(f"{where} is damaged: its data does not match the size and checksum "
                                f"recorded in the zip ({exc}); zip the files again") from None
    except (OSError, RuntimeError, NotImplementedError, ValueError, EOFError, zlib.error) as exc:
        raise SubmissionProblem(f"{where} cannot be read ({exc})") from None
    if len(content) > limit:
        raise SubmissionProblem(_too_large(where, limit))
    return content


# ---------------------------------------------------------------- choosing what to grade

def _pick_files(listing: _Listing, wanted: Wanted, where: str) -> tuple[dict[str, bytes], str]:
    """The files beside the first required module (the shallowest copy, if several): see
    :func:`_files_beside`; and the notebook that module was made from, if it was."""
    first = wanted.modules[0] + ".py"
    if not listing.files and not listing.others:
        raise SubmissionProblem(f"the submission is empty: {where} holds no files (submit {first})")
    python = {name: read for name, read in listing.files.items() if name.endswith(".py")}
    module = _shallowest(python, first)
    if module is not None:
        return _files_beside(listing, PurePosixPath(module).parent, wanted), ""
    module = _shallowest(listing.others, first)
    if module is not None:
        kind = listing.others[module]
        why = "links are not followed" if kind == "a symbolic link" else "such files are not read"
        raise SubmissionProblem(f"{module} is {kind}, and {why} during grading: submit the file itself")
    notebooks = sorted(name for name in listing.files if name.lower().endswith(".ipynb"))
    if len(notebooks) == 1:
        return _from_notebook(listing, wanted, notebooks[0], first), notebooks[0]
    if notebooks:
        names = ", ".join(notebooks[:5])
        raise SubmissionProblem(f"no {first} found, and {len(notebooks)} notebooks ({names}): "
                                f"submit {first}, or just the one notebook to grade")
    archives = sorted(name for name in listing.files if name.lower().endswith(ARCHIVE_SUFFIXES))
    if archives:
        raise SubmissionProblem(f"no {first} found; the submission holds {', '.join(archives[:5])}, and "
                                "archives inside a submission are not opened: "
                                f"submit {first} itself (or a single zip of it)")
    found = ", ".join(sorted(PurePosixPath(n).name for n in python)[:10]) or "no Python files"
    raise SubmissionProblem(f"no {first} found (the submission has: {found})")


def _shallowest(names, file_name: str) -> str | None:
    matches = sorted((n for n in names if PurePosixPath(n).name == file_name),
                     key=lambda n: (len(PurePosixPath(n).parts), n))
    return matches[0] if matches else None


def _files_beside(listing: _Listing, folder: PurePosixPath, wanted: Wanted) -> dict[str, bytes]:
    """The .py and .ipynb files in ``folder`` and the assignment's artifacts found there, by name.
    An artifact that is a link or a special file is named, never read."""
    files = {}
    for name, read in listing.files.items():
        path = PurePosixPath(name)
        if path.parent != folder:
            continue
        if path.suffix == ".py":
            files[path.name] = read(MAX_FILE_BYTES)
        elif path.suffix.lower() == ".ipynb":
            files[path.name] = read(MAX_NOTEBOOK_BYTES)
        elif path.name in wanted.artifacts:
            files[path.name] = read(wanted.artifact_bytes)
    for name, kind in listing.others.items():
        path = PurePosixPath(name)
        if path.parent == folder and path.name in wanted.artifacts:
            raise SubmissionProblem(f"{name} is {kind}, and such files are not read during grading: "
                                    "submit the file itself")
    return files


def _from_notebook(listing: _Listing, wanted: Wanted, notebook: str, first: str) -> dict[str, bytes]:
    """The required modules made from the notebook's code cells, with the files beside the notebook
    (the notebook itself among them). One notebook may hold an assignment of several modules:
    each module not submitted as a .py file is made from the whole notebook."""
    files = _files_beside(listing, PurePosixPath(notebook).parent, wanted)
    made = {}
    for module_name in (m + ".py" for m in wanted.modules):
        if module_name in files and module_name != first:
            continue
        try:
            source = notebook_to_module(files[PurePosixPath(notebook).name], notebook, module_name)
        except NotebookProblem as exc:
            raise SubmissionProblem(str(exc)) from None
        made[module_name] = source.encode()
        if len(made[module_name]) > MAX_FILE_BYTES:
            raise SubmissionProblem(_too_large(f"the code in {notebook}", MAX_FILE_BYTES))
    return {**files, **made}


# ---------------------------------------------------------------- messages

_ODD_NAME = "a file whose name is not valid UTF-8 or has control characters"


def _printable(name: str) -> str:
    """``name`` fit for a message: undecodable bytes (surrogates) and control characters escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in name)


def _kind(mode: int) -> str:
    for test, kind in ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISCHR, "a device file"),
                       (stat.S_ISBLK, "a device file"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder")):
        if test(mode):
            return kind
    return "a special file"


def _too_large(what: str, limit: int) -> str:
    return f"{what} is larger than {limit // 2**20} MB"
