"""Expected values for tests: computed live by the reference, or replayed from storage.

Each assignment has an ``oracle.py`` of functions that take test inputs (arrays) and
return expected outputs (data only), computed with the reference solution. Tests
call them through the ``oracle`` fixture:

- in the grader, :class:`LiveOracle` runs them in the trusted process on fresh inputs;
- when packaging, :class:`RecordingOracle` runs them and stores every answer;
- on a student's machine, :class:`ReplayOracle` answers from that store, so the
  public tests work without the reference solution ever being shipped.

Answers are keyed by the function's name and a digest of its inputs.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np

from autograder import channel

_reference_dir: Path | None = None
_loaded: dict[tuple[str, str], object] = {}


class OracleMiss(Exception):
    """A stored expected value was asked for inputs it was not recorded with."""


def reference(module_name: str):
    """The reference solution's module ``module_name``; for use inside ``oracle.py``."""
    if _reference_dir is None:
        raise RuntimeError("the reference solution is only available to the grader")
    return _import_file(_reference_dir / f"{module_name}.py", f"rnnkit_reference_{module_name}")


def _import_file(path: Path, unique_prefix: str):
    key = (str(path), str(path.stat().st_mtime_ns))
    if key not in _loaded:
        name = f"{unique_prefix}_{len(_loaded)}"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        _loaded[key] = module
    return _loaded[key]


def answer_key(name: str, args, kwargs) -> str:
    """A digest of a call's inputs; integer arrays are widened first, since numpy's
    default integer is 32-bit on some platforms."""
    return hashlib.sha256(channel.encode((name, _widen(list(args)), _widen(kwargs)))).hexdigest()[:32]


def _widen(value):
    if isinstance(value, np.ndarray) and value.dtype.kind in "iu":
        return value.astype(np.int64)
    if isinstance(value, (list, tuple)):
        return type(value)(_widen(v) for v in value)
    if isinstance(value, dict):
        return {k: _widen(v) for k, v in value.items()}
    return value


class _Oracle:
    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args, **kwargs: self._answer(name, args, kwargs)


class LiveOracle(_Oracle):
    def __init__(self, oracle_file: Path, solution_dir: Path):
        global _reference_dir
        _reference_dir = solution_dir
        self._module = _import_file(oracle_file, "rnnkit_oracle")

    def _answer(self, name, args, kwargs):
        fn = getattr(self._module, name, None)
        if fn is None:
            raise AttributeError(f"oracle.py defines no function {name}")
        return fn(*args, **kwargs)


class RecordingOracle(LiveOracle):
    def __init__(self, oracle_file: Path, solution_dir: Path):
        super().__init__(oracle_file, solution_dir)
        self.answers: dict[str, str] = {}

    def _answer(self, name, args, kwargs):
        result = super()._answer(name, args, kwargs)
        body = channel.encode(result)  # raises if an oracle returns something that is not data
        self.answers[answer_key(name, args, kwargs)] = base64.b64encode(body).decode()
        return result

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(dict(sorted(self.answers.items())), indent=0) + "\n")


class ReplayOracle(_Oracle):
    def __init__(self, store: Path):
        try:
            self._answers = json.loads(store.read_text())
        except FileNotFoundError:
            raise OracleMiss(f"{store} is missing: re-download the assignment release") from None

    def _answer(self, name, args, kwargs):
        stored = self._answers.get(answer_key(name, args, kwargs))
        if stored is None:
            raise OracleMiss(f"no stored expected value for {name} with these inputs: the test "
                             "inputs differ from the recorded ones (re-download the release)")
        return channel.decode(base64.b64decode(stored))
