"""The child process that holds one submission's code and answers calls on it.

Run as ``python -I -m autograder.worker SUBMISSION_DIR MODULE [MODULE...]``. It talks
to the grader over its original stdin/stdout (see :mod:`autograder.channel`); the
student's own prints go to stderr, which the grader captures separately.

Before "started" it reads one setup frame from the grader: modules to import first
(``preload``, e.g. torch), APIs to watch (``tripwires``) and trusted ``drivers``
(source text of helper modules that drive the student's code, reached as
``driver.function``). The clocks that timed calls use are taken before any student
code runs, so a submission cannot swap them for its own.

This process is untrusted once the submission is imported: nothing it says is a
score. It imports only the standard library, numpy, the channel, and what the
setup frame names.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import linecache
import os
import resource
import sys
import time
import traceback
import types

import numpy as np

from autograder import channel
from autograder.tripwires import Tripwires

MAX_MESSAGE = 2000
_perf_counter = time.perf_counter  # taken before any student code can replace it


class Clocks:
    """The timers for ``time`` requests, captured before the submission is imported."""

    def __init__(self):
        self.perf_counter = _perf_counter
        self.cuda = None
        torch = sys.modules.get("torch")
        if torch is not None:
            self.cuda = (torch.cuda.is_available, torch.cuda.synchronize, torch.cuda.Event)

    def run(self, fn, args, kwargs, repeats: int, device: str) -> list[float]:
        """Seconds per call of ``fn``, ``repeats`` times; on CUDA from device events,
        with the device synchronised before and after each call."""
        times = []
        if device == "cuda":
            if self.cuda is None or not self.cuda[0]():
                raise RuntimeError("a CUDA timing was asked for, but this process has no CUDA device")
            _, synchronize, event = self.cuda
            for _ in range(repeats):
                synchronize()
                start, end = event(enable_timing=True), event(enable_timing=True)
                start.record()
                fn(*args, **kwargs)
                end.record()
                synchronize()
                times.append(start.elapsed_time(end) / 1000.0)
        else:
            for _ in range(repeats):
                t0 = self.perf_counter()
                fn(*args, **kwargs)
                times.append(self.perf_counter() - t0)
        return times


class Worker:
    def __init__(self, submission_dir: str, module_names: list[str], drivers: dict | None = None,
                 clocks: Clocks | None = None, tripwires: Tripwires | None = None):
        self.submission_dir = os.path.abspath(submission_dir)
        self.module_names = module_names
        self.modules = []
        self.drivers_source = dict(drivers or {})
        self.named: dict[str, object] = {}      # module name -> module, students' and drivers'
        self.driver_functions: dict[str, dict] = {}
        self.clocks = clocks or Clocks()
        self.tripwires = tripwires or Tripwires([])
        self.handles: dict[int, object] = {}

    # -- loading ----------------------------------------------------------
    def load(self) -> dict:
        sys.path.insert(0, self.submission_dir)
        for name in self.module_names:
            path = os.path.join(self.submission_dir, name + ".py")
            if not os.path.isfile(path):
                return _error("missing-file", "FileNotFoundError", f"the submission has no {name}.py")
            try:
                spec = importlib.util.spec_from_file_location(name, path)
                module = importlib.util.module_from_spec(spec)
                sys.modules[name] = module
                spec.loader.exec_module(module)
            except BaseException as exc:  # a submission may raise anything, SystemExit included
                return _error("load", type(exc).__name__, _describe(exc, self.submission_dir))
            self.modules.append(module)
            self.named[name] = module
        for name, source in self.drivers_source.items():
            try:  # trusted code, but it imports the student's modules, which may fail
                module = types.ModuleType(name)
                module.__file__ = f"<driver {name}>"
                sys.modules[name] = module
                exec(compile(source, f"<driver {name}>", "exec"), module.__dict__)
            except BaseException as exc:
                return _error("load", type(exc).__name__, f"the assignment's driver {name} could not "
                              f"start with this submission: {_describe(exc, self.submission_dir)}")
            self.named[name] = module
            # Looked up from this snapshot, so the submission cannot swap a driver's
            # function for its own later (say, the function a speed target times).
            self.driver_functions[name] = {k: v for k, v in vars(module).items() if callable(v)}
        return {"ok": True, "ready": True}

    # -- serving ----------------------------------------------------------
    def serve(self, fd_in: int, fd_out: int) -> None:
        while True:
            try:
                body = channel.read_frame(fd_in)
            except channel.ChannelClosed:
                return
            try:
                request = channel.decode(body, self._resolve)
            except (channel.ChannelError, KeyError) as exc:
                reply = _error("protocol", type(exc).__name__, str(exc))
            else:
                reply = self.handle(request)
            channel.write_frame(fd_out, self._encode_reply(reply))

    def handle(self, request: dict) -> dict:
        op = request.get("op")
        if op == "call":
            return self.call(request["name"], request.get("args", ()), request.get("kwargs", {}))
        if op == "map":
            return self.map(request["name"], request.get("calls", []), request.get("output"))
        if op == "has":
            return {"ok": True, "result": self.find(request["name"]) is not None}
        if op == "time":
            return self.time(request["name"], request.get("args", ()), request.get("kwargs", {}),
                             int(request.get("repeats", 1)), str(request.get("device", "cpu")))
        if op == "tripped":
            return {"ok": True, "result": self.tripwires.hits()}
        return _error("protocol", "ValueError", f"unknown operation {op!r}")

    def find(self, name: str):
        """A student function by name, or any module's as ``module.function`` (drivers'
        functions are reached only this way, so a student's cannot shadow them)."""
        if "." in name:
            module_name, _, attr = name.rpartition(".")
            if module_name in self.driver_functions:
                return self.driver_functions[module_name].get(attr)
            fn = getattr(self.named.get(module_name), attr, None)
            return fn if callable(fn) else None
        for module in self.modules:
            fn = getattr(module, name, None)
            if callable(fn):
                return fn
        return None

    def time(self, name: str, args, kwargs, repeats: int, device: str) -> dict:
        fn = self.find(name)
        if fn is None:
            return _error("missing", "AttributeError", f"no function named {name}")
        try:
            times = self.clocks.run(fn, args, kwargs, max(1, min(repeats, 1000)), device)
        except BaseException as exc:
            return _error("raised", type(exc).__name__, _describe(exc, self.submission_dir))
        return {"ok": True, "result": times}

    def call(self, name: str, args, kwargs) -> dict:
        fn = self.find(name)
        if fn is None:
            files = ", ".join(m + ".py" for m in self.module_names)
            return _error("missing", "AttributeError", f"{files} defines no function named {name}")
        before = [_fingerprint(a) for a in args]
        start = time.perf_counter()
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            return _error("raised", type(exc).__name__, _describe(exc, self.submission_dir))
        seconds = time.perf_counter() - start
        mutated = [_argument_name(fn, i) for i, a in enumerate(args) if _fingerprint(a) != before[i]]
        return {"ok": True, "result": result, "mutated": mutated, "seconds": seconds}

    def map(self, name: str, calls, output=None) -> dict:
        """``call`` once per argument list, stopping at the first failure; with ``output``,
        send back only that element of each (tuple) result."""
        results, mutated, seconds = [], [], 0.0
        for args in calls:
            reply = self.call(name, args, {})
            if not reply["ok"]:
                return reply
            result = reply["result"]
            if output is not None:
                if not isinstance(result, (tuple, list)) or len(result) <= output:
                    return _error("not-a-tuple", type(result).__name__,
                                  f"{name} should return a tuple of at least {output + 1} values; "
                                  f"it returned a value of type {type(result).__name__}")
                result = result[output]
            results.append(result)
            mutated += [m for m in reply["mutated"] if m not in mutated]
            seconds += reply["seconds"]
        return {"ok": True, "result": results, "mutated": mutated, "seconds": seconds}

    # -- handles ----------------------------------------------------------
    def _resolve(self, handle_id: int, _type_name: str):
        return self.handles[handle_id]

    def _make_handle(self, obj) -> channel.Handle:
        handle_id = len(self.handles) + 1
        self.handles[handle_id] = obj
        name = type(obj).__name__
        if isinstance(obj, np.ndarray):  # an array that cannot cross: say why
            name = f"{name} of dtype {obj.dtype}"
        return channel.Handle(handle_id, name)

    def _encode_reply(self, reply: dict) -> bytes:
        try:
            return channel.encode(reply, self._make_handle)
        except (TypeError, ValueError) as exc:
            return channel.encode(_error("unsendable", type(exc).__name__, str(exc)))


