"""The trusted side's view of a submission: a proxy whose calls run in a child process.

Tests write ``student.rnn_forward(x, h0, Wx, Wh, b)``; the call is encoded as data,
run by :mod:`autograder.worker` in a separate process, and its result decoded as
data. Values that cannot cross (a cache object, a module) come back as
:class:`~autograder.channel.Handle` objects that can be passed to later calls.

A call that times out or crashes the child fails alone: the child is killed and the
next call starts a fresh one. How the child is started (plain process now, a
sandbox later) is the launcher's business, not the tests'.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

from autograder import channel
from autograder.processes import cpu_seconds, process_tree
from autograder.sandbox import GPU_ENVIRONMENT, SandboxFailure, Slot, die_with_parent, kill_uid

STDERR_TAIL = 600
# A timed request's reported total must be at least this share of the grader's wall
# clock, less a fixed allowance for the round trip.
TIMING_AGREEMENT = 0.8
TIMING_SLACK_S = 0.01
# On the CPU, a timed request whose processes used more CPU time than this many times
# its duration (plus a tick or two of slack) ran on several cores; see Student.timed.
MULTICORE_FACTOR = 1.5
MULTICORE_SLACK_S = 0.03


# ---------------------------------------------------------------------------
# verdicts a test can fail with


class StudentError(Exception):
    """A call on the submission failed; ``verdict`` names how, the message says why."""

    verdict = "error"


class SubmissionNotLoaded(StudentError):
    verdict = "not loaded"


class MissingFunction(StudentError):
    verdict = "missing function"


class StudentRaised(StudentError):
    verdict = "raised"


class NotImplementedYet(StudentRaised):
    verdict = "not implemented"


class StudentTimeout(StudentError):
    verdict = "timeout"


class StudentCrashed(StudentError):
    verdict = "crashed"


class MemoryLimit(StudentCrashed):
    verdict = "memory limit"


class OutputLimit(StudentCrashed):
    verdict = "output limit"


class CpuLimit(StudentTimeout):
    verdict = "cpu limit"


class BadReply(StudentError):
    verdict = "bad result"


class TimingMismatch(StudentError):
    """The child's timings disagree with the grader's own clock."""

    verdict = "timing mismatch"


class StaleHandle(StudentError):
    verdict = "stale value"


# ---------------------------------------------------------------------------
# limits and launching


@dataclass(frozen=True)
class Limits:
    call_timeout_s: float = 20.0
    submission_timeout_s: float = 600.0
    memory_mb: int = 4096
    file_size_mb: int = 64       # any file the child writes, its captured output included
    frame_cap_mb: int = 64
    processes: int = 128         # processes and threads, across the child's whole tree
    scratch_mb: int = 256        # the sandbox's writable /tmp
    start_timeout_s: float = 60.0
    start_attempts: int = 3


class ProcessLauncher:
    """Starts the worker as a plain child process with resource limits.

    It is not a sandbox: the child sees the grader's files and network. It clears the
    environment, runs in its own session (so its whole process group can be killed)
    and in a scratch working directory. When the grader runs as root (a Gradescope
    container, say) and the interpreter is readable by other users, the child runs as a
    UID of its own instead, with a private copy of the submission: it cannot read
    root's files, signal the grader or other processes, and nothing it starts survives
    it (every process of that UID is killed when it stops).
    """

    name = "process"

    def __init__(self, gpu: bool = False):
        self.drop_privileges = os.geteuid() == 0 and readable_by_anyone(worker_paths())
        self.gpu = gpu  # CUDA reserves far more address space than it uses: no RLIMIT_AS then
        self._slots: dict[int, Slot] = {}

    def command(self, submission_dir: str, modules: list[str]) -> list[str]:
        return [sys.executable, "-I", "-B", "-m", "autograder.worker", submission_dir, *modules]

    def environment(self, scratch: str) -> dict[str, str]:
        env = {"HOME": scratch, "TMPDIR": scratch, "LANG": "C.UTF-8", "PYTHONHASHSEED": "0",
               "PYTHONDONTWRITEBYTECODE": "1", "PATH": "/usr/bin:/bin"}
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = "1"
        for var in GPU_ENVIRONMENT:  # where the GPU driver's libraries are, which GPUs to use
            if os.environ.get(var):
                env[var] = os.environ[var]
        return env

    def start(self, submission_dir: str, modules: list[str], limits: Limits, scratch: str, stderr):
        slot = Slot() if self.drop_privileges else None
        if slot is not None:
            try:  # the child's own copy of the submission, in a scratch folder it owns
                own_copy = os.path.join(scratch, "submission")
                if os.path.abspath(submission_dir) != own_copy:  # a prestarted child's is empty yet
                    submission_dir = shutil.copytree(submission_dir, own_copy, symlinks=True)
                for root, dirs, files in os.walk(scratch):
                    for name in [root, *(os.path.join(root, f) for f in files)]:
                        os.lchown(name, slot.uid, slot.uid)
            except BaseException:
                slot.release()
                raise

        def apply_limits():
            if slot is not None:
                os.setgroups([])
                os.setresgid(slot.uid, slot.uid, slot.uid)
                os.setresuid(slot.uid, slot.uid, slot.uid)
                resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
            die_with_parent()  # after the UID change, which clears it
            cpu = int(limits.submission_timeout_s) + 5
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
            if limits.memory_mb > 0 and not self.gpu:  # 0: none
                memory = limits.memory_mb * 1024 * 1024
                resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
            fsize = limits.file_size_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

        try:
            popen = subprocess.Popen(
                self.command(submission_dir, modules),
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                cwd=scratch, env=self.environment(scratch),
                start_new_session=True, preexec_fn=apply_limits,
            )
        except BaseException:
            if slot is not None:
                slot.release()
            raise
        if slot is not None:
            self._slots[popen.pid] = slot
        return popen

    def out_of_memory(self, popen) -> bool:
        return False  # no cgroup to ask; an address-space limit shows up as MemoryError

    @property
    def isolates_children(self) -> bool:
        """Whether one child cannot reach another's files (each runs as a UID of its own)."""
        return self.drop_privileges

    def install(self, popen, source: str, target: str) -> None:
        """Copy a submission into a prestarted child's (so far empty) submission folder."""
        shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True)
        slot = self._slots.get(popen.pid)
        if slot is not None:
            for root, dirs, files in os.walk(target):
                for name in [root, *(os.path.join(root, f) for f in files)]:
                    os.lchown(name, slot.uid, slot.uid)

    def stopped(self, popen) -> None:
        slot = self._slots.pop(popen.pid, None)
        if slot is not None:
            kill_uid(slot.uid)
            slot.release()


