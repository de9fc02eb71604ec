"""Where submissions are graded: in processes on this machine, or on a Dask cluster.

An executor takes grading jobs and yields ``(submission id, result, grader error)`` as
each finishes, in any order. The caller (:func:`autograder.batch.grade_class`) writes
every result into its one gradebook as it arrives, so the executor never holds more
than the jobs in flight.

Either way, each submission is graded by :func:`autograder.batch.grade_submission`, the
same sandboxed engine: student code only ever runs in a sandboxed child of the process
that grades it, never on the client.

On a Dask cluster (``dask.distributed``), the worker machines do not see the client's
files. The assignment travels once per job as a zip of its autograder bundle (config,
oracle, drivers, tests and the reference; see
:func:`autograder.packaging.build_bundle_tree`) and is unpacked on each worker machine
into a cache folder named after its fingerprint and the zip's digest, checked against
the client's fingerprint before use; the submission travels as the bytes of its files
(:class:`~autograder.submissions.Submission` holds them) and is written to a scratch
folder on the worker, as locally. A worker lost mid-run has its jobs rerun elsewhere by
the scheduler (``retries`` more reruns are allowed for jobs that fail on a worker), and
a job that fails for good is a grader error: nothing is recorded, a rerun retries it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import io
import os
import re
import shutil
import socket
import tempfile
import threading
import uuid
import zipfile
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from importlib import metadata
from pathlib import Path

from autograder.assignment import BUNDLE_SOLUTION, Assignment
from autograder.devices import DeviceUnavailable, cuda_present

EXECUTORS = ("local", "dask")
CACHE_ENV = "RNNKIT_CACHE_DIR"
ZIP_TIME = (2020, 1, 1, 0, 0, 0)
DASK_MISSING = ("--executor dask needs dask.distributed, which is not installed here: "
                "pip install 'rnnkit[cluster]' (or pip install 'dask[distributed]')")

# (submission, submission id, seed, sandbox, devices): grade_submission's arguments after the assignment
Job = tuple
Graded = tuple  # (submission id, SubmissionResult | None, grader error)


class ExecutorUnavailable(Exception):
    """The executor cannot be used (dask missing, scheduler unreachable, no usable worker)."""


# ---------------------------------------------------------------------------
# this machine


class LocalExecutor:
    """``workers`` processes on this machine (spawned, so each has its own state); one
    submission, or one worker, grades in this process."""

    name = "local"

    def __init__(self, workers: int = 1, cold: bool = False):
        self.workers = max(1, int(workers))
        # cold: a fresh process per submission and no warm children (the baseline that
        # bench/grade_throughput.py compares warm workers with)
        self.cold = cold

    def describe(self) -> str:
        return f"{self.workers} worker(s)"

    def run(self, assignment: Assignment, jobs: list[Job]) -> Iterator[Graded]:
        from autograder.batch import grade_submission

        if not self.cold and (self.workers <= 1 or len(jobs) <= 1):
            try:
                for job in jobs:
                    yield (job[1], *grade_submission(assignment, *job))
            finally:
                _close_warm_pools()  # graded in this process: no spare sandbox outlives the run
            return
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        fresh = {"max_tasks_per_child": 1} if self.cold else {}
        with ProcessPoolExecutor(max_workers=self.workers, mp_context=context, **fresh) as pool:
            futures = {pool.submit(grade_submission, assignment, *job, warm=not self.cold): job[1]
                       for job in jobs}
            for future in as_completed(futures):
                sid = futures.pop(future)  # as_completed drops its own reference: the result goes with ours
                yield (sid, *future.result())

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---------------------------------------------------------------------------
# the assignment, as it travels to another machine


@dataclasses.dataclass(frozen=True)
class ShippedAssignment:
    """An assignment whose files travel with it: the client's :class:`Assignment` (its
    limits and config as the client has them, in memory changes included) and its
    autograder bundle as zip bytes. :meth:`materialise` gives the same assignment on
    a worker, with its paths pointing into a cache folder there."""

    assignment: Assignment
    fingerprint: str
    bundle: bytes
    digest: str

    @classmethod
    def pack(cls, assignment: Assignment) -> ShippedAssignment:
        from autograder.packaging import build_bundle_tree

        if assignment.solution_dir is None:
            raise ExecutorUnavailable(f"{assignment.name} has no reference solution to ship to the workers")
        with tempfile.TemporaryDirectory(prefix="rnnkit-ship-") as scratch:
            tree = Path(scratch) / "bundle"
            build_bundle_tree(assignment, tree)
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                for path in sorted(tree.rglob("*")):
                    relative = path.relative_to(tree)
                    if path.is_file() and "__pycache__" not in relative.parts:
                        info = zipfile.ZipInfo(relative.as_posix(), ZIP_TIME)
                        info.compress_type = zipfile.ZIP_DEFLATED
                        info.external_attr = 0o644 << 16
                        archive.writestr(info, path.read_bytes())
        bundle = buffer.getvalue()
        return cls(assignment, assignment.fingerprint(), bundle, hashlib.sha256(bundle).hexdigest())

    def materialise(self, cache: Path | None = None) -> Assignment:
        """The assignment with its files unpacked on this machine (once per machine and version)."""
        key = (self.digest, str(cache))
        known = _materialised.get(key)
        if known is not None and known.root.is_dir():
            return known
        cache = Path(cache) if cache else cache_dir()
        safe = re.sub(r"[^\w.-]+", "_", self.assignment.name)[:40] or "assignment"
        folder = cache / f"{safe}-{self.fingerprint}-{self.digest[:12]}"
        for attempt in range(2):
            if not (folder / ".complete").is_file():
                self._unpack(folder)
            local = dataclasses.replace(self.assignment, root=folder, solution_dir=folder / BUNDLE_SOLUTION,
                                        template_dir=None)
            if local.fingerprint() == self.fingerprint:
                _materialised[key] = local
                return local
            shutil.rmtree(folder, ignore_errors=True)  # damaged or changed since: unpack afresh
        raise RuntimeError(f"the assignment unpacked in {folder} does not match the client's "
                           f"(fingerprint {local.fingerprint()} != {self.fingerprint})")

    def _unpack(self, folder: Path) -> None:
        """Unpack beside ``folder`` and rename into place, so that concurrent workers on one
        machine never see half a folder; the first to finish wins."""
        folder.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        staging = Path(tempfile.mkdtemp(prefix=".unpacking-", dir=folder.parent))
        try:
            with zipfile.ZipFile(io.BytesIO(self.bundle)) as archive:
                for member in archive.namelist():
                    if member.startswith("/") or ".." in Path(member).parts:
                        raise RuntimeError(f"bundle entry {member!r} points outside the bundle")
                archive.extractall(staging)
            (staging / ".complete").write_text(self.digest)
            os.chmod(staging, 0o755)
            if folder.exists():
                shutil.rmtree(folder, ignore_errors=True)
            try:
                os.rename(staging, folder)
            except OSError:
                if not (folder / ".complete").is_file():
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)


_materialised: dict[tuple, Assignment] = {}


def cache_dir() -> Path:
    """Where workers keep unpacked assignments: $RNNKIT_CACHE_DIR, else ~/.cache/rnnkit/assignments
    (the grading user's own folder: never a shared /tmp, where others could plant tests)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "rnnkit" / "assignments"


# ---------------------------------------------------------------------------
# what runs on a Dask worker

_grading = threading.Lock()  # one grading per worker process: pytest and the grader's session are process-wide


def grade_shipped(shipped: ShippedAssignment, submission, sid: str, seed: int, sandbox: str,
                  devices) -> tuple:
    """Grade one submission on this (worker) machine: grade_submission's (result, error)."""
    from autograder.batch import grade_submission

    devices = frozenset(devices)
    if "cuda" in devices and not cuda_present():
        # Grading without the GPU would give another grade: refuse, and let the job go elsewhere.
        raise DeviceUnavailable(f"worker {socket.gethostname()} (pid {os.getpid()}) has no CUDA device, "
                                "and this run grades with one")
    assignment = shipped.materialise()
    with _grading:
        return grade_submission(assignment, submission, sid, seed, sandbox, devices)


def worker_facts(sandbox: str) -> dict:
    """What the client needs to know about a worker before it sends jobs there."""
    problem = ""
    if sandbox == "bwrap":
        from autograder.sandbox import SandboxUnavailable, probe

        try:
            probe()
        except SandboxUnavailable as exc:
            problem = str(exc)
    return {"host": socket.gethostname(), "cuda": cuda_present(), "sandbox_problem": problem,
            "rnnkit": _rnnkit_version()}


def _rnnkit_version() -> str:
    try:
        return metadata.version("rnnkit")
    except metadata.PackageNotFoundError:
        return "not installed"


def _close_warm_pools() -> None:
    from autograder import batch

    close = getattr(batch, "close_warm_pools", None)
    if close is not None:
        close()


def release_idle_children() -> bool:
    """Stop the spare sandbox a worker keeps warm between jobs, if it is idle (run by the
    client at the end of a run, so no sandbox outlives the grading)."""
    if not _grading.acquire(blocking=False):
        return False  # grading another job: its children are in use
    try:
        _close_warm_pools()
        return True
    finally:
        _grading.release()


# ---------------------------------------------------------------------------
# a Dask cluster


def import_distributed():
    try:
        import distributed
    except ImportError:
        raise ExecutorUnavailable(DASK_MISSING) from None
    return distributed


class DaskExecutor:
    """Jobs sent to the workers of a running Dask scheduler (or of ``client``'s cluster).

    At most ``window`` jobs (by default, twice the workers' threads) are on the cluster
    at once: the client's memory, and the scheduler's, stay flat however large the class.
    """

    name = "dask"

    def __init__(self, scheduler: str | None = None, client=None, retries: int = 2,
                 window: int | None = None, connect_timeout: float = 30):
        distributed = import_distributed()
        self._distributed = distributed
        self.retries, self._window = retries, window
        self._own = client is None
        if client is None:
            try:
                client = distributed.Client(scheduler, timeout=connect_timeout, set_as_default=False)
            except (OSError, TimeoutError, ValueError) as exc:
                raise ExecutorUnavailable(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        self.client = client
        self.address = scheduler or client.scheduler.address
        self.devices = frozenset({"cpu"})  # until check() asks the workers

    def describe(self) -> str:
        return f"the Dask cluster at {self.address} ({len(self.client.nthreads())} worker(s))"

    def close(self) -> None:
        if self._own:
            self.client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- before a run ------------------------------------------------------
    def survey(self, sandbox: str = "bwrap", wait_s: float = 60) -> dict[str, dict]:
        """:func:`worker_facts` of every worker (waiting up to ``wait_s`` for a first one)."""
        try:
            self.client.wait_for_workers(1, timeout=wait_s)
        except TimeoutError:
            raise ExecutorUnavailable(f"no Dask worker joined the scheduler at {self.address} "
                                      f"within {wait_s:.0f} s; start some with `dask worker {self.address}`") from None
        return self.client.run(worker_facts, sandbox)

    def check(self, sandbox: str, device: str = "auto") -> frozenset:
        """Stop (ExecutorUnavailable, DeviceUnavailable) where the workers cannot grade this
        run; else the devices to grade with, decided by the workers (not by the client):
        CUDA with ``auto`` only where every worker has it, so every submission gets the
        same tests wherever it lands."""
        facts = self.survey(sandbox)
        broken = {w: f["sandbox_problem"] for w, f in facts.items() if f["sandbox_problem"]}
        if broken:
            worker, why = next(iter(broken.items()))
            raise ExecutorUnavailable(f"the sandbox does not work on {len(broken)} of {len(facts)} Dask worker(s) "
                                      f"(e.g. {worker} on {facts[worker]['host']}): {why}")
        mine = _rnnkit_version()
        other = {w: f["rnnkit"] for w, f in facts.items() if f["rnnkit"] != mine}
        if other:
            raise ExecutorUnavailable(f"{len(other)} Dask worker(s) run another rnnkit than this one ({mine}): "
                                      + ", ".join(f"{w} has {v}" for w, v in sorted(other.items())[:5]))
        with_cuda = [w for w, f in facts.items() if f["cuda"]]
        if device == "cuda" and len(with_cuda) < len(facts):
            raise DeviceUnavailable(f"--device cuda: {len(facts) - len(with_cuda)} of {len(facts)} Dask worker(s) "
                                    "see no CUDA device; start GPU workers only, or use --device auto or cpu")
        gpu = device != "cpu" and len(with_cuda) == len(facts)
        self.devices = frozenset({"cpu", "cuda"} if gpu else {"cpu"})
        return self.devices

    # -- a run -------------------------------------------------------------
    def window(self) -> int:
        if self._window:
            return self._window
        return max(4, 2 * sum(self.client.nthreads().values()))

    def run(self, assignment: Assignment, jobs: list[Job]) -> Iterator[Graded]:
        distributed = self._distributed
        shipped = ShippedAssignment.pack(assignment)
        pending = iter(jobs)
        running: dict[str, tuple] = {}   # Dask key -> (submission id, future)
        done = distributed.as_completed(loop=self.client.loop)
        tag = uuid.uuid4().hex[:8]     # fresh keys: a rerun never picks up an older run's results

        def submit_more() -> None:
            limit = self.window()
            while len(running) < limit:
                job = next(pending, None)
                if job is None:
                    return
                submission, sid = job[0], job[1]
                key = f"rnnkit-grade-{submission.student[:40]}-{sid[:12]}-{tag}"
                future = self.client.submit(grade_shipped, shipped, *job, key=key, pure=False,
                                            retries=self.retries)
                running[future.key] = (sid, future)
                done.add(future)

        try:
            submit_more()
            for future in done:
                sid, _ = running.pop(future.key)
                try:
                    result, error = future.result()
                except (Exception, asyncio.CancelledError) as exc:  # killed workers past the limit, a broken one...
                    result, error = None, f"the Dask cluster could not grade it: {type(exc).__name__}: {exc}"
                future.release()
                del future
                submit_more()
                yield sid, result, error
        finally:
            if running:  # the caller stopped early: take back what is still queued
                done.clear()
                self.client.cancel([f for _, f in running.values()], force=True)
                running.clear()
            try:
                self.client.run(release_idle_children)
            except Exception:
                pass