def _error(kind: str, type_name: str, message: str) -> dict:
    return {"ok": False, "error": {"kind": kind, "type": type_name, "message": message[:MAX_MESSAGE]}}


def _describe(exc: BaseException, submission_dir: str) -> str:
    """The exception's message and the innermost line of the student's own code."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return f"{os.path.basename(exc.filename)}, line {exc.lineno}: {type(exc).__name__}: {exc.msg}"
    message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    frames = [
        (frame, lineno) for frame, lineno in traceback.walk_tb(exc.__traceback__)
        if frame.f_code.co_filename
        and os.path.abspath(frame.f_code.co_filename).startswith(submission_dir + os.sep)
    ]
    if frames:
        frame, lineno = frames[-1]
        code = frame.f_code
        name = getattr(code, "co_qualname", code.co_name)  # FastLSTM.forward, not just forward
        where = f"{os.path.basename(code.co_filename)}, line {lineno}, in {name}"
        line = linecache.getline(code.co_filename, lineno).strip()
        return f"{message} ({where}{': ' + line if line else ''})"
    return message


def _fingerprint(value):
    """A digest of every array inside ``value``, to tell whether a call changed it."""
    digest = hashlib.blake2b(digest_size=16)

    def visit(v):
        if isinstance(v, np.ndarray):
            digest.update(str((v.shape, v.dtype.str)).encode())
            digest.update(np.ascontiguousarray(v).tobytes())
        elif isinstance(v, (list, tuple)):
            for item in v:
                visit(item)
        elif isinstance(v, dict):
            for key in sorted(v, key=str):
                digest.update(str(key).encode())
                visit(v[key])

    visit(value)
    return digest.digest()


def _argument_name(fn, index: int) -> str:
    try:
        params = list(inspect.signature(fn).parameters)
        return params[index] if index < len(params) else f"argument {index + 1}"
    except (TypeError, ValueError):
        return f"argument {index + 1}"


def _limit_processes() -> None:
    """The sandbox passes a process-count limit to apply here, inside its user namespace,
    where the count is this sandbox's alone."""
    limit = os.environ.pop("RNNKIT_MAX_PROCESSES", "")
    if limit.isdigit():
        resource.setrlimit(resource.RLIMIT_NPROC, (int(limit), int(limit)))


