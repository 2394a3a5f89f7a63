"""The one plain-text table every command prints: left-aligned columns two spaces apart, a
dashed rule under the header, no trailing spaces."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["render_table"]


def render_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    body = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in [list(header), *body]) for i in range(len(header))]
    rule = ["-" * width for width in widths]
    return "\n".join("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip()
                     for row in [list(header), rule, *body])
