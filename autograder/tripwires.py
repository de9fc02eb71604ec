"""Run-time detection, inside the child, of APIs an assignment forbids.

The grader names dotted APIs (``torch.nn.LSTM``, ``torch._VF.lstm``); before the
submission is imported the worker wraps each one it can reach in a module already
loaded (it never imports anything for this): a class's ``__init__`` or a
function. A wrapped API records who called it (the innermost line of the
submission's own code) and then does its job, so the student's run is unchanged.

A submission can undo this, since it runs in the same process; that is why the
grader also reads the source (:mod:`autograder.banned`). What this adds is the use
that reading cannot see: a name built at run time, an alias through other modules.
"""

from __future__ import annotations

import functools
import os
import sys
import traceback

MAX_HITS = 50


class Tripwires:
    def __init__(self, apis: list[str]):
        self._hits: list[dict] = []
        self.installed: list[str] = []
        for api in apis:
            if self._install(api):
                self.installed.append(api)

    def hits(self) -> list[dict]:
        return list(self._hits)

    def _record(self, api: str) -> None:
        if len(self._hits) >= MAX_HITS or any(h["api"] == api for h in self._hits):
            return
        where = ""
        for frame in reversed(traceback.extract_stack()[:-2]):
            name = os.path.basename(frame.filename or "")
            if frame.filename and os.path.isfile(frame.filename) and "site-packages" not in frame.filename \
                    and not frame.filename.startswith(os.path.dirname(__file__)):
                where = f"{name}, line {frame.lineno}"
                break
        self._hits.append({"api": api, "where": where})

    def _install(self, api: str) -> bool:
        root, *path = api.split(".")
        owner = sys.modules.get(root)
        if owner is None or not path:
            return False
        for part in path[:-1]:
            owner = getattr(owner, part, None)
            if owner is None:
                return False
        leaf = path[-1]
        target = getattr(owner, leaf, None)
        if target is None:
            return False
        record = self._record
        if isinstance(target, type):
            original = target.__init__

            @functools.wraps(original)
            def watched_init(self, *args, _original=original, **kwargs):
                # Subclasses' own __init__ run through here too: name the class built.
                record(api)
                return _original(self, *args, **kwargs)

            try:
                target.__init__ = watched_init
            except (TypeError, AttributeError):
                return False
            return True
        if callable(target):
            @functools.wraps(target)
            def watched(*args, _original=target, **kwargs):
                record(api)
                return _original(*args, **kwargs)

            try:
                setattr(owner, leaf, watched)
            except (TypeError, AttributeError):
                return False
            return True
        return False  # a namespace: only the source check covers it