class WarmPool:
    """A launcher that keeps one child started ahead: sandbox up, interpreter and the
    assignment's libraries (``preload``) imported, an empty submission folder, waiting.

    When a submission needs a child, it takes the waiting one, copies the submission in
    and tells it to go on, and starts the next at once, so starting and importing
    overlap with grading. Each child is still its own sandbox (its own UID, cgroup,
    tmpfs and namespaces; nothing of one submission's run can reach the next's), so it
    is used only with a launcher whose children cannot reach each other: bubblewrap, or
    plain processes under UIDs of their own.
    """

    def __init__(self, launcher):
        self.launcher = launcher
        self._spares: dict[tuple, StudentProcess] = {}

    def __getattr__(self, name):  # start, stopped, out_of_memory, name, ...: the launcher's
        return getattr(self.launcher, name)

    def take(self, submission_dir, modules, limits, generation, setup: ChildSetup):
        """A started child for this submission, or None (the caller starts one the usual way)."""
        key = (tuple(modules), limits, tuple(setup.preload))
        spare = self._spares.pop(key, None)
        process = None
        if spare is not None:
            try:
                spare.wait_started()
                spare.install(submission_dir, setup, generation)
                process = spare
            except (SandboxFailure, OSError, subprocess.SubprocessError):
                spare.close()
        try:
            self._spares[key] = StudentProcess(None, modules, limits, self.launcher, 0,
                                               ChildSetup(preload=tuple(setup.preload)), prestart=True)
        except (SandboxFailure, OSError, subprocess.SubprocessError):
            pass  # no spare this time; the next submission starts its child itself
        return process

    def close(self) -> None:
        for spare in self._spares.values():
            spare.close()
        self._spares.clear()


