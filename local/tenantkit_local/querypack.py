"""Query packs: ``queries/<pack>/<name>.sql``, one Athena (Trino) statement per file (dev-only).

Each file opens with a metadata header in SQL comments, then holds exactly one statement with
``?`` execution parameters in the order the header lists them::

    -- name: compact_audit_partition          (required; equals the file name without .sql)
    -- description: what it answers           (required; indented "--   " lines continue it)
    -- table: audit_raw                       (required; comma-separated tables it reads)
    -- panel: (none)                          (optional; the dashboard panel it feeds)
    -- parameters:                            (required; "(none)" or one indented line each)
    --   dt: date   -- the partition to compact

Parameter types: ``date`` (YYYY-MM-DD), ``string``, ``integer``, ``double``, ``boolean``.
A pack is a sub-folder of ``queries/``. Terraform deploys the files as Athena named queries;
the local engine (``duckdb_engine``) transpiles the same text to DuckDB. Loading validates a
query fully: header keys, name, placeholder count (comments and string literals excluded),
one statement, ``?`` only in WHERE clauses (Athena's rule), tables read = tables declared.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from tenantkit.exceptions import TenantkitError
from tenantkit_local import PROJECT_ROOT

QUERIES_DIR = PROJECT_ROOT / "queries"
PARAMETER_TYPES = ("date", "string", "integer", "double", "boolean")
_KEYS = ("name", "description", "table", "panel", "parameters")
_REQUIRED = ("name", "description", "table", "parameters")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,127}\Z")
_KEY_LINE = re.compile(r"^--\s?(?P<key>[a-z_]+):\s*(?P<value>.*?)\s*$")
_PARAM_LINE = re.compile(r"^--\s{2,}(?P<name>[a-z_][a-z0-9_]*)\s*:\s*(?P<type>[a-z]+)\s*(?:--\s*(?P<desc>.*?))?\s*$")
_CONTINUATION = re.compile(r"^--\s{2,}(?P<text>\S.*?)\s*$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}\Z")
_NONE = "(none)"


class QueryPackError(TenantkitError, ValueError):
    """A query file is malformed; the message starts with the query it concerns."""

    def __init__(self, where: str | Path, problem: str) -> None:
        self.where = str(where)
        self.problem = problem
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    description: str = ""


@dataclass(frozen=True)
class Query:
    pack: str
    name: str
    description: str
    tables: tuple[str, ...]
    panel: str | None
    parameters: tuple[Parameter, ...]
    sql: str  # the statement: header stripped, no trailing semicolon
    path: Path

    @property
    def ref(self) -> str:
        return f"{self.pack}/{self.name}"

    def bind(self, values: Mapping[str, Any]) -> list[Any]:
        """Validated values in placeholder order (dates as 'YYYY-MM-DD' strings, like partition keys)."""
        missing = [p.name for p in self.parameters if p.name not in values]
        extra = sorted(set(values) - {p.name for p in self.parameters})
        if missing or extra:
            raise QueryPackError(self.ref, f"parameters missing {missing or '[]'}, unexpected {extra or '[]'}")
        return [_coerce(self.ref, p, values[p.name]) for p in self.parameters]

    def athena_parameters(self, values: Mapping[str, Any]) -> list[str]:
        """The same values as SQL literals, which is what Athena's ExecutionParameters take."""
        return [_literal(p, value) for p, value in zip(self.parameters, self.bind(values), strict=True)]


def list_packs(root: Path = QUERIES_DIR) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def pack_queries(pack: str, root: Path = QUERIES_DIR) -> list[Query]:
    folder = root / pack
    if not folder.is_dir():
        raise QueryPackError(pack, f"no query pack {pack!r} under {root}")
    return [parse_query(path, pack=pack) for path in sorted(folder.glob("*.sql"))]


def all_queries(root: Path = QUERIES_DIR) -> list[Query]:
    return [query for pack in list_packs(root) for query in pack_queries(pack, root)]


def load_query(ref: str, root: Path = QUERIES_DIR) -> Query:
    """``<pack>/<name>``, e.g. ``compaction/compact_audit_partition``."""
    pack, _, name = ref.partition("/")
    if not pack or not _NAME.match(name):
        raise QueryPackError(ref, "expected <pack>/<name>")
    path = root / pack / f"{name}.sql"
    if not path.is_file():
        raise QueryPackError(ref, f"no such query file {path}")
    return parse_query(path, pack=pack)


def parse_query(path: Path, *, pack: str | None = None, text: str | None = None) -> Query:
    pack = pack or path.parent.name
    where = f"{pack}/{path.stem}"
    source = path.read_text(encoding="utf-8") if text is None else text
    header, body = _split(source)
    fields, parameters = _parse_header(where, header)
    if fields["name"] != path.stem:
        raise QueryPackError(where, f"header name {fields['name']!r} differs from the file name")
    sql = body.strip().removesuffix(";").rstrip()
    if not sql:
        raise QueryPackError(where, "no SQL statement after the header")
    panel = fields.get("panel") or None
    query = Query(pack=pack, name=fields["name"], description=fields["description"],
                  tables=tuple(t.strip() for t in fields["table"].split(",") if t.strip()),
                  panel=None if panel == _NONE else panel, parameters=parameters, sql=sql, path=path)
    _check_statement(query)
    return query


