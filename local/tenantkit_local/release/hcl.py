"""Just enough HCL to count blocks: comments, strings and heredocs skipped, braces matched.

The Terragrunt gate and the backend coverage check need "which blocks does this file declare",
not expression semantics, so a small scanner avoids a parser dependency (python-hcl2 pins its
own grammar and lags Terraform's syntax).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

_HEADER = re.compile(r'(?m)^[ \t]*([A-Za-z_][\w-]*)((?:[ \t]+(?:"[^"\n]*"|[A-Za-z_][\w-]*))*)[ \t]*\{')
_LABEL = re.compile(r'"([^"\n]*)"|([A-Za-z_][\w-]*)')
_HEREDOC = re.compile(r"<<-?([A-Za-z_]\w*)[ \t]*\n")


@dataclass(frozen=True, slots=True)
class Block:
    type: str
    labels: tuple[str, ...]
    body: str
    children: tuple[Block, ...] = field(default=())

    def find(self, type_: str) -> list[Block]:
        return [c for c in self.children if c.type == type_]


def sanitize(text: str) -> str:
    """Comments and heredocs removed; braces inside strings neutralized (quotes kept)."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "#" or text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif ch == "<" and (m := _HEREDOC.match(text, i)):
            end = re.compile(rf"(?m)^[ \t]*{re.escape(m.group(1))}[ \t]*$").search(text, m.end())
            out.append('""')
            i = n if end is None else end.end()
        elif ch == '"':
            i = _string(text, i, out)
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _string(text: str, i: int, out: list[str]) -> int:
    """Copy the string starting at ``text[i]`` (a quote), braces masked; return the index after it."""
    out.append('"')
    i += 1
    depth = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            out.append("__")
            i += 2
            continue
        if text.startswith("${", i) or text.startswith("%{", i):
            depth += 1
            out.append("$(")
            i += 2
            continue
        if depth and ch == '"':  # a string nested in an interpolation
            inner: list[str] = []
            i = _string(text, i, inner)
            out.append("".join(inner).replace('"', "'"))
            continue
        if depth and ch == "}":
            depth -= 1
            out.append(")")
        elif ch == '"' and not depth:
            out.append('"')
            return i + 1
        else:
            out.append({"{": "(", "}": ")", "\n": " "}.get(ch, ch))
        i += 1
    return i


def blocks(text: str) -> list[Block]:
    """Top-level blocks of sanitized ``text``, each with its nested blocks."""
    result, pos = [], 0
    while (m := _HEADER.search(text, pos)) is not None:
        depth, j = 1, m.end()
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        body = text[m.end(): j - 1]
        labels = tuple(a or b for a, b in _LABEL.findall(m.group(2)))
        result.append(Block(m.group(1), labels, body, tuple(blocks(body))))
        pos = j
    return result


def module_blocks(directory: Path) -> list[Block]:
    """Top-level blocks of every ``*.tf`` file in ``directory`` (not recursive, as Terraform)."""
    found: list[Block] = []
    for path in sorted(directory.glob("*.tf")):
        found += blocks(sanitize(path.read_text()))
    return found