def worker_paths() -> list[str]:
    """What a child running as another user must be able to read to start the worker."""
    import numpy

    import autograder

    return [os.path.realpath(sys.executable), os.path.dirname(os.__file__),
            os.path.dirname(numpy.__file__), os.path.dirname(autograder.__file__)]


def readable_by_anyone(paths: list[str]) -> bool:
    """Whether every path is readable, and every folder above it searchable, by other users."""
    for path in paths:
        if not os.stat(path).st_mode & stat.S_IROTH:
            return False
        folder = os.path.dirname(path)
        while True:
            if not os.stat(folder).st_mode & stat.S_IXOTH:
                return False
            if folder == os.path.dirname(folder):
                break
            folder = os.path.dirname(folder)
    return True


# ---------------------------------------------------------------------------
# one child process


@dataclass(frozen=True)
class ChildSetup:
    """What the worker does before it imports the submission (see :mod:`autograder.worker`)."""

    preload: tuple[str, ...] = ()           # modules to import first, e.g. ("torch",)
    tripwires: tuple[str, ...] = ()         # dotted APIs whose use is recorded
    drivers: tuple[tuple[str, str], ...] = ()   # (module name, source) of trusted helpers

    def message(self) -> dict:
        return {"preload": list(self.preload), "tripwires": list(self.tripwires),
                "drivers": dict(self.drivers)}


