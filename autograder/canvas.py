"""Post grades and per-student comments to a Canvas assignment through its REST API.

API::

    token_from_env(var="CANVAS_API_TOKEN") -> str
    GradeEntry(student: str, user: str, score: float, comment: str = "")
    CanvasClient(base_url, token, *, timeout=30.0, max_retries=5, backoff_s=1.0, sleep=time.sleep)
    plan(client, course_id, assignment_id, entries) -> list[Change]
    upload(client, course_id, assignment_id, entries, ledger_path, dry_run=False) -> UploadReport

    Change(entry, status, old_score, comment_on_canvas).describe() -> str
    UploadReport: changes, posted, skipped [Outcome(entry, reason)], failed [Outcome],
                  remaining (not posted: the upload stopped), pending (dry run), ok, summary()

- ``GradeEntry.user`` is how Canvas knows the student, as it goes in a Canvas URL: a
  Canvas user id (``"123"``), ``"sis_user_id:ABC123"`` or ``"sis_login_id:jdoe"``.
  ``course_id`` is a Canvas course id or ``"sis_course_id:..."``.
- ``plan`` compares the entries with what Canvas holds now (one paginated read of the
  assignment's submissions): each ``Change`` is ``new`` (no score yet), ``changed`` (the
  score differs, or the comment is not there yet), ``unchanged``, or ``unknown`` (the
  user is not among the submissions: not in the course, or an SIS id the token may not
  see; posting will tell).
- ``upload`` PUTs ``submission[posted_grade]`` and ``comment[text_comment]`` for each
  entry that still needs it. An entry is skipped when the ledger records that this same
  score and comment were posted already (a grade changed by hand in Canvas since is left
  alone), or when Canvas already shows this score and comment. ``dry_run=True`` posts
  nothing and lists in ``pending`` what would be posted.
- The ledger is a SQLite file, table ``posted`` keyed by (base_url, course, assignment,
  user): Canvas's numeric course and assignment ids, the user as the entry gives it; with
  the student, the score, a SHA-256 of the comment and the time posted, committed after
  each successful post: an upload cut short leaves an exact record, and the same command
  run again posts only what is missing or changed.

Errors (all ``CanvasError``, whose message says what to do):

- ``CanvasAuthError``: the token is missing, invalid (401), or may not grade here. The
  upload stops.
- ``CanvasNotFound``: no such course or assignment. Nothing is posted.
- A student Canvas does not know (404) fails alone, as ``no such student in course X:
  USER``, and the upload goes on; so does a grade Canvas refuses (400, 422, ...).
- Rate limiting (403 "Rate Limit Exceeded" or 429) is retried with exponential backoff
  ``max_retries`` times; past that, and on a lost connection, the upload stops with
  ``UploadInterrupted``, whose ``report`` says what was and was not posted and whose
  message says to rerun the same command to finish.

An error that stops ``upload`` once it has begun posting carries the ``UploadReport`` so
far as ``.report`` (errors before that, while reading Canvas, posted nothing).
The token is never printed, logged or kept by this module (canvasapi logs only its last
four characters, at DEBUG level).
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import os
import sqlite3
import time
import warnings
from collections.abc import Callable, Iterable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Literal, TypeVar
from urllib.parse import quote, urlsplit

import requests
from canvasapi import Canvas
from canvasapi.assignment import Assignment
from canvasapi.exceptions import (
    CanvasException,
    Forbidden,
    InvalidAccessToken,
    RateLimitExceeded,
    ResourceDoesNotExist,
    Unauthorized,
)
from canvasapi.submission import Submission
from requests.adapters import HTTPAdapter

TOKEN_VAR = "CANVAS_API_TOKEN"
# Canvas shows scores to two decimals; a smaller difference is not a change worth posting.
SCORE_TOLERANCE = 0.005

T = TypeVar("T")
Status = Literal["new", "changed", "unchanged", "unknown"]


# --- errors -------------------------------------------------------------------------


class CanvasError(Exception):
    """A problem talking to Canvas, worded for the instructor. ``report``: the upload so far."""

    report: UploadReport | None = None


class CanvasAuthError(CanvasError):
    """The token is missing, rejected, or not allowed to grade in this course."""


class CanvasNotFound(CanvasError):
    """The course or the assignment does not exist (or the token's user cannot see it)."""


class CanvasConnectionError(CanvasError):
    """Canvas could not be reached, or the connection broke."""


class CanvasRateLimited(CanvasError):
    """Canvas kept throttling us after every retry."""


class UploadInterrupted(CanvasError):
    """The upload stopped part way; ``report`` says what was and was not posted."""

    def __init__(self, message: str, report: UploadReport):
        super().__init__(message)
        self.report = report


def token_from_env(var: str = TOKEN_VAR) -> str:
    """The Canvas access token from the environment; never echo it anywhere."""
    token = os.environ.get(var, "").strip()
    if not token:
        raise CanvasAuthError(
            f"{var} is not set: create an access token in Canvas (Account > Settings > "
            f"New Access Token) and export {var}=<token> before uploading"
        )
    return token


# --- data -----------------------------------------------------------------------------


@dataclass(frozen=True)
class GradeEntry:
    """One student's grade: ``student`` is our id (for messages), ``user`` Canvas's (for URLs)."""

    student: str
    user: str
    score: float
    comment: str = ""

    def __post_init__(self):
        # Canvas ids arrive as ints or padded strings from rosters; one spelling for URLs and the ledger.
        object.__setattr__(self, "user", str(self.user).strip())
        if not self.user:
            raise ValueError(f"{self.student}: no Canvas user id (a number, sis_user_id:... or sis_login_id:...)")
        object.__setattr__(self, "score", float(self.score))
        if not math.isfinite(self.score):
            raise ValueError(f"{self.student}: the score {self.score!r} is not a number Canvas can take")


@dataclass(frozen=True)
class Change:
    """How an entry compares with what Canvas holds now."""

    entry: GradeEntry
    status: Status
    old_score: float | None = None
    comment_on_canvas: bool = False

    def describe(self) -> str:
        who = f"{self.entry.student} ({self.entry.user})"
        new = format_score(self.entry.score)
        if self.status == "new":
            return f"{who}: new, {new}"
        if self.status == "unchanged":
            return f"{who}: unchanged, {new}"
        if self.status == "unknown":
            return f"{who}: not among the assignment's submissions, {new} (Canvas will say on upload)"
        if _same_score(self.old_score, self.entry.score):
            return f"{who}: changed, {new}, comment not yet on Canvas"
        return f"{who}: changed, {format_score(self.old_score)} -> {new}"


@dataclass(frozen=True)
class Outcome:
    """An entry and why it was skipped or failed."""

    entry: GradeEntry
    reason: str


@dataclass
class UploadReport:
    """What an upload did. ``remaining``: not posted because the upload stopped early."""

    changes: list[Change] = field(default_factory=list)
    posted: list[GradeEntry] = field(default_factory=list)
    skipped: list[Outcome] = field(default_factory=list)
    failed: list[Outcome] = field(default_factory=list)
    remaining: list[GradeEntry] = field(default_factory=list)
    pending: list[Change] = field(default_factory=list)  # dry run: what would be posted
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.failed and not self.remaining

    def summary(self) -> str:
        if self.dry_run:
            head = f"dry run: {len(self.pending)} to post, {len(self.skipped)} already there"
        else:
            head = f"posted {len(self.posted)}, skipped {len(self.skipped)} (already there)"
        lines = [head + f", {len(self.failed)} failed"
                 + (f", {len(self.remaining)} not posted" if self.remaining else "")]
        lines += [f"  failed: {o.entry.student}: {o.reason}" for o in self.failed]
        return "\n".join(lines)


def format_score(score: float | None) -> str:
    """A score as Canvas's posted_grade takes it (points, no float noise): 8.5, 10, 7.3333."""
    if score is None:
        return "-"
    return f"{score:.4f}".rstrip("0").rstrip(".")


def comment_hash(text: str) -> str:
    return hashlib.sha256(_normalize(text).encode()).hexdigest()


def _normalize(text: str) -> str:
    # Canvas may store \r\n and trim; compare what the student will read.
    return text.replace("\r\n", "\n").strip()


def _same_score(a: float | None, b: float | None) -> bool:
    return a is not None and b is not None and abs(a - b) < SCORE_TOLERANCE


# --- the client -----------------------------------------------------------------------


class _TimeoutAdapter(HTTPAdapter):
    """canvasapi sets no timeout; without one a stalled Canvas would hang the upload forever."""

    def __init__(self, timeout: float):
        super().__init__()
        self.timeout = timeout

    def send(self, request, **kwargs):
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


class CanvasClient:
    """canvasapi's Canvas plus what it lacks: retries on rate limits, timeouts, plain messages."""

    def __init__(self, base_url: str, token: str, *, timeout: float = 30.0, max_retries: int = 5,
                 backoff_s: float = 1.0, sleep: Callable[[float], None] = time.sleep):
        self.base_url = _check_url(base_url)
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self._sleep = sleep
        with warnings.catch_warnings():
            # _check_url already refused plain http except on loopback.
            warnings.simplefilter("ignore", UserWarning)
            self._canvas = Canvas(self.base_url, token)
        # canvasapi keeps its HTTP session private and offers no timeout setting.
        session: requests.Session = self._canvas._Canvas__requester._session
        adapter = _TimeoutAdapter(timeout)
        session.mount("https://", adapter)
        session.mount("http://", adapter)

    def __repr__(self) -> str:  # never the token
        return f"CanvasClient({self.base_url!r})"

    def assignment(self, course_id: int | str, assignment_id: int | str) -> tuple[str, Assignment]:
        """(course name, assignment), with a clear error when either does not exist."""
        course_id, assignment_id = str(course_id).strip(), str(assignment_id).strip()
        if not (course_id.isdigit() or course_id.startswith("sis_course_id:")):
            raise CanvasError(f"course id {course_id!r}: give the number after /courses/ in the "
                              "course's address, or sis_course_id:<SIS id>")
        if not assignment_id.isdigit():
            raise CanvasError(f"assignment id {assignment_id!r}: give the number after "
                              "/assignments/ in the assignment's address")
        sis = course_id.startswith("sis_course_id:")
        get_course = partial(self._canvas.get_course, course_id.removeprefix("sis_course_id:"), use_sis_id=sis)
        course = self._read(get_course, f"course {course_id}", (
            f"no course {course_id} on {self.base_url} (or the token's user is not in it): "
            f"the course id is the number after /courses/ in the course's address"))
        found = self._read(lambda: course.get_assignment(assignment_id), f"assignment {assignment_id}", (
            f"no assignment {assignment_id} in course {course_id}: the assignment id is the "
            f"number after /assignments/ in the assignment's address"))
        return getattr(course, "name", str(course.id)), found

    def _read(self, request: Callable[[], T], what: str, missing: str) -> T:
        """One GET, its 404 and other refusals said in words."""
        try:
            return self.call(request)
        except ResourceDoesNotExist:
            raise CanvasNotFound(missing) from None
        except CanvasException as exc:
            raise CanvasError(f"Canvas refused to show {what}: {exc}") from exc

    def submissions(self, assignment: Assignment) -> list[Submission]:
        """Every submission of the assignment, with its user (for SIS ids) and comments."""
        pages = assignment.get_submissions(include=["user", "submission_comments"])
        # A failed page leaves canvasapi's PaginatedList where it was, so a retry resumes it.
        return self._read(lambda: list(pages), f"the submissions of assignment {assignment.id}",
                          f"assignment {assignment.id} vanished from Canvas while reading its submissions")

    def post(self, assignment: Assignment, entry: GradeEntry) -> None:
        """PUT the grade and comment of one student; raises canvasapi's errors for 4xx."""
        user = quote(entry.user, safe=":")  # SIS ids may hold '/', spaces, ...
        submission = Submission(assignment._requester, {
            "course_id": assignment.course_id, "assignment_id": assignment.id, "user_id": user})
        fields: dict = {"submission": {"posted_grade": format_score(entry.score)}}
        if _normalize(entry.comment):
            fields["comment"] = {"text_comment": entry.comment}
        self.call(lambda: submission.edit(**fields))

    def call(self, request: Callable[[], T]) -> T:
        """Run one API request: retry while rate-limited, turn auth and network errors into ours."""
        for attempt in range(self.max_retries + 1):
            try:
                return request()
            except Forbidden as exc:  # RateLimitExceeded (429) is a Forbidden too
                if not _rate_limited(exc):
                    raise
                if attempt == self.max_retries:
                    raise CanvasRateLimited(
                        f"Canvas at {self.base_url} is still rate-limiting this token after "
                        f"{self.max_retries} retries: wait a few minutes and rerun") from exc
                self._sleep(self.backoff_s * 2 ** attempt)
            except InvalidAccessToken as exc:
                raise CanvasAuthError(
                    f"Canvas rejected the token (401): set {TOKEN_VAR} to a valid access token "
                    f"for {self.base_url}") from exc
            except Unauthorized as exc:
                raise CanvasAuthError(
                    f"Canvas refused access (401): the token's user may not grade this course on "
                    f"{self.base_url}; use a token of one of its teachers or TAs") from exc
            except (requests.ConnectionError, requests.Timeout) as exc:
                raise CanvasConnectionError(f"could not reach Canvas at {self.base_url}: {exc}") from exc
        raise AssertionError("unreachable")


def _rate_limited(exc: Forbidden) -> bool:
    # Canvas throttles with 403 "403 Forbidden (Rate Limit Exceeded)"; some proxies say 429.
    return isinstance(exc, RateLimitExceeded) or "rate limit exceeded" in str(exc).lower()


def _check_url(base_url: str) -> str:
    """The instance's root URL; plain http only to this machine, since the token travels with it."""
    url = base_url.strip().rstrip("/")
    url = url.removesuffix("/api/v1")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CanvasError(f"{base_url!r} is not a Canvas address: give one like https://canvas.example.edu")
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise CanvasError(
            f"refusing to send the Canvas token over plain http to {parts.hostname}: "
            f"use https://{parts.netloc}")
    return url


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# --- plan -----------------------------------------------------------------------------


def plan(client: CanvasClient, course_id: int | str, assignment_id: int | str,
         entries: Iterable[GradeEntry]) -> list[Change]:
    """Compare each entry with the assignment's current submissions on Canvas."""
    entries = _checked(entries)
    _, assignment = client.assignment(course_id, assignment_id)
    return _compare(entries, client.submissions(assignment))


def _checked(entries: Iterable[GradeEntry]) -> list[GradeEntry]:
    entries = list(entries)
    seen: dict[str, str] = {}
    for e in entries:
        if e.user in seen:
            raise ValueError(f"{seen[e.user]} and {e.student} are both Canvas user {e.user}: "
                             "each student may have one grade per upload")
        seen[e.user] = e.student
    return entries


def _compare(entries: list[GradeEntry], submissions: list[Submission]) -> list[Change]:
    by_user = _index(submissions)
    changes = []
    for entry in entries:
        sub = by_user.get(entry.user)
        if sub is None:
            changes.append(Change(entry, "unknown"))
            continue
        old = getattr(sub, "score", None)
        texts = {_normalize(c.get("comment") or "") for c in getattr(sub, "submission_comments", None) or []}
        has_comment = not _normalize(entry.comment) or _normalize(entry.comment) in texts
        if old is None:
            status: Status = "new"
        elif _same_score(old, entry.score) and has_comment:
            status = "unchanged"
        else:
            status = "changed"
        changes.append(Change(entry, status, old, has_comment))
    return changes


def _index(submissions: list[Submission]) -> dict[str, Submission]:
    """Submissions under every name an entry may use: 123, sis_user_id:..., sis_login_id:..."""
    index = {}
    for sub in submissions:
        index[str(sub.user_id)] = sub
        user = getattr(sub, "user", None) or {}
        if user.get("sis_user_id"):
            index[f"sis_user_id:{user['sis_user_id']}"] = sub
        if user.get("login_id"):
            index[f"sis_login_id:{user['login_id']}"] = sub
    return index


# --- the ledger -----------------------------------------------------------------------

LEDGER_SCHEMA = """
CREATE TABLE IF NOT EXISTS posted (
    base_url TEXT NOT NULL,
    course TEXT NOT NULL,
    assignment TEXT NOT NULL,
    user TEXT NOT NULL,
    student TEXT NOT NULL,
    score REAL NOT NULL,
    comment_sha256 TEXT NOT NULL,
    posted_at TEXT NOT NULL,
    PRIMARY KEY (base_url, course, assignment, user)
);
"""


@dataclass(frozen=True)
class LedgerRow:
    score: float
    comment_sha256: str
    posted_at: str

    def matches(self, entry: GradeEntry) -> bool:
        return _same_score(self.score, entry.score) and self.comment_sha256 == comment_hash(entry.comment)


class Ledger:
    """What this tool has posted to which assignment; one commit per post."""

    def __init__(self, path: Path | str, *, read_only: bool = False):
        self.path = Path(path)
        if read_only and not self.path.exists():
            self._db = sqlite3.connect(":memory:")  # a dry run leaves no file behind
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path)
        self._db.executescript(LEDGER_SCHEMA)

    def get(self, key: tuple[str, str, str, str]) -> LedgerRow | None:
        row = self._db.execute(
            "SELECT score, comment_sha256, posted_at FROM posted "
            "WHERE base_url=? AND course=? AND assignment=? AND user=?", key).fetchone()
        return LedgerRow(*row) if row else None

    def record(self, key: tuple[str, str, str, str], entry: GradeEntry) -> None:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._db:  # committed before the next post starts
            self._db.execute(
                "INSERT OR REPLACE INTO posted VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (*key, entry.student, entry.score, comment_hash(entry.comment), now))

    def close(self) -> None:
        self._db.close()


# --- upload ---------------------------------------------------------------------------


def upload(client: CanvasClient, course_id: int | str, assignment_id: int | str,
           entries: Iterable[GradeEntry], ledger_path: Path | str, dry_run: bool = False) -> UploadReport:
    """Post every grade and comment not yet on Canvas; see the module docstring."""
    entries = _checked(entries)
    course_name, assignment = client.assignment(course_id, assignment_id)
    changes = _compare(entries, client.submissions(assignment))
    report = UploadReport(changes=changes, dry_run=dry_run)
    # Canvas's own ids, so "sis_course_id:X" and its number share ledger rows.
    where = (client.base_url, str(assignment.course_id), str(assignment.id))
    course = f"{course_id} ({course_name})"
    with closing(Ledger(ledger_path, read_only=dry_run)) as ledger:
        for i, change in enumerate(changes):
            entry = change.entry
            key = (*where, entry.user)
            skip = _skip_reason(change, ledger.get(key))
            if skip:
                report.skipped.append(Outcome(entry, skip))
            elif dry_run:
                report.pending.append(change)
            else:
                try:
                    client.post(assignment, entry)
                except ResourceDoesNotExist:
                    report.failed.append(Outcome(entry, f"no such student in course {course}: {entry.user}"))
                    continue
                except CanvasException as exc:
                    report.failed.append(Outcome(entry, f"Canvas refused the grade: {exc}"))
                    continue
                except CanvasError as exc:
                    report.remaining = [c.entry for c in changes[i:]
                                        if not _skip_reason(c, ledger.get((*where, c.entry.user)))]
                    if isinstance(exc, CanvasAuthError):  # its message is the whole story
                        exc.report = report
                        raise
                    raise _interrupted(exc, entry, report, ledger_path, client.base_url) from exc
                ledger.record(key, entry)
                report.posted.append(entry)
    return report


def _skip_reason(change: Change, done: LedgerRow | None) -> str | None:
    """Why this entry need not be posted, or None when it must be."""
    if done and done.matches(change.entry):
        note = ""
        if change.status == "changed" and not _same_score(change.old_score, change.entry.score):
            # Someone changed it by hand in Canvas since; their edit wins over a rerun.
            note = f"; Canvas now shows {format_score(change.old_score)}, left as is"
        return f"already posted on {done.posted_at}{note}"
    if change.status == "unchanged":
        return "already on Canvas"
    return None


def _interrupted(exc: CanvasError, entry: GradeEntry, report: UploadReport, ledger_path: Path | str,
                 base_url: str) -> UploadInterrupted:
    """The error an upload cut short stops with: what happened, what is left, rerun to finish."""
    what = str(exc)
    if isinstance(exc, CanvasConnectionError):
        what = f"lost the connection to Canvas at {base_url} ({exc.__cause__})"
    left = len(report.remaining)
    return UploadInterrupted(
        f"{what}. The upload stopped at {entry.student} ({entry.user}) after posting "
        f"{len(report.posted)} grade(s) in this run; {left} not posted. The ledger {ledger_path} "
        f"records what was posted: rerun the same command to post the remaining {left} "
        f"(what is already on Canvas is not posted again).", report)
