"""Start the submission's child process inside bubblewrap, as an unprivileged user.

What the child gets (see docs/grading.md for the full list and what differs without root):
- its own user, mount, PID, network, IPC, UTS and cgroup namespaces; no network at all;
- a root filesystem of read-only binds: ``/usr``, the Python interpreter and its
  packages, the engine's ``autograder`` package, and the one submission (at
  ``/submission``); a size-limited tmpfs at ``/tmp`` as its working directory;
- a cleared environment; resource limits; a memory and process-count control group
  where the host has one (else an address-space limit);
- when the grader runs as root: a UID of its own (one per live sandbox, so the
  process-count limit is per sandbox), with every capability dropped before bwrap runs.

The child's whole tree dies with it: bwrap is the PID namespace's init, so killing
it (or the grader dying, through PR_SET_PDEATHSIG) kills every process inside.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import autograder
from autograder import cgroups
from autograder.processes import kill_until_gone, processes_of

BWRAP = "bwrap"
UID_BASE = int(os.environ.get("RNNKIT_SANDBOX_UID_BASE", "61000"))
MAX_SLOTS = 512
SUBMISSION_MOUNT = "/submission"
HOST_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")

CLONE_NEWNS = 0x00020000
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18
PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


class SandboxUnavailable(Exception):
    """bwrap cannot run here; the message says why and how to fix it."""


class SandboxFailure(Exception):
    """A sandbox did not start. The grader's fault, never the student's: retry, never score."""


def die_with_parent() -> None:
    """In a forked child: have the kernel SIGKILL it when its parent (the grader) dies,
    even by SIGKILL. Must come after any change of UID, which clears it."""
    _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


# ---------------------------------------------------------------------------
# one UID per live sandbox


class Slot:
    """A numbered lock held while one child lives; its UID is ``UID_BASE + index``. Root only.

    The lock is a file lock, so concurrent workers and concurrent ``grade`` runs never
    share a UID, and a killed grader's slots free themselves. The lock folder is root's
    own (``/run``, not a world-writable ``/tmp`` where another user could plant links or
    delete held locks). Whatever still runs as a slot's UID when it is taken (left by a
    grader that was killed) is killed first.
    """

    folder = Path(os.environ.get("RNNKIT_SLOT_DIR", "/run/rnnkit-sandbox-slots"))

    def __init__(self):
        _check_private_folder(self.folder)
        for index in range(MAX_SLOTS):
            fd = os.open(self.folder / f"{index}.lock",
                         os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            self.index, self.uid, self._fd = index, UID_BASE + index, fd
            kill_uid(self.uid)
            return
        raise SandboxFailure(f"all {MAX_SLOTS} sandbox slots are busy")

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _check_private_folder(folder: Path) -> None:
    """Make ``folder`` (0755, root's), or check that the one there is root's and not a link."""
    try:
        folder.mkdir(mode=0o755)
    except FileExistsError:
        pass
    except OSError as exc:
        raise SandboxFailure(f"cannot create the sandbox slot folder {folder}: {exc}") from None
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != 0 or info.st_mode & 0o022:
        raise SandboxFailure(f"{folder} must be a folder owned by root and writable only by root; "
                             "remove it and grade again")


def kill_uid(uid: int) -> None:
    """SIGKILL every process that runs as ``uid`` (a sandbox's leftovers, in root mode)."""
    kill_until_gone(lambda: processes_of(uid))


# ---------------------------------------------------------------------------
# the launcher


@dataclass
class _Live:
    slot: Slot | None
    group: cgroups.Cgroup | None
    stage: str | None


class BwrapLauncher:
    """Starts :mod:`autograder.worker` inside bubblewrap (see the module's docstring)."""

    name = "bwrap"
    reports_signals_as_status = True

    def __init__(self, gpu: bool = False):
        self.as_root = os.geteuid() == 0
        self.gpu = gpu
        self._live: dict[int, _Live] = {}

    # -- what the child sees -----------------------------------------------
    @staticmethod
    def exposed_paths() -> list[str]:
        """Host paths bound read-only at the same place: interpreter, packages, engine."""
        engine = str(Path(autograder.__file__).resolve().parent)
        paths = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix), engine}
        paths = {p for p in paths if not p.startswith("/usr/")}
        return sorted(paths, key=lambda p: (p.count("/"), p))

    def command(self, modules: list[str], limits, binds: list[tuple[str, str]]) -> list[str]:
        # By absolute path: the cleared environment's PATH may not reach where bwrap lives.
        cmd = [shutil.which(BWRAP) or BWRAP, "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent",
               "--new-session", "--clearenv", "--hostname", "sandbox",
               "--ro-bind", "/usr", "/usr"]
        for link in HOST_LINKS:
            if os.path.islink(link):
                cmd += ["--symlink", os.readlink(link), link]
            elif os.path.isdir(link):
                cmd += ["--ro-bind", link, link]
        cmd += ["--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache",
                "--proc", "/proc", "--dev", "/dev"]
        for writable in ("/tmp", "/dev/shm"):  # the only writable places, both size-limited
            cmd += ["--size", str(limits.scratch_mb * 1024 * 1024), "--tmpfs", writable]
        cmd += ["--chdir", "/tmp"]
        for source, target in binds:
            cmd += ["--ro-bind", source, target]
        if self.gpu:
            cmd += gpu_arguments()
        cmd += ["--remount-ro", "/"]  # the root bwrap builds is a tmpfs of unlimited size
        for key, value in _environment(limits, self.gpu).items():
            cmd += ["--setenv", key, value]
        python = os.path.join(sys.prefix, "bin", "python3") if sys.prefix != sys.base_prefix else sys.executable
        return cmd + ["--", python, "-I", "-B", "-m", "autograder.worker", SUBMISSION_MOUNT, *modules]

    # -- starting and stopping ------------------------------------------------
    def start(self, submission_dir: str, modules: list[str], limits, scratch: str, stderr):
        if shutil.which(BWRAP) is None:
            raise SandboxUnavailable(diagnose("bwrap: command not found"))
        slot = Slot() if self.as_root else None
        group = None
        if self.as_root:
            group = cgroups.create(f"rnnkit-{slot.index}", limits.memory_mb * 1024 * 1024, limits.processes)
        stage = None
        targets = [*self.exposed_paths(), submission_dir]
        if self.as_root:
            # The sandbox UID may not be able to reach these paths (a Python under /root,
            # a 0700 scratch folder). Bind each onto an empty folder it can reach, in a
            # mount namespace private to this child, and let bwrap bind from there.
            stage = tempfile.mkdtemp(prefix="rnnkit-stage-", dir=scratch)
            os.chmod(scratch, 0o711)
            os.chmod(stage, 0o755)
            sources = []
            for i, path in enumerate(targets):
                os.mkdir(os.path.join(stage, str(i)), 0o755)
                sources.append(os.path.join(stage, str(i)))
            _make_readable(submission_dir)
        else:
            sources = list(targets)
        binds = list(zip(sources, targets[:-1] + [SUBMISSION_MOUNT]))
        preexec = _Preexec(limits, slot.uid if slot else None, group,
                           list(zip(targets, sources)) if stage else [], self.gpu)
        try:
            popen = subprocess.Popen(self.command(modules, limits, binds),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                                     cwd="/", env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
                                     start_new_session=True, preexec_fn=preexec)
        except (OSError, subprocess.SubprocessError) as exc:
            self._cleanup(_Live(slot, group, stage))
            raise SandboxFailure(f"could not start bwrap: {exc}") from None
        self._live[popen.pid] = _Live(slot, group, stage)
        return popen

    isolates_children = True  # each sandbox: its own namespaces, tmpfs and (as root) UID

    def install(self, popen, source: str, target: str) -> None:
        """Copy a submission into a prestarted sandbox's submission folder (bound read-only
        at /submission, so the child sees the files as they arrive)."""
        shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True)
        _make_readable(target)

    def out_of_memory(self, popen) -> bool:
        live = self._live.get(popen.pid)
        return bool(live and live.group and live.group.out_of_memory())

    def stopped(self, popen) -> None:
        """The child was killed or exited: make sure nothing of it is left, free its slot."""
        live = self._live.pop(popen.pid, None)
        if live is not None:
            self._cleanup(live)

    def _cleanup(self, live: _Live) -> None:
        if live.group is not None:
            live.group.remove()
        if live.slot is not None:
            kill_uid(live.slot.uid)
            live.slot.release()
        if live.stage is not None:
            shutil.rmtree(live.stage, ignore_errors=True)


