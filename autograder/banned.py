"""Reading a submission's source for APIs an assignment forbids.

An assignment lists dotted names (``torch.nn.LSTM``, ``torch._VF``). A use is any
expression that names one of them, or something inside it, through the
submission's own imports and aliases: ``nn.LSTM`` after ``from torch import nn``,
``torch._VF.lstm``, ``from torch.nn import LSTM as L``, ``import torch._VF``. Where
the grader has the library loaded, a dotted path is also resolved to its object,
so ``torch.nn.modules.rnn.LSTM`` is the same as ``torch.nn.LSTM``. A string that
spells a banned name (``getattr(torch, "_VF")``, ``import_module("torch._VF")``)
counts too: there is no honest reason to write one.

This runs in the grader on the submission's text; it never imports or runs it.
The child's tripwires (:mod:`autograder.tripwires`) catch what reading cannot.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Use:
    file: str
    line: int
    api: str
    text: str

    def describe(self) -> str:
        return f"{self.file}, line {self.line}: {self.text} uses {self.api}"


def scan_files(folder: Path, files: list[str], apis: list[str]) -> list[Use]:
    uses = []
    for name in files:
        path = Path(folder) / name
        try:
            source = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        uses += scan(source, apis, name)
    return uses


def scan(source: str, apis: list[str], file: str = "<source>") -> list[Use]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []  # the submission will not load; that failure speaks for itself
    lines = source.splitlines()
    matcher = _Matcher(apis)
    aliases: dict[str, str] = {}
    uses: list[Use] = []

    def report(node, api):
        text = lines[node.lineno - 1].strip() if 0 < node.lineno <= len(lines) else ""
        use = Use(file, node.lineno, api, text[:120])
        if use not in uses:
            uses.append(use)

    for node in ast.walk(tree):  # imports first, wherever they are
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    aliases[alias.asname] = alias.name
                else:
                    root = alias.name.split(".")[0]
                    aliases.setdefault(root, root)
                if (api := matcher.match(alias.name)):
                    report(node, api)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                aliases[alias.asname or alias.name] = full
                if (api := matcher.match(full)):
                    report(node, api)

    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) or isinstance(node, ast.Name):
            dotted = _dotted(node, aliases)
            if dotted and (api := matcher.match(dotted)):
                report(node, api)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if (api := matcher.match_string(node.value)):
                report(node, api)
    return sorted(uses, key=lambda u: (u.file, u.line))


def _dotted(node, aliases) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in aliases:
        return None
    return ".".join([aliases[node.id], *reversed(parts)])


class _Matcher:
    def __init__(self, apis: list[str]):
        self.apis = list(apis)
        self.leaves = {api.rsplit(".", 1)[-1]: api for api in apis}
        self.objects = {}
        for api in apis:
            obj = _resolve(api)
            if obj is not None:
                self.objects[id(obj)] = (obj, api)

    def match(self, dotted: str) -> str | None:
        for api in self.apis:
            if dotted == api or dotted.startswith(api + "."):
                return api
        obj = _resolve(dotted)
        if obj is not None:
            hit = self.objects.get(id(obj))
            if hit is not None and hit[0] is obj:
                return hit[1]
        return None

    def match_string(self, text: str) -> str | None:
        if text in self.apis:
            return text
        # a bare leaf such as "_VF" or "LSTM" only counts if it is unusual enough to
        # mean the API (a private name), or spelled as a path into the library
        leaf_api = self.leaves.get(text)
        if leaf_api and text.startswith("_"):
            return leaf_api
        return self.match(text) if "." in text else None


def _resolve(dotted: str):
    """The object ``dotted`` names, found only through modules the grader has already
    loaded (nothing is imported for this)."""
    root, *rest = dotted.split(".")
    obj = sys.modules.get(root)
    if obj is None:
        return None
    for part in rest:
        try:
            obj = getattr(obj, part)
        except Exception:
            return None
    return obj