class StudentProcess:
    def __init__(self, submission_dir, modules, limits, launcher, generation, setup: ChildSetup = ChildSetup(),
                 prestart: bool = False):
        self.generation = generation
        self.limits = limits
        self.launcher = launcher
        self.modules = list(modules)
        self.scratch = tempfile.mkdtemp(prefix="rnnkit-child-")
        self.prestarted = prestart
        if prestart:  # started before its submission is known: it waits with an empty folder
            submission_dir = os.path.join(self.scratch, "submission")
            os.mkdir(submission_dir)
        self.submission_dir = submission_dir
        self._stderr = open(os.path.join(self.scratch, ".stderr"), "w+b")
        try:
            self.popen = launcher.start(submission_dir, modules, limits, self.scratch, self._stderr)
        except BaseException:
            self._stderr.close()
            shutil.rmtree(self.scratch, ignore_errors=True)
            raise
        self.hello = None
        self.started = False
        self.stopped_pids: list[int] = []
        message = {"preload": list(setup.preload), "wait": True} if prestart else setup.message()
        try:  # read by the worker before "started"; a pipe that is already gone shows up there
            channel.write_frame(self.popen.stdin.fileno(), channel.encode(message))
        except OSError:
            pass

    def install(self, submission_dir: str, setup: ChildSetup, generation: int) -> None:
        """Give a prestarted child (started, libraries imported) its submission and the rest
        of its setup; it then imports the submission as any child does."""
        self.launcher.install(self.popen, submission_dir, self.submission_dir)
        self.generation = generation
        self.prestarted = False
        channel.write_frame(self.popen.stdin.fileno(), channel.encode(
            {"tripwires": list(setup.tripwires), "drivers": dict(setup.drivers)}))

    def wait_started(self) -> None:
        """Wait for the worker's first frame, sent before any student code runs. No frame
        means the sandbox failed to start: :class:`SandboxFailure`, the grader's problem."""
        if self.started:
            return
        deadline = time.monotonic() + self.limits.start_timeout_s
        try:
            body = channel.read_frame(self.popen.stdout.fileno(), deadline, cap=1024 * 1024)
            started = channel.decode(body)
        except channel.ChannelError as exc:
            self.kill()
            tail = self.stderr_tail()
            raise SandboxFailure(f"the sandbox did not start ({type(exc).__name__}: {exc})"
                                 + (f": {tail}" if tail else "")) from None
        if not (isinstance(started, dict) and started.get("started")):
            self.kill()
            raise SandboxFailure(f"the sandbox's first message was not the worker's: {started!r:.200}")
        self.started = True

    def wait_ready(self, deadline: float) -> dict:
        self.hello = self._receive(deadline, during="loading the submission")
        return self.hello

    def request(self, message: dict, deadline: float, during: str):
        try:
            channel.write_frame(self.popen.stdin.fileno(), channel.encode(message))
        except (BrokenPipeError, OSError):
            raise self._crash(during) from None
        return self._receive(deadline, during)

    def _receive(self, deadline, during):
        waited_from = time.monotonic()
        try:
            body = channel.read_frame(self.popen.stdout.fileno(), deadline,
                                      cap=self.limits.frame_cap_mb * 1024 * 1024)
        except channel.ChannelTimeout:
            self.kill()
            waited = time.monotonic() - waited_from
            if waited < self.limits.call_timeout_s - 0.5:
                raise StudentTimeout(f"no result after {waited:.1f} s while {during}, when the submission's "
                                     f"total time budget of {self.limits.submission_timeout_s:g} s ran out") from None
            raise StudentTimeout(f"no result after {self.limits.call_timeout_s:g} s while {during} "
                                 "(an infinite loop, or far too slow)") from None
        except channel.FrameTooLarge as exc:
            self.kill()
            raise BadReply(f"the result of {during} is too large to accept: {exc}") from None
        except channel.ChannelClosed:
            raise self._crash(during) from None
        try:
            return channel.decode(body, self._resolve)
        except channel.ChannelError as exc:
            self.kill()
            raise BadReply(f"malformed reply while {during}: {exc}") from None

    def _resolve(self, handle_id, type_name):
        return channel.Handle(handle_id, type_name, self.generation)

    def _crash(self, during) -> StudentCrashed:
        code = self._exit_code()
        tail = self.stderr_tail()
        detail = f"; its last output was: {tail}" if tail else ""
        if self.launcher.out_of_memory(self.popen):
            return MemoryLimit(f"the student process went over the memory limit of "
                               f"{self.limits.memory_mb} MB while {during} and was killed")
        signum = None
        if code is not None and code < 0:
            signum = -code
        elif code is not None and code > 128 and getattr(self.launcher, "reports_signals_as_status", False):
            signum = code - 128  # bwrap exits with 128 + the signal that killed its child
        if signum is None:
            return StudentCrashed(f"the student process exited with status {code} while {during}{detail}")
        how = _signal_meaning(signum, self.limits)
        kind = {signal.SIGXFSZ: OutputLimit, signal.SIGXCPU: CpuLimit}.get(signum, StudentCrashed)
        return kind(f"the student process {how} while {during}{detail}")

    def _exit_code(self):
        try:
            return self.popen.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.kill()
            return self.popen.returncode

    def stderr_tail(self) -> str:
        try:
            self._stderr.flush()
            size = os.path.getsize(self._stderr.name)
            with open(self._stderr.name, "rb") as f:
                f.seek(max(0, size - STDERR_TAIL))
                return f.read().decode("utf-8", "replace").strip()
        except OSError:
            return ""

    def pause(self) -> None:
        """Stop every process of this child's tree (SIGSTOP), until no new one appears."""
        for _ in range(20):
            fresh = [pid for pid in process_tree(self.popen.pid) if pid not in self.stopped_pids]
            if not fresh:
                return
            for pid in fresh:
                try:
                    os.kill(pid, signal.SIGSTOP)
                    self.stopped_pids.append(pid)
                except (ProcessLookupError, PermissionError):
                    pass

    def resume(self) -> None:
        for pid in [*self.stopped_pids, *process_tree(self.popen.pid)]:
            try:
                os.kill(pid, signal.SIGCONT)
            except (ProcessLookupError, PermissionError):
                pass
        self.stopped_pids = []

    def kill(self) -> None:
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            self.popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    def close(self) -> None:
        self.kill()
        self.launcher.stopped(self.popen)
        for stream in (self.popen.stdin, self.popen.stdout, self._stderr):
            try:
                stream.close()
            except OSError:
                pass
        shutil.rmtree(self.scratch, ignore_errors=True)


