"""The local query engine: query-pack SQL (Athena/Trino dialect) on DuckDB over the local zones.

One query pack, two engines: the text is transpiled with sqlglot (``read="athena"``,
``write="duckdb"``), the ``?`` parameters are bound positionally, and the views it reads are
the Glue tables' local twins over the same layout::

    audit_raw      <root>/raw/dt=YYYY-MM-DD/hour=HH/*.jsonl.gz   (gzip JSON lines; dt, hour strings)
    audit_curated  <root>/curated/dt=YYYY-MM-DD/*.parquet        (dt string)

Column types are explicit (as the Glue tables declare them), so a column that is null in every
record still has its type, and a zone without files yet is an empty view with the same columns.
Dev-only: never shipped in the layer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tenantkit_local.querypack import Query, QueryPackError

# The audit record (AuditRecord fields, in order, then the sink's provenance) with the types the
# curated zone stores: ts and received_at as UTC TIMESTAMPs (what the compaction SELECT produces).
CURATED_COLUMNS: dict[str, str] = {
    "schema_version": "VARCHAR", "event_id": "VARCHAR", "ts": "TIMESTAMP", "record_type": "VARCHAR",
    "event_type": "VARCHAR", "outcome": "VARCHAR", "reason": "VARCHAR", "service": "VARCHAR",
    "app_id": "VARCHAR", "tenant_id": "VARCHAR", "principal_id": "VARCHAR", "principal_type": "VARCHAR",
    "session_id": "VARCHAR", "correlation_id": "VARCHAR", "route": "VARCHAR", "status": "INTEGER",
    "latency_ms": "DOUBLE", "agent_name": "VARCHAR", "inference_profile_arn": "VARCHAR",
    "input_tokens": "BIGINT", "output_tokens": "BIGINT", "cold_start": "BOOLEAN",
    "function_request_id": "VARCHAR",
    # The sink's provenance stamp (tenantkit.audit.sink.PROVENANCE_FIELDS), never the producer's.
    "received_from": "VARCHAR", "received_via": "VARCHAR", "received_at": "TIMESTAMP",
}
# The raw zone reads every field as text, as the Glue raw table declares it (string columns
# under the OpenX JSON SerDe): a JSON string is its value, any other JSON value (number,
# boolean, object, array) its JSON text. A line whose field has the wrong JSON type therefore
# still reads; the compaction SELECT checks each field and quarantines the line with a reason
# instead of failing the whole day on one cast.
RAW_COLUMNS: dict[str, str] = dict.fromkeys(CURATED_COLUMNS, "VARCHAR")
RAW_PARTITIONS = {"dt": "VARCHAR", "hour": "VARCHAR"}
CURATED_PARTITIONS = {"dt": "VARCHAR"}
RAW_GLOB = "raw/dt=*/hour=*/*.jsonl.gz"
CURATED_GLOB = "curated/dt=*/*.parquet"


class QueryTranspileError(QueryPackError):
    """sqlglot could not read the Athena SQL or write it as DuckDB SQL."""


def to_duckdb(query: Query) -> str:
    """The query's statement in the DuckDB dialect; any failure names the query."""
    import sqlglot

    try:
        statements = sqlglot.transpile(query.sql, read="athena", write="duckdb",
                                       unsupported_level=sqlglot.ErrorLevel.RAISE)
    except sqlglot.errors.SqlglotError as exc:
        raise QueryTranspileError(query.ref, f"cannot transpile Athena SQL to DuckDB: {exc}") from None
    if len(statements) != 1:
        raise QueryTranspileError(query.ref, f"transpiled to {len(statements)} statements, expected one")
    return statements[0]


def sql_string(value: str) -> str:
    """A DuckDB string literal (paths and globs go into view definitions, which take no parameters)."""
    return "'" + value.replace("'", "''") + "'"


def _struct(columns: Mapping[str, str]) -> str:
    return "{" + ", ".join(f"{sql_string(name)}: {sql_string(kind)}" for name, kind in columns.items()) + "}"


def _cast_column(name: str, kind: str, present: bool) -> str:
    source = '"' + name + '"' if present else "NULL"
    return f'CAST({source} AS {kind}) AS "{name}"'


def _empty_view(columns: Mapping[str, str]) -> str:
    return "SELECT " + ", ".join(f'CAST(NULL AS {kind}) AS "{name}"' for name, kind in columns.items()) + " WHERE false"