def _environment(limits, gpu: bool = False) -> dict[str, str]:
    env = {"HOME": "/tmp", "TMPDIR": "/tmp", "LANG": "C.UTF-8", "PATH": "/usr/bin:/bin",
           "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
           "RNNKIT_MAX_PROCESSES": str(limits.processes)}
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    if gpu:  # where the driver's libraries are, and which GPUs this grader may use
        for var in GPU_ENVIRONMENT:
            if os.environ.get(var):
                env[var] = os.environ[var]
    return env


GPU_ENVIRONMENT = ("LD_LIBRARY_PATH", "CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES")
# Outside /usr (which is bound already): where container images keep the NVIDIA driver.
GPU_LIBRARY_FOLDERS = ("/usr/local/nvidia", "/usr/local/cuda", "/opt/nvidia", "/run/nvidia")


def gpu_arguments() -> list[str]:
    """bwrap arguments that let the child use the host's NVIDIA GPUs: the device nodes
    (read-write, as CUDA needs) and the driver's library folders (read-only). The
    child still has no network and sees no other host file."""
    args = []
    for node in sorted(Path("/dev").glob("nvidia*")):
        if node.is_dir():  # /dev/nvidia-caps holds capability nodes
            args += ["--dev-bind", str(node), str(node)]
        elif node.is_char_device():
            args += ["--dev-bind", str(node), str(node)]
    for folder in GPU_LIBRARY_FOLDERS:
        if os.path.isdir(folder) and not os.path.realpath(folder).startswith("/usr/"):
            args += ["--ro-bind", folder, folder]
    for path in os.environ.get("LD_LIBRARY_PATH", "").split(":"):
        if path and os.path.isdir(path) and not os.path.realpath(path).startswith("/usr/"):
            args += ["--ro-bind-try", path, path]
    return args