def _signal_meaning(signum: int, limits: Limits) -> str:
    name = signal.Signals(signum).name if signum in signal.Signals._value2member_map_ else str(signum)
    meanings = {
        "SIGXCPU": "used up its CPU time limit",
        "SIGXFSZ": f"went over the output limit (it wrote more than {limits.file_size_mb} MB, "
                   "printed output included)",
        "SIGSEGV": "crashed (segmentation fault)",
        "SIGKILL": "was killed (SIGKILL; often the memory limit)",
    }
    return meanings.get(name, f"was killed by signal {name}")


# ---------------------------------------------------------------------------
# the proxy


@dataclass
class CallRecord:
    """What the child said about the last call besides its result."""

    name: str
    mutated: list[str] = field(default_factory=list)
    seconds: float = 0.0


class Student:
    """Proxy for one submission. ``student.NAME(*args)`` calls NAME in the child.

    ``call``, ``map``, ``has``, ``close`` and ``last_call`` are the proxy's own names;
    a student function with one of them is reached with ``student.call("close", ...)``.
    """

    def __init__(self, submission_dir: str, modules: list[str], limits: Limits = Limits(),
                 launcher=None, problem: str = "", setup: ChildSetup = ChildSetup()):
        self._submission_dir = os.path.abspath(submission_dir)
        self._modules = list(modules)
        self._setup = setup
        self._limits = limits
        self._launcher = launcher or ProcessLauncher()
        self._process: StudentProcess | None = None
        self._generation = 0
        self._load_failure = SubmissionNotLoaded(problem) if problem else None
        self._budget_end = time.monotonic() + limits.submission_timeout_s
        self.last_call: CallRecord | None = None

    # attribute access is how tests call student functions
    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args, **kwargs: self.call(name, *args, **kwargs)

    def call(self, name: str, *args, **kwargs):
        """Call the submission's function ``name``; ``student.name(...)`` is the same."""
        return self._run(name, {"op": "call", "name": name, "args": list(args), "kwargs": kwargs}, (args, kwargs))

    def map(self, name: str, calls: list[tuple], output: int | None = None) -> list:
        """Call ``name`` once per argument tuple in ``calls``, all in one round trip, and return
        the list of results (for many small calls, such as a numeric gradient's). With
        ``output``, only that element of each tuple result comes back."""
        calls = [list(args) for args in calls]
        return self._run(name, {"op": "map", "name": name, "calls": calls, "output": output}, calls)

    def _run(self, name: str, message: dict, arguments):
        self.last_call = None
        self._check_handles(arguments)
        process = self._ensure_process()
        reply = process.request(message, self._deadline(), during=f"running {name}")
        if not isinstance(reply, dict) or "ok" not in reply:
            process.kill()
            raise BadReply(f"malformed reply from {name}")
        if not reply["ok"]:
            raise _error_from(reply.get("error"), name)
        self.last_call = CallRecord(name, [str(m) for m in reply.get("mutated") or []],
                                    float(reply.get("seconds") or 0.0))
        return reply.get("result")

    def timed(self, name: str, *args, repeats: int = 5, device: str = "cpu", **kwargs) -> list[float]:
        """Seconds per call of ``name(*args, **kwargs)``, ``repeats`` calls measured by the
        child with clocks taken before the submission was imported (device events on
        CUDA). The grader's own clock must agree: the child cannot claim more time than
        passed, nor much less than the grader saw (allowing for the round trip). On the
        CPU a call is charged its CPU time instead where the child's processes used
        clearly more than one core."""
        process = self._ensure_process()
        message = {"op": "time", "name": name, "args": list(args), "kwargs": kwargs,
                   "repeats": repeats, "device": device}
        self._check_handles((args, kwargs))
        tree = process_tree(process.popen.pid)
        cpu_before = cpu_seconds(tree)
        started = time.perf_counter()
        reply = process.request(message, self._deadline(), during=f"timing {name}")
        wall = time.perf_counter() - started
        cpu_used = cpu_seconds(tree) - cpu_before
        if not isinstance(reply, dict) or "ok" not in reply:
            process.kill()
            raise BadReply(f"malformed reply while timing {name}")
        if not reply["ok"]:
            raise _error_from(reply.get("error"), name)
        times = reply.get("result")
        if not (isinstance(times, list) and len(times) == repeats
                and all(isinstance(t, float) and 0.0 <= t < 1e6 for t in times)):
            raise TimingMismatch(f"timing {name} gave back something that is not {repeats} durations")
        total = sum(times)
        if total > wall + 0.002 or total < TIMING_AGREEMENT * wall - TIMING_SLACK_S:
            raise TimingMismatch(f"the timings reported for {name} ({total * 1000:.1f} ms in all) do not "
                                 f"match the grader's own clock ({wall * 1000:.1f} ms): something in "
                                 "the submission interferes with timing")
        if device == "cpu" and cpu_used > MULTICORE_FACTOR * total + MULTICORE_SLACK_S:
            # More than one core at work: charge the CPU time, so that extra threads
            # cannot beat a single-threaded baseline.
            times = [t * cpu_used / total for t in times]
        return times

    def pause(self) -> None:
        """Stop the child's processes (so nothing of the submission runs while a baseline
        is timed); :meth:`resume` starts them again."""
        if self._process is not None and self._process.popen.poll() is None:
            self._process.pause()

    def resume(self) -> None:
        if self._process is not None:
            self._process.resume()

    def tripped(self) -> list[dict]:
        """The watched APIs (see :class:`ChildSetup`) the submission has called so far."""
        if self._process is None or self._process.popen.poll() is not None:
            return []
        reply = self._process.request({"op": "tripped"}, self._deadline(), during="asking which APIs ran")
        hits = reply.get("result") if isinstance(reply, dict) else None
        return [h for h in hits if isinstance(h, dict)] if isinstance(hits, list) else []

    def has(self, name: str) -> bool:
        """Whether the submission defines a function ``name`` (for optional parts)."""
        process = self._ensure_process()
        reply = process.request({"op": "has", "name": name}, self._deadline(), during=f"looking up {name}")
        return bool(isinstance(reply, dict) and reply.get("result") is True)

    def close(self) -> None:
        if self._process is not None:
            self._process.close()
            self._process = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- internals --------------------------------------------------------
    def _deadline(self) -> float:
        now = time.monotonic()
        if now >= self._budget_end:
            raise StudentTimeout(f"not run: the submission used up its total time budget of "
                                 f"{self._limits.submission_timeout_s:g} s")
        return min(now + self._limits.call_timeout_s, self._budget_end)

    def _ensure_process(self) -> StudentProcess:
        if self._load_failure is not None:  # a fresh exception each time keeps tracebacks short
            raise type(self._load_failure)(str(self._load_failure))
        if self._process is not None and self._process.popen.poll() is None:
            return self._process
        if self._process is not None:
            self._process.close()
            self._process = None
        self._deadline()  # a spent budget is a timeout, not a failure to load
        self._generation += 1
        started = time.monotonic()
        process = self._start_process()
        self._budget_end += time.monotonic() - started  # starting (and retrying) is not the student's time
        deadline = self._deadline()
        try:
            hello = process.wait_ready(deadline)
        except StudentError as exc:
            process.close()
            if isinstance(exc, StudentTimeout) and deadline >= self._budget_end:
                raise  # cut short by the budget: not a verdict on loading
            # A submission that hangs or dies while being imported would do it again.
            self._load_failure = SubmissionNotLoaded(f"the submission could not be loaded: {exc}")
            raise self._load_failure from None
        if not isinstance(hello, dict) or not hello.get("ok"):
            error = (hello or {}).get("error") if isinstance(hello, dict) else None
            self._load_failure = _error_from(error, None)
            process.close()
            raise self._load_failure
        self._process = process
        return process

    def _start_process(self) -> StudentProcess:
        """A started child, retrying a sandbox that fails to start (never the student's fault)."""
        failures = []
        take = getattr(self._launcher, "take", None)
        if take is not None:  # a warm pool: a child already started, waiting for its submission
            process = take(self._submission_dir, self._modules, self._limits, self._generation, self._setup)
            if process is not None:
                return process
        for attempt in range(self._limits.start_attempts):
            try:
                process = StudentProcess(self._submission_dir, self._modules, self._limits,
                                         self._launcher, self._generation, self._setup)
            except SandboxFailure as exc:
                failures.append(str(exc))
            except (OSError, subprocess.SubprocessError) as exc:  # no process, no file: the host's fault
                failures.append(f"{type(exc).__name__}: {exc}")
            else:
                try:
                    process.wait_started()
                    return process
                except SandboxFailure as exc:
                    process.close()
                    failures.append(str(exc))
            time.sleep(0.2 * (attempt + 1))
        raise SandboxFailure(f"the sandbox failed to start {len(failures)} times; last: {failures[-1]}")

    def _check_handles(self, arguments) -> None:
        stack = [arguments]
        while stack:
            value = stack.pop()
            if isinstance(value, channel.Handle):
                if value.generation != self._generation or self._process is None \
                        or self._process.popen.poll() is not None:
                    raise StaleHandle(f"{value!r} came from a student process that has since "
                                      "stopped (after an earlier crash or timeout)")
            elif isinstance(value, (list, tuple)):
                stack.extend(value)
            elif isinstance(value, dict):
                stack.extend(value.values())


