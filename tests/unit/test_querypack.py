"""Query packs: the header format, the checks made on load, and every shipped query on both dialects."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot

from tenantkit.audit.schema import AuditRecord
from tenantkit.audit.sink import PROVENANCE_FIELDS
from tenantkit_local.duckdb_engine import CURATED_COLUMNS, RAW_COLUMNS, QueryTranspileError, to_duckdb
from tenantkit_local.querypack import (
    QUERIES_DIR,
    Parameter,
    QueryPackError,
    all_queries,
    list_packs,
    load_query,
    pack_queries,
    parse_query,
    placeholder_count,
)

ALL_SQL = sorted(QUERIES_DIR.rglob("*.sql"))
HEADER = """-- name: tenant_volume
-- description: Requests per tenant for one day,
--   continued on a second line.
-- table: audit_curated
-- panel: Volume by tenant
-- parameters:
--   dt: date        -- the day
--   tenant: string  -- one tenant
"""
TWO_PARAMETERS = "SELECT 1 AS x FROM audit_curated WHERE dt = ? AND tenant_id = ?"


def write(root: Path, pack: str, name: str, text: str) -> Path:
    path = root / pack / f"{name}.sql"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_header_is_parsed(tmp_path: Path):
    sql = "SELECT tenant_id, count(*) AS n FROM audit_curated WHERE dt = ? AND tenant_id = ? GROUP BY tenant_id;\n"
    query = parse_query(write(tmp_path, "dashboards", "tenant_volume", HEADER + sql))
    assert query.ref == "dashboards/tenant_volume"
    assert query.description == "Requests per tenant for one day, continued on a second line."
    assert query.tables == ("audit_curated",)
    assert query.panel == "Volume by tenant"
    assert query.parameters == (Parameter("dt", "date", "the day"), Parameter("tenant", "string", "one tenant"))
    assert query.sql == sql.strip().removesuffix(";")
    assert query.bind({"dt": "2026-11-28", "tenant": "acme"}) == ["2026-11-28", "acme"]
    assert query.athena_parameters({"dt": "2026-11-28", "tenant": "o'hare"}) == ["'2026-11-28'", "'o''hare'"]


def test_the_compaction_query_header():
    query = load_query("compaction/compact_audit_partition")
    assert (query.name, query.tables, query.panel) == ("compact_audit_partition", ("audit_raw",), None)
    assert [(p.name, p.type) for p in query.parameters] == [("dt", "date")]
    assert "first stored" in query.description and "whatever their ts" in query.description
    assert not query.sql.lstrip().startswith("--")


@pytest.mark.parametrize(("sql", "problem"), [
    ("SELECT 1 AS x FROM audit_curated WHERE dt = ?", "1 '?' placeholder(s) but 2 parameter(s)"),
    ("SELECT 1 AS x FROM audit_curated WHERE dt = ? AND tenant_id = ? AND app_id = ?", "3 '?' placeholder(s)"),
])
def test_placeholder_and_parameter_counts_must_match(tmp_path: Path, sql: str, problem: str):
    with pytest.raises(QueryPackError, match=r"dashboards/tenant_volume: .*" + problem.replace("(", r"\(")
                       .replace(")", r"\)").replace("?", r"\?")):
        parse_query(write(tmp_path, "dashboards", "tenant_volume", HEADER + sql))


def test_question_marks_in_strings_and_comments_are_not_placeholders():
    sql = "SELECT '?' AS q, \"a?\" FROM t -- why?\nWHERE x = ? /* and ? */ AND y = '??'"
    assert placeholder_count(sql) == 1


@pytest.mark.parametrize(("header", "body", "problem"), [
    (HEADER.replace("-- panel", "-- pannel"), "SELECT 1", "unknown header key 'pannel'"),
    (HEADER.replace("name: tenant_volume", "name: other_name"), "SELECT 1", "differs from the file name"),
    (HEADER.replace("dt: date", "dt: datetime"), "SELECT 1", "unknown type 'datetime'"),
    (HEADER.replace("-- description: Requests per tenant for one day,\n--   continued on a second line.\n", ""),
     "SELECT 1", "header lacks description"),
    (HEADER, "", "no SQL statement"),
    (HEADER, "SELECT ? AS a, 1 AS b FROM audit_curated WHERE dt = ?", "only in WHERE clauses"),
    (HEADER, "SELECT 1 FROM audit_raw WHERE dt = ? AND tenant_id = ?", "but the SQL reads ['audit_raw']"),
    (HEADER, "SELECT 1 FROM audit_curated WHERE dt = ?; SELECT 2 FROM audit_curated WHERE dt = ?",
     "expected one statement"),
    (HEADER, "SELEC 1 FROM audit_curated WHERE dt = ? AND t = ?", "not valid Athena SQL"),
])
def test_malformed_queries_are_rejected_with_their_name(tmp_path: Path, header: str, body: str, problem: str):
    with pytest.raises(QueryPackError) as caught:
        parse_query(write(tmp_path, "dashboards", "tenant_volume", header + body))
    assert str(caught.value).startswith("dashboards/tenant_volume: ")
    assert problem in str(caught.value)


@pytest.mark.parametrize(("values", "problem"), [
    ({"dt": "2026-02-30", "tenant": "acme"}, "parameter dt must be a date"),
    ({"dt": "2026-11-28'; DROP TABLE x; --", "tenant": "acme"}, "parameter dt must be a date"),
    ({"dt": "2026-11-28"}, "parameters missing ['tenant']"),
    ({"dt": "2026-11-28", "tenant": "acme", "x": 1}, "unexpected ['x']"),
    ({"dt": "2026-11-28", "tenant": 7}, "parameter tenant must be a string"),
])
def test_parameter_values_are_validated(tmp_path: Path, values: dict, problem: str):
    query = parse_query(write(tmp_path, "dashboards", "tenant_volume", HEADER + TWO_PARAMETERS))
    with pytest.raises(QueryPackError, match="dashboards/tenant_volume"):
        query.bind(values)
    with pytest.raises(QueryPackError) as caught:
        query.athena_parameters(values)
    assert problem in str(caught.value)


def test_packs_are_the_sub_folders_of_queries(tmp_path: Path):
    write(tmp_path, "b_pack", "q_one", HEADER.replace("tenant_volume", "q_one") + TWO_PARAMETERS)
    (tmp_path / "a_pack").mkdir()
    (tmp_path / "README.md").write_text("not a pack")
    assert list_packs(tmp_path) == ["a_pack", "b_pack"]
    assert [q.ref for q in all_queries(tmp_path)] == ["b_pack/q_one"]
    assert "compaction" in list_packs()
    with pytest.raises(QueryPackError, match="no query pack"):
        pack_queries("missing", tmp_path)


def test_every_shipped_query_loads():
    assert ALL_SQL, "queries/ holds at least the compaction pack"
    assert {q.path for q in all_queries()} == set(ALL_SQL)


@pytest.mark.parametrize("path", ALL_SQL, ids=lambda p: str(p.relative_to(QUERIES_DIR)))
def test_every_sql_file_parses_as_athena_and_transpiles_to_duckdb(path: Path):
    query = parse_query(path)
    assert len(sqlglot.parse(query.sql, read="athena")) == 1
    duck = to_duckdb(query)
    assert sqlglot.parse_one(duck, read="duckdb") is not None
    assert placeholder_count(duck) == len(query.parameters)


def test_transpile_failure_names_the_query(tmp_path: Path):
    query = parse_query(write(tmp_path, "dashboards", "tenant_volume", HEADER + TWO_PARAMETERS))
    broken = type(query)(**{**query.__dict__, "sql": "SELECT FROM WHERE ("})
    with pytest.raises(QueryTranspileError, match=r"^dashboards/tenant_volume: cannot transpile"):
        to_duckdb(broken)


def test_local_column_maps_cover_the_audit_record():
    fields = [*AuditRecord.model_fields, *PROVENANCE_FIELDS]
    assert list(RAW_COLUMNS) == fields
    assert list(CURATED_COLUMNS) == fields
    assert RAW_COLUMNS["ts"] == "VARCHAR" and CURATED_COLUMNS["ts"] == "TIMESTAMP"
    assert RAW_COLUMNS["received_at"] == "VARCHAR" and CURATED_COLUMNS["received_at"] == "TIMESTAMP"
    assert not set(PROVENANCE_FIELDS) & set(AuditRecord.model_fields)  # a producer can never set them