def _make_readable(folder: str) -> None:
    """The submission's copy is written by the grader; the sandbox UID must be able to read it."""
    for root, dirs, files in os.walk(folder):
        os.chmod(root, 0o755)
        for name in files:
            os.chmod(os.path.join(root, name), 0o644)


class _Preexec:
    """Runs in the forked child before bwrap: private mounts, cgroup, drop to the slot's UID,
    die with the grader, resource limits. Everything here is imported in advance: a forked
    child must not import."""

    def __init__(self, limits, uid, group, stage_binds, gpu=False):
        self.limits, self.uid, self.group, self.stage_binds = limits, uid, group, stage_binds
        self.gpu = gpu  # CUDA reserves far more address space than it uses: no RLIMIT_AS
        self.parent = os.getpid()

    def __call__(self):
        if self.stage_binds:
            _check(_libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
            _check(_libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
            for source, stage in self.stage_binds:
                _check(_libc.mount(os.fsencode(source), os.fsencode(stage), None, MS_BIND | MS_REC, None),
                       f"bind {source}")
        if self.group is not None:
            self.group.join(os.getpid())
        if self.uid is not None:
            os.setgroups([])
            os.setresgid(self.uid, self.uid, self.uid)
            os.setresuid(self.uid, self.uid, self.uid)
        die_with_parent()
        if os.getppid() != self.parent:
            os._exit(1)  # the grader died while we were starting
        limits = self.limits
        cpu = int(limits.submission_timeout_s) + 5
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
        size = limits.file_size_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if self.group is None and not self.gpu:  # no cgroup: an address-space limit per process
            memory = limits.memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        if self.uid is not None:  # counts this UID's processes: only this sandbox's
            resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))