def main(argv: list[str]) -> int:
    # Keep the channel on private descriptors; the student's prints go to stderr.
    fd_in, fd_out = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)
    sys.stdin = open(os.devnull)
    _limit_processes()
    try:
        setup = channel.decode(channel.read_frame(fd_in, cap=16 * 1024 * 1024))
    except channel.ChannelClosed:
        setup = {}  # nothing to set up (a probe that only checks the sandbox starts)
    for name in setup.get("preload") or []:
        importlib.import_module(name)  # failing here is the environment's fault, not the student's
    # "started" before any student code runs: a child that dies earlier is the sandbox's
    # fault (the grader retries), one that dies later is the submission's.
    channel.write_frame(fd_out, channel.encode({"ok": True, "started": True}))
    if setup.get("wait"):  # started ahead (a warm pool): the submission and the rest come now
        try:
            setup.update(channel.decode(channel.read_frame(fd_in, cap=16 * 1024 * 1024)))
        except channel.ChannelClosed:
            return 0  # never used: the grader finished, or closed its spare
    clocks = Clocks()
    tripwires = Tripwires(setup.get("tripwires") or [])
    worker = Worker(argv[0], argv[1:], setup.get("drivers"), clocks, tripwires)
    hello = worker.load()
    channel.write_frame(fd_out, channel.encode(hello))
    if not hello["ok"]:
        return 0
    worker.serve(fd_in, fd_out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
