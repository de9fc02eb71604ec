"""Run an assignment's pytest tests for one submission, in this (trusted) process."""

from __future__ import annotations

import contextlib
import io
import os
import sys
from pathlib import Path

import pytest

from autograder import plugin
from autograder.scoring import TestResult


def _forget_test_modules(tests_root: Path) -> None:
    """Drop the imported test modules, so the next run (perhaps of another assignment
    whose modules have the same names) imports its own."""
    root = str(Path(tests_root).resolve())
    for name, module in list(sys.modules.items()):
        if str(getattr(module, "__file__", "") or "").startswith(root + os.sep):
            del sys.modules[name]


class GraderError(Exception):
    """The grader could not run the tests; not the student's fault, never a zero."""


def run_tests(session: plugin.Session, paths: list[Path], select: str | None = None) -> list[TestResult]:
    """Run the tests under ``paths`` against ``session``'s submission and return their results."""
    paths = [p for p in paths if p.exists()]
    if not paths:
        raise GraderError("no test folders found")
    args = [
        *map(str, paths),
        "-p", "autograder.plugin",
        "-p", "no:cacheprovider",
        "-p", "no:randomly",
        # Per-submission work the grader does not need: a forced gc.collect at the end of
        # every session (two, ~40 ms each), per-test fd capture and log capture (tests
        # print nothing; the student's output never reaches this process), faulthandler.
        "-p", "no:unraisableexception", "-p", "no:threadexception", "-p", "no:logging",
        "-p", "no:faulthandler", "--capture=no",
        "--assert=plain",            # messages from plain asserts must not print values
        "--tb=no",                   # feedback comes from the plugin, never from tracebacks
        "--import-mode=importlib",   # public and hidden modules may share a basename
        "-c", os.devnull, "--rootdir", str(session.tests_root or paths[0]),
        "-q", "--no-header", "-W", "ignore::pytest.PytestAssertRewriteWarning",
    ]
    if select:
        args += ["-k", select]
    plugin.activate(session)
    output = io.StringIO()
    try:
        with contextlib.redirect_stdout(output):
            code = pytest.main(args)
    finally:
        plugin.activate(None)
        _forget_test_modules(session.tests_root or paths[0])
    if session.grader_failure:
        raise GraderError(session.grader_failure)
    if session.collection_errors:
        raise GraderError("the tests could not be collected:\n" + "\n".join(session.collection_errors))
    if code in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR) or \
            (code == pytest.ExitCode.NO_TESTS_COLLECTED and not select):
        raise GraderError(f"pytest stopped with {code!r}:\n{output.getvalue()[-3000:]}")
    return session.results