SANDBOXES = ("bwrap", "process")


def make_launcher(sandbox: str, gpu: bool = False):
    """The launcher for a ``--sandbox`` choice: "bwrap" (checked to work here) or "process";
    with ``gpu``, its children can use the host's NVIDIA GPUs."""
    if sandbox == "bwrap":
        probe()
        return BwrapLauncher(gpu=gpu)
    if sandbox == "process":
        from autograder.student import ProcessLauncher

        return ProcessLauncher(gpu=gpu)
    raise ValueError(f"unknown sandbox {sandbox!r} (choose from {', '.join(SANDBOXES)})")


# ---------------------------------------------------------------------------
# can it run here?


def diagnose(error: str) -> str:
    """Why bwrap failed, for the person who runs ``grade``, with the fix."""
    error = error.strip()
    lines = [f"The grading sandbox (bubblewrap) cannot run on this machine: {error[-500:]}"]
    if "not found" in error or shutil.which(BWRAP) is None:
        lines.append("Install it: `apt-get install bubblewrap` (Debian, Ubuntu), `dnf install bubblewrap` "
                     "(Fedora), `pacman -S bubblewrap` (Arch).")
    else:
        restrict = Path("/proc/sys/kernel/apparmor_restrict_unprivileged_userns")
        max_ns = Path("/proc/sys/user/max_user_namespaces")
        if restrict.exists() and restrict.read_text().strip() == "1":
            lines.append("AppArmor blocks unprivileged user namespaces here (Ubuntu 24.04 and later). "
                         "Allow them for bwrap with an AppArmor profile (see docs/grading.md), or for "
                         "everything with `sysctl kernel.apparmor_restrict_unprivileged_userns=0`.")
        elif max_ns.exists() and max_ns.read_text().strip() == "0":
            lines.append("User namespaces are disabled: `sysctl user.max_user_namespaces=15000`.")
        else:
            lines.append("User namespaces seem to be blocked (inside a container, allow them, e.g. "
                         "Docker's `--security-opt seccomp=unconfined --security-opt apparmor=unconfined`).")
    lines.append("Or grade without the sandbox with `--sandbox=process` (weaker: student code runs as "
                 "your user, can read your files and reach the network; every result records it).")
    return "\n".join(lines)


_probed: dict[str, str] = {}


def probe() -> None:
    """Raise :class:`SandboxUnavailable` unless a bwrap sandbox starts here (checked once)."""
    if "bwrap" not in _probed:
        _probed["bwrap"] = _try_sandbox()
    if _probed["bwrap"]:
        raise SandboxUnavailable(diagnose(_probed["bwrap"]))


def _try_sandbox() -> str:
    """'' if a trivial sandbox runs, else its error."""
    from autograder.student import Limits

    if shutil.which(BWRAP) is None:
        return "bwrap: command not found"
    launcher = BwrapLauncher()
    scratch = tempfile.mkdtemp(prefix="rnnkit-probe-")
    empty = os.path.join(scratch, "submission")
    os.mkdir(empty)
    try:
        with open(os.path.join(scratch, ".stderr"), "w+b") as stderr:
            try:
                popen = launcher.start(empty, [], Limits(), scratch, stderr)
            except SandboxFailure as exc:
                return str(exc)
            try:
                out, _ = popen.communicate(timeout=60)
                code = popen.returncode
            except subprocess.TimeoutExpired:
                os.killpg(popen.pid, signal.SIGKILL)
                popen.wait()
                return "a test sandbox did not finish within 60 s"
            finally:
                launcher.stopped(popen)
            stderr.seek(0)
            if code != 0 or not out:
                return stderr.read().decode("utf-8", "replace") or f"bwrap exited with status {code}"
            return ""
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