class DuckDBEngine:
    """An in-memory DuckDB connection with ``audit_raw`` and ``audit_curated`` over ``root``."""

    def __init__(self, root: Path | str, *, threads: int | None = None) -> None:
        import duckdb

        self.root = Path(root)
        self.con = duckdb.connect(":memory:")
        self.con.execute("SET TimeZone = 'UTC'")
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")
        self._prepared: dict[str, str] = {}
        self._raw_pinned = False
        self.refresh()

    def __enter__(self) -> DuckDBEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    def pin_raw_partition(self, dt: str) -> None:
        """Parse one day of the raw zone once: ``audit_raw`` becomes that day, held in memory.

        Compaction runs two queries over the same day (the curated rows and the rejects); JSON
        parsing is most of the cost, and both must see the same objects even if the sink adds
        one in between.
        """
        self.refresh()
        # Row order in the pinned table is irrelevant (every query orders what it needs), and
        # not preserving it lets DuckDB load it in parallel.
        self.con.execute("SET preserve_insertion_order = false")
        try:
            self.con.execute("CREATE OR REPLACE TEMP TABLE audit_raw_pinned AS SELECT * FROM audit_raw WHERE dt = ?",
                             [dt])
        finally:
            self.con.execute("RESET preserve_insertion_order")
        self.con.execute("CREATE OR REPLACE VIEW audit_raw AS SELECT * FROM audit_raw_pinned")
        self._raw_pinned = True

    def narrow_pinned_raw(self, kept_parquet: Path) -> int:
        """Narrow the pinned day to the rows a rejects query can report; returns how many remain.

        Those are the copies of every ``event_id`` seen more than once, and every row whose
        ``event_id`` is not among the rows ``kept_parquet`` (the compacted day) holds: a row with
        a unique, kept ``event_id`` has neither a problem nor a conflicting copy. Equivalent for
        ``compaction/audit_partition_rejects`` (it partitions by ``event_id``), and most of a
        day is such rows, so the rejects query reads a few copies instead of the whole day.
        """
        self.con.execute(f"""CREATE OR REPLACE TEMP TABLE audit_raw_suspects AS
            SELECT event_id FROM audit_raw_pinned GROUP BY event_id HAVING count(*) > 1
            UNION
            SELECT event_id FROM audit_raw_pinned
            WHERE event_id NOT IN (SELECT event_id FROM read_parquet({sql_string(str(kept_parquet))}))""")  # noqa: S608
        self.con.execute("CREATE OR REPLACE VIEW audit_raw AS SELECT * FROM audit_raw_pinned WHERE event_id IS NULL "
                         "OR event_id IN (SELECT event_id FROM audit_raw_suspects)")
        row = self.con.execute("SELECT count(*) FROM audit_raw").fetchone()
        return int(row[0]) if row else 0

    def refresh(self) -> None:
        """(Re)create the views; a zone that has no files yet becomes an empty, typed view."""
        raw = self._source(RAW_GLOB, RAW_COLUMNS, RAW_PARTITIONS, lambda glob: (
            f"read_json({glob}, format = 'newline_delimited', records = true, compression = 'gzip', "
            # as the OpenX SerDe with ignore.malformed.json: a line that is not an object reads as nulls
            f"ignore_errors = true, hive_partitioning = true, "
            f"hive_types = {_struct(RAW_PARTITIONS)}, columns = {_struct(RAW_COLUMNS)})"))
        curated = self._source(CURATED_GLOB, CURATED_COLUMNS, CURATED_PARTITIONS, lambda glob: (
            f"read_parquet({glob}, hive_partitioning = true, "
            f"hive_types = {_struct(CURATED_PARTITIONS)}, union_by_name = true)"))
        if not self._raw_pinned:
            self.con.execute(f"CREATE OR REPLACE VIEW audit_raw AS {raw}")
        self.con.execute(f"CREATE OR REPLACE VIEW audit_curated AS {curated}")

    def _source(self, pattern: str, columns: Mapping[str, str], partitions: Mapping[str, str],
                reader: Callable[[str], str]) -> str:
        every = {**columns, **partitions}
        if not any(self.root.glob(pattern)):
            return _empty_view(every)
        glob = sql_string(str(self.root.resolve() / pattern))
        present = self._columns_of(reader(glob)) if pattern == CURATED_GLOB else set(every)
        # A curated day written before a column existed (the provenance columns) reads it as
        # NULL, as Athena does for a Parquet file without a column of the table.
        names = ", ".join(_cast_column(name, kind, name in present) for name, kind in every.items())
        return f"SELECT {names} FROM {reader(glob)}"  # noqa: S608 - typed names, quoted glob

    def _columns_of(self, relation: str) -> set[str]:
        return {row[0] for row in self.con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()}  # noqa: S608 - a reader call over a quoted glob

    def sql(self, query: Query) -> str:
        """The DuckDB text of ``query``, transpiled once per file."""
        if query.sql not in self._prepared:
            self._prepared[query.sql] = to_duckdb(query)
        return self._prepared[query.sql]

    def execute(self, query: Query, values: Mapping[str, Any] | None = None) -> Any:
        """Run ``query`` with validated parameters; returns the DuckDB cursor."""
        self.refresh()
        return self.con.execute(self.sql(query), query.bind(values or {}))

    def fetch(self, query: Query, values: Mapping[str, Any] | None = None) -> tuple[list[str], list[tuple]]:
        cursor = self.execute(query, values)
        return [d[0] for d in cursor.description], cursor.fetchall()

    def copy_parquet(self, query: Query, values: Mapping[str, Any], target: Path, *, zstd_level: int = 1) -> int:
        """``COPY (<query>) TO target`` as ZSTD Parquet; returns the number of rows written.

        ZSTD level 1: writing is the least parallel step of a local compaction; level 1 spends
        about a quarter less CPU on it than DuckDB's default 3, for ~18% more bytes.
        """
        self.refresh()
        statement = (f"COPY ({self.sql(query)}) TO {sql_string(str(target))} "
                     f"(FORMAT PARQUET, COMPRESSION ZSTD, COMPRESSION_LEVEL {int(zstd_level)})")
        row = self.con.execute(statement, query.bind(values)).fetchone()
        return int(row[0]) if row else 0

    def adhoc(self, sql: str, params: list[Any] | tuple[Any, ...] = ()) -> tuple[list[str], list[tuple]]:
        """Athena SQL that is not in a pack (tests, exploration), transpiled the same way."""
        self.refresh()
        query = Query(pack="adhoc", name="adhoc", description="", tables=(), panel=None, parameters=(),
                      sql=sql, path=Path("adhoc.sql"))
        cursor = self.con.execute(self.sql(query), list(params))
        return [d[0] for d in cursor.description], cursor.fetchall()
