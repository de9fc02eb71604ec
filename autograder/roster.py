"""The class roster, and which graded submission belongs to which student.

A roster is a CSV file with a header row. Column names are matched loosely (case,
spaces, hyphens and underscores do not matter):

    student_id (required), name, email, sis_user_id, sis_login_id, canvas_user_id, section

A submission is named after its folder or zip (or, for a Gradescope export, the
submitter that the export's ``submission_metadata.yml`` gives for its folder). It belongs to the roster entry whose
student id, email, email's local part, SIS login or user id, Canvas user id or name
it matches, or to the one an explicit mapping file (``submission,student_id``) names.
Nothing is dropped silently: submissions that match nobody (or several students),
students with no submission, and students with several submissions are all listed.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field, fields
from pathlib import Path

ALIASES = {
    "student_id": {"student_id", "id", "student_number", "sid", "studentid"},
    "name": {"name", "student", "student_name", "full_name"},
    "email": {"email", "email_address", "e_mail"},
    "sis_user_id": {"sis_user_id"},
    "sis_login_id": {"sis_login_id", "login", "login_id", "username"},
    "canvas_user_id": {"canvas_user_id", "canvas_id", "lms_id", "user_id"},
    "section": {"section", "group"},
}


class RosterError(Exception):
    """The roster or mapping file cannot be used; the message says which line and why."""


@dataclass(frozen=True)
class RosterEntry:
    student_id: str
    name: str = ""
    email: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
    canvas_user_id: str = ""
    section: str = ""

    def keys(self) -> set[str]:
        """Every normalised name a submission of this student might carry."""
        values = [self.student_id, self.email, self.email.split("@")[0], self.sis_user_id,
                  self.sis_login_id, self.canvas_user_id, self.name]
        return {key for key in map(normalise, values) if key}


@dataclass
class Matching:
    matched: dict[str, RosterEntry] = field(default_factory=dict)     # submission name -> student
    unmatched: list[str] = field(default_factory=list)                # submissions that match nobody
    ambiguous: dict[str, list[str]] = field(default_factory=dict)     # submission -> the students it could be
    missing: list[RosterEntry] = field(default_factory=list)          # students with no submission
    several: dict[str, list[str]] = field(default_factory=dict)       # student id -> their submissions

    def problems(self) -> list[str]:
        """One line per thing an instructor must look at."""
        lines = [f"submission {s!r} matches no student on the roster" for s in self.unmatched]
        lines += [f"submission {s!r} matches several students: {', '.join(ids)}"
                  for s, ids in self.ambiguous.items()]
        lines += [f"student {sid} has several submissions: {', '.join(subs)} (none is exported; "
                  "keep one, or say which in a mapping file)" for sid, subs in self.several.items()]
        lines += [f"student {e.student_id}{f' ({e.name})' if e.name else ''} has no submission"
                  for e in self.missing]
        return lines


def normalise(value: str) -> str:
    """Case and punctuation do not matter, but they still separate: "Noether, Emmy" and
    "noether-emmy" are the same; "1001-2" and "10012" are not. Letters of any script count."""
    return re.sub(r"[\W_]+", "-", value.strip().lower()).strip("-")


def _column(header: str) -> str | None:
    key = re.sub(r"[\s\-]+", "_", header.strip().lower())
    for name, aliases in ALIASES.items():
        if key in aliases:
            return name
    return None


def load_roster(path: Path) -> list[RosterEntry]:
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError) as exc:
        raise RosterError(f"cannot read the roster {path}: {exc}") from None
    if not rows:
        raise RosterError(f"the roster {path} is empty")
    columns = [_column(h) for h in rows[0]]
    if "student_id" not in columns:
        raise RosterError(f"the roster {path} has no student id column (its header is: {', '.join(rows[0])}); "
                          "name one of them student_id")
    known = {f.name for f in fields(RosterEntry)}
    entries, seen = [], {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        values = {c: v.strip() for c, v in zip(columns, row) if c in known}
        if not values.get("student_id"):
            raise RosterError(f"{path}, line {number}: no student id")
        if values["student_id"] in seen:
            raise RosterError(f"{path}, line {number}: student id {values['student_id']} is already on "
                              f"line {seen[values['student_id']]}")
        seen[values["student_id"]] = number
        entries.append(RosterEntry(**values))
    return entries


def load_mapping(path: Path) -> dict[str, str]:
    """An explicit ``submission,student_id`` file (a header row is optional)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = [r for r in csv.reader(f) if any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError) as exc:
        raise RosterError(f"cannot read the mapping file {path}: {exc}") from None
    if rows and [c.strip().lower() for c in rows[0][:2]] == ["submission", "student_id"]:
        rows = rows[1:]
    mapping = {}
    for number, row in enumerate(rows, start=1):
        if len(row) < 2:
            raise RosterError(f"{path}: row {number} should be 'submission,student_id'")
        mapping[row[0].strip()] = row[1].strip()
    return mapping


def match(roster: list[RosterEntry], submissions: list[str], mapping: dict[str, str] | None = None) -> Matching:
    """Which roster entry each submission name belongs to."""
    by_id = {e.student_id: e for e in roster}
    by_key: dict[str, list[RosterEntry]] = {}
    for entry in roster:
        for key in entry.keys():
            by_key.setdefault(key, []).append(entry)
    result = Matching()
    claimed: dict[str, list[str]] = {}
    for name in submissions:
        if mapping and name in mapping:
            if mapping[name] not in by_id:
                raise RosterError(f"the mapping file gives submission {name!r} to student {mapping[name]}, "
                                  "who is not on the roster")
            candidates = [by_id[mapping[name]]]
        else:
            candidates = list({e.student_id: e for e in by_key.get(normalise(name), [])}.values())
        if not candidates:
            result.unmatched.append(name)
        elif len(candidates) > 1:
            result.ambiguous[name] = [e.student_id for e in candidates]
        else:
            claimed.setdefault(candidates[0].student_id, []).append(name)
    for student_id, names in claimed.items():
        if len(names) == 1:
            result.matched[names[0]] = by_id[student_id]
        else:
            result.several[student_id] = sorted(names)
    result.missing = [e for e in roster if e.student_id not in claimed]
    return result
