"""``tenantkit query``: run one query-pack query on DuckDB over the local zones (dev-only).

A query is named ``<pack>/<name>`` or by its bare name when that is unique across packs.
Parameters come as ``--param name=value`` strings and are converted by the type the header
declares, then validated by the query pack (``Query.bind``). Any failure, from an unknown name
to SQL that sqlglot cannot transpile or DuckDB cannot run, raises :class:`QueryPackError`
whose message starts with the query it concerns.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from tenantkit_local.querypack import (
    QUERIES_DIR,
    Query,
    QueryPackError,
    all_queries,
    list_packs,
    load_query,
    pack_queries,
)
from tenantkit_local.texttable import render_table

FORMATS = ("table", "json", "csv")
_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no")


def resolve(name: str, root: Path = QUERIES_DIR) -> Query:
    """``pack/name``, or ``name`` alone when exactly one pack has it."""
    if "/" in name:
        return load_query(name, root)
    matches = [q for q in all_queries(root) if q.name == name]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise QueryPackError(name, "no such query (tenantkit query --list shows them)")
    raise QueryPackError(name, f"ambiguous: {', '.join(q.ref for q in matches)}; name the pack")


def parse_values(query: Query, pairs: Iterable[str]) -> dict[str, Any]:
    """``["from_dt=2026-11-27", "top_n=5"]`` -> typed values for ``query`` (validated by ``bind``)."""
    kinds = {p.name: p.type for p in query.parameters}
    values: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise QueryPackError(query.ref, f"--param {pair!r}: expected name=value")
        if key in values:
            raise QueryPackError(query.ref, f"--param {key} given twice")
        values[key] = _convert(query, key, kinds.get(key), text)
    query.bind(values)  # missing/unexpected names and bad values fail here, with the query's name
    return values


def _convert(query: Query, key: str, kind: str | None, text: str) -> Any:
    try:
        if kind == "integer":
            return int(text)
        if kind == "double":
            return float(text)
    except ValueError:
        raise QueryPackError(query.ref, f"parameter {key} must be {'an integer' if kind == 'integer' else 'a number'}, "
                                        f"got {text!r}") from None
    if kind == "boolean":
        if text.lower() in _TRUE + _FALSE:
            return text.lower() in _TRUE
        raise QueryPackError(query.ref, f"parameter {key} must be true or false, got {text!r}")
    return text


def run(root: Path | str, query: Query, values: Mapping[str, Any] | None = None,
        engine: Any = None) -> tuple[list[str], list[tuple]]:
    """Columns and rows of ``query`` on DuckDB over ``root`` (pass ``engine`` to reuse a connection)."""
    import duckdb

    from tenantkit_local.duckdb_engine import DuckDBEngine

    own = engine is None
    try:
        engine = engine or DuckDBEngine(root)
    except duckdb.Error as exc:
        raise QueryPackError(query.ref, f"DuckDB could not open the audit zones under {root}: {exc}") from None
    try:
        return engine.fetch(query, values or {})
    except duckdb.Error as exc:
        raise QueryPackError(query.ref, f"DuckDB could not run the transpiled SQL: {exc}") from None
    finally:
        if own:
            engine.close()


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def display(value: Any, column: str = "") -> str:
    """A cell for a text table: timestamps to the minute, rates as percentages, 1-3 decimals."""
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, float):
        if column.endswith(("_rate", "share_of_requests")):
            return f"{value * 100:.1f}%"
        return f"{value:.1f}" if abs(value) >= 100 else f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"
    return str(value)


def text_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    return render_table(columns, [[display(v, c) for v, c in zip(row, columns, strict=True)] for row in rows])


def render(columns: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str) -> str:
    if fmt == "json":
        return json.dumps([{c: jsonable(v) for c, v in zip(columns, row, strict=True)} for row in rows], indent=2)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([jsonable(v) for v in row] for row in rows)
        return out.getvalue().rstrip("\n")
    if fmt == "table":
        return text_table(columns, rows)
    raise ValueError(f"unknown format {fmt!r} (use {', '.join(FORMATS)})")


def list_text(root: Path = QUERIES_DIR) -> str:
    """Every pack and query with its parameters, table and panel."""
    lines: list[str] = []
    for pack in list_packs(root):
        lines.append(f"{pack}/")
        for query in pack_queries(pack, root):
            params = ", ".join(f"{p.name}:{p.type}" for p in query.parameters) or "(none)"
            lines.append(f"  {query.name}  ({params})")
            lines.append(f"      reads {', '.join(query.tables)}; panel: {query.panel or '(none)'}")
    return "\n".join(lines)