def placeholder_count(sql: str, *, where: str = "<sql>") -> int:
    """``?`` tokens outside comments, string literals and quoted identifiers."""
    import sqlglot
    from sqlglot.tokens import TokenType

    try:
        return sum(token.token_type == TokenType.PLACEHOLDER for token in sqlglot.tokenize(sql, read="athena"))
    except sqlglot.errors.TokenError as exc:
        raise QueryPackError(where, f"cannot tokenize: {exc}") from None


def _split(source: str) -> tuple[list[str], str]:
    lines = source.splitlines()
    count = 0
    while count < len(lines) and lines[count].lstrip().startswith("--"):
        count += 1
    return [line.strip() for line in lines[:count]], "\n".join(lines[count:])


def _parse_header(where: str, lines: list[str]) -> tuple[dict[str, str], tuple[Parameter, ...]]:
    fields: dict[str, str] = {}
    parameters: list[Parameter] = []
    current: str | None = None
    for line in lines:
        if current == "parameters" and (match := _PARAM_LINE.match(line)):
            name, kind = match["name"], match["type"]
            if kind not in PARAMETER_TYPES:
                known = ", ".join(PARAMETER_TYPES)
                raise QueryPackError(where, f"parameter {name}: unknown type {kind!r} (use {known})")
            if any(p.name == name for p in parameters):
                raise QueryPackError(where, f"parameter {name} listed twice")
            parameters.append(Parameter(name, kind, match["desc"] or ""))
        elif current == "description" and (match := _CONTINUATION.match(line)):
            fields["description"] += " " + match["text"]
        elif match := _KEY_LINE.match(line):
            key, value = match["key"], match["value"]
            if key not in _KEYS:
                raise QueryPackError(where, f"unknown header key {key!r} (known: {', '.join(_KEYS)})")
            if key in fields:
                raise QueryPackError(where, f"header key {key!r} given twice")
            if key == "parameters" and value not in ("", _NONE):
                raise QueryPackError(where, "list parameters on indented lines below 'parameters:', or write (none)")
            fields[key], current = value, key
        elif line.strip("- "):
            raise QueryPackError(where, f"unreadable header line {line!r}")
    missing = [key for key in _REQUIRED if key not in fields or (key != "parameters" and not fields[key])]
    if missing:
        raise QueryPackError(where, f"header lacks {', '.join(missing)}")
    if not _NAME.match(fields["name"]):
        raise QueryPackError(where, f"name {fields['name']!r} must be snake_case")
    return fields, tuple(parameters)


def _check_statement(query: Query) -> None:
    import sqlglot
    from sqlglot import exp

    placeholders = placeholder_count(query.sql, where=query.ref)
    if placeholders != len(query.parameters):
        raise QueryPackError(query.ref, f"{placeholders} '?' placeholder(s) but {len(query.parameters)} "
                                        "parameter(s) in the header")
    try:
        statements = [s for s in sqlglot.parse(query.sql, read="athena") if s is not None]
    except sqlglot.errors.ParseError as exc:
        raise QueryPackError(query.ref, f"not valid Athena SQL: {exc}") from None
    if len(statements) != 1:
        raise QueryPackError(query.ref, f"expected one statement, found {len(statements)}")
    tree = statements[0]
    for node in tree.find_all(exp.Placeholder):
        if node.find_ancestor(exp.Where) is None:
            raise QueryPackError(query.ref, "Athena accepts '?' parameters only in WHERE clauses")
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    read = {t.name for t in tree.find_all(exp.Table) if t.name and t.name not in ctes}
    if read != set(query.tables):
        raise QueryPackError(query.ref, f"header table(s) {sorted(query.tables)} but the SQL reads {sorted(read)}")


def _coerce(where: str, parameter: Parameter, value: Any) -> Any:
    kind, problem = parameter.type, None
    if kind == "date":
        text = value.isoformat() if isinstance(value, date) else value
        if not (isinstance(text, str) and _DATE.match(text) and _is_date(text)):
            problem = "must be a date YYYY-MM-DD"
        value = text
    elif kind == "string" and not isinstance(value, str):
        problem = "must be a string"
    elif kind == "integer" and (isinstance(value, bool) or not isinstance(value, int)):
        problem = "must be an integer"
    elif kind == "double" and (isinstance(value, bool) or not isinstance(value, int | float)
                               or not math.isfinite(value)):
        problem = "must be a finite number"
    elif kind == "boolean" and not isinstance(value, bool):
        problem = "must be true or false"
    if problem:
        raise QueryPackError(where, f"parameter {parameter.name} {problem}, got {value!r}")
    return float(value) if kind == "double" else value


def _literal(parameter: Parameter, value: Any) -> str:
    if parameter.type in ("date", "string"):
        return "'" + str(value).replace("'", "''") + "'"
    if parameter.type == "boolean":
        return "TRUE" if value else "FALSE"
    if parameter.type == "double":
        text = repr(float(value))
        return text if "e" in text else text + "E0"  # a DOUBLE literal, not a DECIMAL
    return str(int(value))


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True