def _error_from(error, name: str | None) -> StudentError:
    if not isinstance(error, dict):
        return BadReply(f"malformed error reply from {name or 'the submission'}")
    kind = error.get("kind")
    message = str(error.get("message", ""))[:2000]
    if kind in ("load", "missing-file"):
        # every later test fails with this one reason, so it names the limit when it was one
        if error.get("type") == "MemoryError":
            message = f"it ran out of memory while being imported ({message})"
        elif "[Errno 27]" in message:
            message = f"it went over the output limit while being imported ({message})"
        return SubmissionNotLoaded(f"the submission could not be loaded: {message}")
    if kind == "missing":
        return MissingFunction(message)
    if kind == "raised" and error.get("type") == "MemoryError":
        return MemoryLimit(f"{name} ran out of memory ({message})")
    if kind == "raised" and "[Errno 27]" in message:  # EFBIG: the file-size limit
        return OutputLimit(f"{name} went over the output limit: {message}")
    if kind == "raised" and error.get("type") == "NotImplementedError":
        # Name the stub itself: a call may reach it through other functions (or a driver).
        stub = re.search(r"\((\w+\.py), line \d+, in ([\w.<>]+)", message)
        what = f"{stub.group(2)} in {stub.group(1)}" if stub and stub.group(2) != name else name
        return NotImplementedYet(f"{what} is not implemented yet (it raises NotImplementedError)")
    if kind == "raised":
        return StudentRaised(f"{name} raised {message}")
    if kind == "not-a-tuple":
        return BadReply(message)
    if kind == "unsendable":
        return BadReply(f"{name} returned something that is not data: {message}")
    return BadReply(f"{name}: {message}")
