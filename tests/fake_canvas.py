"""A fake Canvas on 127.0.0.1 for tests: just the endpoints autograder/canvas.py uses.

    GET /api/v1/courses/:course                       (:course a number or sis_course_id:X)
    GET /api/v1/courses/:course/assignments/:id
    GET /api/v1/courses/:course/assignments/:id/submissions   (paginated, Link headers)
    PUT /api/v1/courses/:course/assignments/:id/submissions/:user   (123, sis_user_id:X, sis_login_id:X)

Like Canvas it answers 401 with ``WWW-Authenticate`` to a wrong bearer token, 404 to what
it does not know, and pages with ``Link: <...>; rel="next"`` (``page_size`` items at most,
whatever ``per_page`` asks). Faults to inject:

- ``rate_limit_puts = N``: the next N PUTs answer ``rate_limit_status`` (403 with
  "403 Forbidden (Rate Limit Exceeded)", or 429) and ``X-Rate-Limit-Remaining: 0``;
- ``drop_after_puts = K``: after K more successful PUTs, the next PUT gets its connection
  closed without an answer, once; with ``drop_applies`` the grade is stored first (the
  answer, not the request, is lost).

What it received: ``grades`` (user id -> score), ``comments`` (user id -> texts) and
``puts`` (every PUT it applied, in order).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import parse_qs, parse_qsl, unquote, urlencode, urlsplit


@dataclass
class Student:
    id: int
    sis_user_id: str
    login_id: str
    name: str


DEFAULT_STUDENTS = [
    Student(101, "S001", "ada", "Ada Lovelace"),
    Student(102, "S002", "bob", "Bob Babbage"),
    Student(103, "S003", "cy", "Cy Shannon"),
    Student(104, "S004", "di", "Di Hopper"),
    Student(105, "S005", "ed", "Ed Turing"),
]


class FakeCanvas:
    """One course with one assignment; use as a context manager to serve it."""

    def __init__(self, token: str = "good-token", *, course_id: int = 1, sis_course_id: str = "RNN-101",
                 assignment_id: int = 7, students: list[Student] | None = None, page_size: int = 2):
        self.token = token
        self.course_id = course_id
        self.sis_course_id = sis_course_id
        self.assignment_id = assignment_id
        self.students = list(students or DEFAULT_STUDENTS)
        self.page_size = page_size
        self.rate_limit_puts = 0
        self.rate_limit_status = 403
        self.drop_after_puts: int | None = None
        self.drop_applies = False
        self.grades: dict[int, float] = {}
        self.comments: dict[int, list[str]] = {}
        self.puts: list[tuple[int, str, str | None]] = []
        self.requests: list[tuple[str, str, int]] = []  # (method, path, status or 0 when dropped)
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def set_grade(self, user_id: int, score: float, comment: str | None = None) -> None:
        """Put a grade (and comment) on the fake as if posted earlier by hand."""
        self.grades[user_id] = score
        if comment:
            self.comments.setdefault(user_id, []).append(comment)

    def puts_for(self, user_id: int) -> int:
        return sum(1 for user, _, _ in self.puts if user == user_id)

    def __enter__(self) -> Self:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        # A short poll keeps shutdown() quick (its default waits up to half a second).
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    # --- lookups --------------------------------------------------------------------

    def _course_matches(self, ref: str) -> bool:
        return ref in (str(self.course_id), f"sis_course_id:{self.sis_course_id}")

    def _student(self, ref: str) -> Student | None:
        for s in self.students:
            if ref in (str(s.id), f"sis_user_id:{s.sis_user_id}", f"sis_login_id:{s.login_id}"):
                return s
        return None

    def _submission(self, s: Student, include: list[str]) -> dict:
        score = self.grades.get(s.id)
        sub = {"id": 1000 + s.id, "user_id": s.id, "assignment_id": self.assignment_id,
               "score": score, "grade": None if score is None else str(score),
               "workflow_state": "unsubmitted" if score is None else "graded"}
        if "user" in include:
            sub["user"] = {"id": s.id, "name": s.name, "sis_user_id": s.sis_user_id, "login_id": s.login_id}
        if "submission_comments" in include:
            sub["submission_comments"] = [{"id": i, "comment": c} for i, c in enumerate(self.comments.get(s.id, []))]
        return sub


class _Handler(BaseHTTPRequestHandler):
    fake: FakeCanvas  # set on the subclass made per server

    def log_message(self, *args) -> None:  # keep pytest's output clean
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def _handle(self, method: str) -> None:
        parts = urlsplit(self.path)
        path = [unquote(p) for p in parts.path.split("/")[3:]]  # after /api/v1
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        with self.fake.lock:
            status = self._route(method, path, parse_qsl(parts.query), parse_qs(body))
            self.fake.requests.append((method, parts.path, status))

    def _route(self, method: str, path: list[str], query: list[tuple[str, str]], form: dict) -> int:
        fake = self.fake
        if self.headers.get("Authorization") != f"Bearer {fake.token}":
            return self._json(401, {"errors": [{"message": "Invalid access token."}]},
                              {"WWW-Authenticate": 'Bearer realm="canvas-lms"'})
        if len(path) < 2 or path[0] != "courses" or not fake._course_matches(path[1]):
            return self._not_found()
        if len(path) == 2 and method == "GET":
            return self._json(200, {"id": fake.course_id, "name": "RNN 101", "sis_course_id": fake.sis_course_id})
        if len(path) < 4 or path[2] != "assignments" or path[3] != str(fake.assignment_id):
            return self._not_found()
        if len(path) == 4 and method == "GET":
            return self._json(200, {"id": fake.assignment_id, "course_id": fake.course_id,
                                    "name": "vanilla_rnn", "points_possible": 10})
        if len(path) == 5 and path[4] == "submissions" and method == "GET":
            return self._page(query)
        if len(path) == 6 and path[4] == "submissions" and method == "PUT":
            return self._put(path[5], form)
        return self._not_found()

    def _page(self, query: list[tuple[str, str]]) -> int:
        fake = self.fake
        params = dict(query)
        page = int(params.get("page", 1))
        size = min(int(params.get("per_page", 10)), fake.page_size)
        include = [v for k, v in query if k == "include[]"]
        items = [fake._submission(s, include) for s in fake.students]
        last = max(1, -(-len(items) // size))
        links = {"current": page, "first": 1, "last": last}
        if page < last:
            links["next"] = page + 1
        rest = [(k, v) for k, v in query if k not in ("page", "per_page")]
        link = ", ".join(
            f'<{fake.url}{urlsplit(self.path).path}?{urlencode(rest + [("page", n), ("per_page", size)])}>; rel="{rel}"'
            for rel, n in links.items())
        return self._json(200, items[(page - 1) * size: page * size], {"Link": link})

    def _put(self, user_ref: str, form: dict) -> int:
        fake = self.fake
        if fake.rate_limit_puts > 0:
            fake.rate_limit_puts -= 1
            headers = {"X-Rate-Limit-Remaining": "0"}
            if fake.rate_limit_status == 429:
                return self._json(429, {"errors": [{"message": "Too Many Requests"}]}, headers)
            return self._text(403, "403 Forbidden (Rate Limit Exceeded)\n", headers)
        student = fake._student(user_ref)
        if student is None:
            return self._not_found()
        drop = fake.drop_after_puts == 0
        if drop and not fake.drop_applies:
            return self._drop()
        grade = form.get("submission[posted_grade]", [None])[0]
        comment = form.get("comment[text_comment]", [None])[0]
        if grade is not None:
            fake.grades[student.id] = float(grade)
        if comment:
            fake.comments.setdefault(student.id, []).append(comment)
        fake.puts.append((student.id, grade, comment))
        if drop:
            return self._drop()
        if fake.drop_after_puts is not None:
            fake.drop_after_puts -= 1
        return self._json(200, fake._submission(student, ["submission_comments"]))

    # --- answers --------------------------------------------------------------------

    def _drop(self) -> int:
        """Close the connection without answering, once (the fault disarms itself)."""
        self.fake.drop_after_puts = None
        self.close_connection = True
        return 0

    def _not_found(self) -> int:
        return self._json(404, {"errors": [{"message": "The specified resource does not exist."}]})

    def _json(self, status: int, data, headers: dict | None = None) -> int:
        return self._send(status, json.dumps(data).encode(), "application/json", headers)

    def _text(self, status: int, text: str, headers: dict | None = None) -> int:
        return self._send(status, text.encode(), "text/plain", headers)

    def _send(self, status: int, body: bytes, kind: str, headers: dict | None) -> int:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        return status
