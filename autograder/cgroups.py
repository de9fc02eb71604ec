"""Memory and process-count limits for one sandboxed child, through a control group.

A control group limits the child's whole process tree together (eight forks that
each allocate memory share one limit), does not stop ``import torch`` the way a
tight address-space limit does, and tells afterwards whether the kernel killed the
child for memory. It needs a writable hierarchy: cgroup v1 ``memory``/``pids``
controllers, or a cgroup v2 subtree where those controllers can be enabled (as root,
or where the service manager delegates one). Where neither exists, :func:`create`
returns None and the launcher falls back to resource limits.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from autograder.processes import kill_until_gone

ROOT = Path("/sys/fs/cgroup")


@dataclass
class Cgroup:
    """One group per live sandbox, in one directory per hierarchy (v1) or a single one (v2)."""

    dirs: list[Path]
    memory_dir: Path
    version: int
    _oom_before: int = field(default=0)

    @property
    def procs_files(self) -> list[str]:
        return [str(d / "cgroup.procs") for d in self.dirs]

    def join(self, pid: int) -> None:
        """Move ``pid`` in; called in the child before it drops privileges."""
        for path in self.procs_files:
            with open(path, "w") as f:
                f.write(str(pid))

    def out_of_memory(self) -> bool:
        """Whether the kernel's OOM killer fired inside the group since it was made."""
        return self._oom_kills() > self._oom_before

    def _oom_kills(self) -> int:
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        try:
            for line in (self.memory_dir / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        except (OSError, ValueError):
            pass
        return 0

    def members(self) -> set[int]:
        pids = set()
        for path in self.procs_files:
            try:
                pids |= {int(p) for p in Path(path).read_text().split()}
            except OSError:
                pass
        return pids

    def kill_all(self) -> None:
        """SIGKILL every process still in the group (a child that escaped its session)."""
        kill_until_gone(self.members)

    def remove(self) -> None:
        self.kill_all()
        for d in self.dirs:
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)


def _own_path(controller: str | None) -> str:
    """This process's cgroup path in the v1 hierarchy of ``controller``, or in v2 (None)."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if (controller is None and controllers == "") or controller in controllers.split(","):
            return path.lstrip("/")
    raise LookupError(controller)


def _write(path: Path, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def create(name: str, memory_bytes: int, max_processes: int) -> Cgroup | None:
    """A fresh group named ``name`` with the two limits, or None where the host allows none."""
    for make in (_create_v1, _create_v2):
        try:
            group = make(name, memory_bytes, max_processes)
        except (OSError, LookupError, ValueError):
            continue
        if group is not None:
            group._oom_before = group._oom_kills()
            return group
    return None


def _create_v1(name, memory_bytes, max_processes) -> Cgroup | None:
    memory_root, pids_root = ROOT / "memory", ROOT / "pids"
    if not (memory_root / "memory.limit_in_bytes").exists() or not (pids_root / "cgroup.procs").exists():
        return None
    memory = memory_root / _own_path("memory") / name
    pids = pids_root / _own_path("pids") / name
    made = []
    try:
        for d in (memory, pids):
            d.mkdir(exist_ok=True)
            made.append(d)
        _write(memory / "memory.limit_in_bytes", str(memory_bytes))
        if (memory / "memory.memsw.limit_in_bytes").exists():  # swap counts too, where accounted
            _write(memory / "memory.memsw.limit_in_bytes", str(memory_bytes))
        _write(pids / "pids.max", str(max_processes))
    except OSError:
        for d in reversed(made):
            _rmdir_quietly(d)
        raise
    return Cgroup([memory, pids], memory, 1)


def _create_v2(name, memory_bytes, max_processes) -> Cgroup | None:
    if not (ROOT / "cgroup.controllers").exists():
        return None
    parent = ROOT / _own_path(None)
    wanted = {"memory", "pids"}
    if not wanted <= set((parent / "cgroup.subtree_control").read_text().split()):
        _write(parent / "cgroup.subtree_control", " ".join("+" + c for c in sorted(wanted)))
    group = parent / name
    group.mkdir(exist_ok=True)
    try:
        _write(group / "memory.max", str(memory_bytes))
        if (group / "memory.swap.max").exists():
            _write(group / "memory.swap.max", "0")
        _write(group / "pids.max", str(max_processes))
    except OSError:
        _rmdir_quietly(group)
        raise
    return Cgroup([group], group, 2)


def _rmdir_quietly(path: Path) -> None:
    try:
        path.rmdir()
    except OSError:
        pass
