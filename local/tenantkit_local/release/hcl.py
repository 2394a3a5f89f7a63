"""Terraform files as blocks, parsed by python-hcl2.

The Terragrunt gate and the backend coverage check ask "which blocks does this module declare,
with which labels and literal attributes"; python-hcl2 parses the file (comments, heredocs and
strings are its business) and this module turns its dictionary into :class:`Block` trees.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2

__all__ = ["Block", "blocks", "module_blocks"]

_IS_BLOCK = "__is_block__"


@dataclass(frozen=True, slots=True)
class Block:
    type: str
    labels: tuple[str, ...]
    attributes: Mapping[str, Any] = field(default_factory=dict)
    children: tuple[Block, ...] = field(default=())

    def find(self, type_: str) -> list[Block]:
        return [c for c in self.children if c.type == type_]

    def literal(self, name: str) -> str | None:
        """The attribute ``name`` when it is a string literal (its quotes removed), else None."""
        value = self.attributes.get(name)
        if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
            return value[1:-1]
        return None


def _unquote(label: str) -> str:
    return label[1:-1] if len(label) >= 2 and label[0] == label[-1] == '"' else label


def _labelled(entry: Mapping[str, Any], labels: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Mapping[str, Any]]]:
    """python-hcl2 nests a block's labels as one-key dictionaries down to the body (``__is_block__``)."""
    if entry.get(_IS_BLOCK):
        yield labels, entry
        return
    for label, inner in entry.items():
        if isinstance(inner, Mapping):
            yield from _labelled(inner, (*labels, _unquote(label)))


def _body(type_: str, entries: list[Any]) -> list[Block] | None:
    """The blocks a body key holds, or None when the key is an attribute (a list of values)."""
    found: list[Block] = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            return None
        labelled = list(_labelled(entry, ()))
        if not labelled:
            return None
        for labels, body in labelled:
            found.append(_block(type_, labels, body))
    return found


def _block(type_: str, labels: tuple[str, ...], body: Mapping[str, Any]) -> Block:
    attributes: dict[str, Any] = {}
    children: list[Block] = []
    for key, value in body.items():
        if key.startswith("__"):
            continue
        nested = _body(key, value) if isinstance(value, list) and value else None
        if nested is None:
            attributes[key] = value
        else:
            children.extend(nested)
    return Block(type_, labels, attributes, tuple(children))


def blocks(text: str) -> list[Block]:
    """The top-level blocks of one file's ``text``, each with its nested blocks."""
    return _block("", (), {**hcl2.loads(text), _IS_BLOCK: True}).children


def module_blocks(directory: Path) -> list[Block]:
    """Top-level blocks of every ``*.tf`` file in ``directory`` (not recursive, as Terraform)."""
    found: list[Block] = []
    for path in sorted(directory.glob("*.tf")):
        found += blocks(path.read_text())
    return found
