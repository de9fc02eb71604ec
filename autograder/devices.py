"""Which devices tests marked ``@pytest.mark.device(...)`` can run on here."""

from __future__ import annotations

CHOICES = ("auto", "cpu", "cuda")


class DeviceUnavailable(Exception):
    """``--device cuda`` was asked for where there is no CUDA device."""


def cuda_present() -> bool:
    try:
        import torch
    except ImportError:
        return False
    try:
        return bool(torch.cuda.is_available())
    except Exception:  # a broken driver install is "no CUDA", not a crash
        return False


def available(choice: str = "auto") -> frozenset:
    """``cpu`` always; ``cuda`` too with ``auto`` where one is present, or with ``cuda``
    (which fails plainly where none is, rather than grading without it)."""
    if choice not in CHOICES:
        raise ValueError(f"device must be one of {', '.join(CHOICES)}, not {choice!r}")
    if choice == "cpu":
        return frozenset({"cpu"})
    if cuda_present():
        return frozenset({"cpu", "cuda"})
    if choice == "cuda":
        raise DeviceUnavailable("--device cuda: no CUDA device is visible to PyTorch here "
                                "(check nvidia-smi and that torch is a CUDA build), or use --device auto")
    return frozenset({"cpu"})
