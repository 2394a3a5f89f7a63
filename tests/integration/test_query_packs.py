"""Query packs on DuckDB over the audit fixture, each result checked against the same question
answered in pure Python over the fixture records (never against a copy of the output).

The fixture (tests/fixtures/audit/records.jsonl, see support/audit_fixtures.py) is written in the
sink's raw layout with redelivered copies and compacted with the compaction query pack, so the
queries read the curated zone as Athena would. It has records on the day before and the day
after the queried range: a query that ignored its partition predicate would count them.

Also: every query file's header, its parameters against its ``?`` placeholders, a partition
predicate on every partitioned table it reads (sqlglot AST), DuckDB pruning to the range's
files, and the tenant view's tenant scoping.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from sqlglot import exp

from support.audit_fixtures import FROM_DT, TENANTS, TO_DT, build_zones, load_records
from tenantkit_local import cli
from tenantkit_local.duckdb_engine import DuckDBEngine, to_duckdb
from tenantkit_local.querypack import QUERIES_DIR, QueryPackError, all_queries, load_query, parse_query
from tenantkit_local.queryrun import parse_values, resolve, run

pytestmark = pytest.mark.integration

RANGE = {"from_dt": FROM_DT, "to_dt": TO_DT}
ALL_SQL = sorted(QUERIES_DIR.rglob("*.sql"))
# The packs this suite owns end to end (every query below has an expected-result test).
OWNED_PACKS = ("tenant_ops", "security", "sessions", "tenant_view")
# Partition columns of the partitioned tables the packs read (Glue partition keys).
PARTITION_KEYS = {"audit_curated": "dt", "audit_raw": "dt", "cur": "billing_period"}
Rows = list[dict[str, Any]]


# --- fixture zones and the pure-Python side ---------------------------------------------------------------


@pytest.fixture(scope="module")
def zones(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("audit-zones")
    assert build_zones(root) == ["2026-11-26", "2026-11-27", "2026-11-28", "2026-11-29"]
    return root


@pytest.fixture(scope="module")
def engine(zones: Path):
    with DuckDBEngine(zones) as duck:
        yield duck


@pytest.fixture(scope="module")
def records() -> Rows:
    unique = {r["event_id"]: r for r in load_records()}  # dedup by event_id, like compaction
    return list(unique.values())


def in_range(records: Rows) -> Rows:
    return [r for r in records if FROM_DT <= r["ts"][:10] <= TO_DT]


def ts(record: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(record["ts"].replace("Z", "+00:00")).replace(tzinfo=None)


def hour(record: dict[str, Any]) -> datetime:
    return ts(record).replace(minute=0, second=0, microsecond=0)


def completed(records: Rows) -> Rows:
    return [r for r in in_range(records) if r["event_type"] == "request.completed" and r["tenant_id"]]


def group(records: Iterable[dict[str, Any]], key: Callable[[dict[str, Any]], tuple]) -> dict[tuple, Rows]:
    groups: dict[tuple, Rows] = defaultdict(list)
    for record in records:
        groups[key(record)].append(record)
    return groups


def nulls_last(value: Any) -> tuple[bool, Any]:
    return (value is None, "" if value is None else value)


def distinct(rows: Rows, field: str) -> int:
    return len({r[field] for r in rows if r[field] is not None})


def fetch(engine: DuckDBEngine, ref: str, **values: Any) -> Rows:
    columns, rows = run(engine.root, load_query(ref), {**RANGE, **values}, engine=engine)
    return [dict(zip(columns, row, strict=True)) for row in rows]


def rank_window(values: list[float], q: float) -> tuple[float, float]:
    """Where an approximate percentile may land: between the order statistics one rank and 1 % of n
    around rank q*(n-1) (Athena's approx_percentile and DuckDB's approx_quantile are both
    approximate; neither promises the exact value)."""
    ordered = sorted(values)
    n = len(ordered)
    slack = max(1, math.ceil(0.01 * n))
    position = q * (n - 1)
    low = max(0, math.floor(position) - slack)
    high = min(n - 1, math.ceil(position) + slack)
    return ordered[low], ordered[high]


def assert_percentile(actual: float, values: list[float], q: float, what: str) -> None:
    low, high = rank_window(values, q)
    assert low <= actual <= high, f"{what}: p{round(q * 100)} {actual} outside [{low}, {high}] of {sorted(values)}"


# --- the fixture is meaningful --------------------------------------------------------------------------


def test_the_fixture_has_records_outside_the_range_and_every_kind_of_event(records: Rows):
    outside = [r for r in records if not FROM_DT <= r["ts"][:10] <= TO_DT]
    assert {r["ts"][:10] for r in outside} == {"2026-11-26", "2026-11-29"}
    assert any(r["event_type"] == "request.completed" and r["tenant_id"] for r in outside)
    kinds = {r["event_type"] for r in in_range(records)}
    assert kinds >= {"authz.allow", "authz.deny", "authz.unauthorized", "session.bound", "session.continued",
                     "session.rejected", "session.expired", "session.deleted", "tenant.spoof_rejected",
                     "abac.deny", "request.rejected", "request.completed", "upstream.error"}
    assert {r["tenant_id"] for r in completed(records)} == set(TENANTS)


def test_the_committed_fixture_is_what_the_generator_writes():
    from support.audit_fixtures import FIXTURE_FILE, dump, generate_records

    assert FIXTURE_FILE.read_text() == dump(generate_records(), compact=True), \
        "regenerate: .venv/bin/python tests/support/audit_fixtures.py"


def test_compaction_deduplicated_the_redelivered_copies(engine: DuckDBEngine, records: Rows):
    _, rows = engine.adhoc("SELECT count(*), count(DISTINCT event_id) FROM audit_curated")
    assert rows == [(len(records), len(records))]


# --- tenant_ops ----------------------------------------------------------------------------------------


def test_requests_per_tenant_hour(engine: DuckDBEngine, records: Rows):
    expected = [
        {"tenant_id": tenant, "hour_start": start, "requests": len(rows),
         "client_errors": sum(400 <= r["status"] <= 499 for r in rows),
         "server_errors": sum(r["status"] >= 500 for r in rows)}
        for (tenant, start), rows in group(completed(records), lambda r: (r["tenant_id"], hour(r))).items()
    ]
    expected.sort(key=lambda e: (e["hour_start"], e["tenant_id"]))
    assert fetch(engine, "tenant_ops/requests_per_tenant_hour") == expected
    assert sum(e["requests"] for e in expected) == len(completed(records))


def test_error_rate_by_tenant_route(engine: DuckDBEngine, records: Rows):
    expected = []
    for (tenant, route), rows in group(completed(records), lambda r: (r["tenant_id"], r["route"])).items():
        errors, server = sum(r["status"] >= 400 for r in rows), sum(r["status"] >= 500 for r in rows)
        expected.append({"tenant_id": tenant, "route": route, "requests": len(rows), "errors": errors,
                         "server_errors": server, "error_rate": pytest.approx(errors / len(rows)),
                         "server_error_rate": pytest.approx(server / len(rows))})
    expected.sort(key=lambda e: (e["tenant_id"], e["route"]))
    actual = fetch(engine, "tenant_ops/error_rate_by_tenant_route")
    assert actual == expected
    assert any(e["server_errors"] for e in actual) and any(e["errors"] > e["server_errors"] for e in actual)


def test_latency_percentiles_by_tenant(engine: DuckDBEngine, records: Rows):
    groups = group([r for r in completed(records) if r["latency_ms"] is not None],
                   lambda r: (hour(r), r["tenant_id"]))
    actual = fetch(engine, "tenant_ops/latency_percentiles_by_tenant")
    assert [(a["hour_start"], a["tenant_id"]) for a in actual] == sorted(groups)
    for row in actual:
        latencies = [r["latency_ms"] for r in groups[(row["hour_start"], row["tenant_id"])]]
        what = f"{row['tenant_id']} {row['hour_start']:%Y-%m-%d %H:00}"
        assert row["requests"] == len(latencies)
        assert row["max_ms"] == max(latencies)
        assert_percentile(row["p50_ms"], latencies, 0.5, what)
        assert_percentile(row["p95_ms"], latencies, 0.95, what)
        assert_percentile(row["p99_ms"], latencies, 0.99, what)
        assert min(latencies) <= row["p50_ms"] <= row["p95_ms"] <= row["p99_ms"] <= row["max_ms"]


def test_latency_percentiles_transpile_to_duckdb_approx_quantile():
    duck = to_duckdb(load_query("tenant_ops/latency_percentiles_by_tenant"))
    assert duck.count("APPROX_QUANTILE(latency_ms, ") == 3
    assert "approx_percentile" not in duck.lower()


def test_approx_quantile_is_close_to_the_exact_percentile_on_a_larger_sample(engine: DuckDBEngine):
    """On 20,000 values the approximation lands within the rank window too (what Athena promises)."""
    import random

    rng = random.Random(7)
    values = [round(rng.lognormvariate(6, 1), 3) for _ in range(20_000)]
    engine.con.execute("CREATE OR REPLACE TEMP TABLE sample AS SELECT unnest(CAST(? AS DOUBLE[])) AS v", [values])
    for q in (0.5, 0.95, 0.99):
        _, rows = engine.adhoc(f"SELECT approx_percentile(v, {q}) FROM sample")  # noqa: S608 - literal
        assert_percentile(rows[0][0], values, q, "20k sample")


@pytest.mark.parametrize("top_n", [1, 2, 10])
def test_top_tenants_by_volume(engine: DuckDBEngine, records: Rows, top_n: int):
    rows = completed(records)
    by_tenant = group(rows, lambda r: (r["tenant_id"],))
    ranked = sorted(by_tenant.items(), key=lambda item: (-len(item[1]), item[0][0]))
    expected = [
        {"volume_rank": rank, "tenant_id": tenant, "requests": len(mine),
         "share_of_requests": pytest.approx(len(mine) / len(rows)),
         "errors": sum(r["status"] >= 400 for r in mine), "principals": distinct(mine, "principal_id"),
         "input_tokens": sum(r["input_tokens"] or 0 for r in mine),
         "output_tokens": sum(r["output_tokens"] or 0 for r in mine)}
        for rank, ((tenant,), mine) in enumerate(ranked, start=1)
    ][:top_n]
    assert fetch(engine, "tenant_ops/top_tenants_by_volume", top_n=top_n) == expected
    assert expected[0]["tenant_id"] == "acme"


# --- security ------------------------------------------------------------------------------------------


def test_authz_denials_by_reason(engine: DuckDBEngine, records: Rows):
    denials = [r for r in in_range(records) if r["event_type"] in ("authz.deny", "authz.unauthorized", "abac.deny")]
    expected = [
        {"tenant_id": tenant, "event_type": event_type, "reason": reason, "status": status,
         "denials": len(rows), "principals": distinct(rows, "principal_id")}
        for (tenant, event_type, reason, status), rows in group(
            denials, lambda r: (r["tenant_id"], r["event_type"], r["reason"], r["status"])).items()
    ]
    expected.sort(key=lambda e: (-e["denials"], e["event_type"], e["reason"], nulls_last(e["tenant_id"])))
    actual = fetch(engine, "security/authz_denials_by_reason")
    assert actual == expected
    assert any(e["tenant_id"] is None for e in actual), "401s without a verified tenant are counted too"
    assert {e["status"] for e in actual} == {401, 403}


def test_spoof_attempts_by_tenant_principal(engine: DuckDBEngine, records: Rows):
    spoofs = [r for r in in_range(records) if r["event_type"] == "tenant.spoof_rejected"]
    expected = [
        {"tenant_id": tenant, "app_id": app, "principal_id": principal, "attempts": len(rows),
         "routes": distinct(rows, "route"), "first_seen": min(map(ts, rows)), "last_seen": max(map(ts, rows))}
        for (tenant, app, principal), rows in group(
            spoofs, lambda r: (r["tenant_id"], r["app_id"], r["principal_id"])).items()
    ]
    expected.sort(key=lambda e: (-e["attempts"], e["tenant_id"], e["app_id"], e["principal_id"]))
    actual = fetch(engine, "security/spoof_attempts_by_tenant_principal")
    assert actual == expected
    assert sum(e["attempts"] for e in actual) == len(spoofs) > 0


def test_session_rejections_by_tenant_principal(engine: DuckDBEngine, records: Rows):
    rejected = [r for r in in_range(records) if r["event_type"] == "session.rejected"]
    expected = [
        {"tenant_id": tenant, "principal_id": principal, "reason": reason, "rejections": len(rows),
         "sessions": distinct(rows, "session_id"), "first_seen": min(map(ts, rows)),
         "last_seen": max(map(ts, rows))}
        for (tenant, principal, reason), rows in group(
            rejected, lambda r: (r["tenant_id"], r["principal_id"], r["reason"])).items()
    ]
    expected.sort(key=lambda e: (-e["rejections"], e["tenant_id"], e["principal_id"], e["reason"]))
    actual = fetch(engine, "security/session_rejections_by_tenant_principal")
    assert actual == expected
    assert "session_cross_tenant" in {e["reason"] for e in actual}


def test_cross_tenant_attempts_timeline(engine: DuckDBEngine, records: Rows):
    def cross_tenant(r: dict[str, Any]) -> bool:
        return (r["event_type"] == "tenant.spoof_rejected"
                or (r["event_type"], r["reason"]) in {("session.rejected", "session_cross_tenant"),
                                                      ("abac.deny", "tenant_mismatch")})

    attempts = [r for r in in_range(records) if cross_tenant(r)]
    expected = [
        {"hour_start": start, "tenant_id": tenant, "event_type": event_type, "attempts": len(rows),
         "principals": distinct(rows, "principal_id")}
        for (start, tenant, event_type), rows in group(
            attempts, lambda r: (hour(r), r["tenant_id"], r["event_type"])).items()
    ]
    expected.sort(key=lambda e: (e["hour_start"], e["tenant_id"], e["event_type"]))
    actual = fetch(engine, "security/cross_tenant_attempts_timeline")
    assert actual == expected
    assert {e["event_type"] for e in actual} == {"tenant.spoof_rejected", "session.rejected", "abac.deny"}
    # not cross-tenant: an unknown session id, a missing scope
    assert sum(e["attempts"] for e in actual) < len([r for r in in_range(records) if r["event_type"] in (
        "tenant.spoof_rejected", "session.rejected", "abac.deny")])


# --- sessions ------------------------------------------------------------------------------------------


def test_active_sessions_per_tenant(engine: DuckDBEngine, records: Rows):
    lifecycle = ("session.bound", "session.continued", "session.deleted", "session.expired")
    events = [r for r in in_range(records) if r["event_type"] in lifecycle and r["tenant_id"] and r["session_id"]]
    sessions = group(events, lambda r: (r["tenant_id"], r["app_id"], r["session_id"]))
    expected: dict[tuple, dict[str, Any]] = {}
    for (tenant, app, _), rows in sessions.items():
        kinds = {r["event_type"] for r in rows}
        row = expected.setdefault((tenant, app), {"tenant_id": tenant, "app_id": app, "active_sessions": 0,
                                                  "sessions_bound": 0, "sessions_ended": 0, "turns": 0})
        ended = bool(kinds & {"session.deleted", "session.expired"})
        row["active_sessions"] += bool(kinds & {"session.bound", "session.continued"}) and not ended
        row["sessions_bound"] += "session.bound" in kinds
        row["sessions_ended"] += ended
        row["turns"] += sum(r["event_type"] == "session.continued" for r in rows)
    actual = fetch(engine, "sessions/active_sessions_per_tenant")
    assert actual == [expected[key] for key in sorted(expected)]
    assert all(0 < a["active_sessions"] < a["sessions_bound"] for a in actual if a["sessions_ended"])


def test_active_sessions_ignore_foreign_session_ids(engine: DuckDBEngine, records: Rows):
    """initech replayed an acme session id (session.rejected): that session is not initech's."""
    foreign = {r["session_id"] for r in in_range(records)
               if r["event_type"] == "session.rejected" and r["reason"] == "session_cross_tenant"}
    assert foreign
    initech = [r for r in fetch(engine, "sessions/active_sessions_per_tenant") if r["tenant_id"] == "initech"]
    own = {r["session_id"] for r in in_range(records) if r["tenant_id"] == "initech"
           and r["event_type"] in ("session.bound", "session.continued") and r["session_id"]}
    assert not foreign & own
    assert sum(r["active_sessions"] + r["sessions_ended"] for r in initech) == len(own)


# --- tenant view ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("tenant", sorted(TENANTS))
def test_tenant_activity(engine: DuckDBEngine, records: Rows, tenant: str):
    mine = [r for r in in_range(records) if r["tenant_id"] == tenant]
    groups = group(mine, lambda r: (hour(r), r["app_id"], r["route"], r["event_type"], r["outcome"], r["reason"]))
    order = sorted(groups, key=lambda k: (k[0], nulls_last(k[1]), nulls_last(k[2]), k[3], k[4], k[5]))
    actual = fetch(engine, "tenant_view/tenant_activity", tenant_id=tenant)
    assert [(a["hour_start"], a["app_id"], a["route"], a["event_type"], a["outcome"], a["reason"])
            for a in actual] == order
    for row, key in zip(actual, order, strict=True):
        rows = groups[key]
        latencies = [r["latency_ms"] for r in rows if r["latency_ms"] is not None]
        assert row["tenant_id"] == tenant
        assert (row["events"], row["principals"], row["sessions"]) == (
            len(rows), distinct(rows, "principal_id"), distinct(rows, "session_id"))
        assert (row["input_tokens"], row["output_tokens"]) == (
            sum(r["input_tokens"] or 0 for r in rows), sum(r["output_tokens"] or 0 for r in rows))
        if latencies:
            assert_percentile(row["p95_latency_ms"], latencies, 0.95, f"{tenant} {key}")
        else:
            assert row["p95_latency_ms"] is None
    assert sum(a["events"] for a in actual) == len(mine)


@pytest.mark.parametrize("value", ["umbrella", "acme' OR '1'='1", "%", ""])
def test_tenant_activity_returns_nothing_for_another_value(engine: DuckDBEngine, value: str):
    """The tenant id is a bound parameter compared with '=': no pattern, no injection, no fallback."""
    assert fetch(engine, "tenant_view/tenant_activity", tenant_id=value) == []


def test_tenant_activity_returns_no_other_tenants_columns():
    query = load_query("tenant_view/tenant_activity")
    tree = sqlglot.parse_one(query.sql, read="athena")
    selected = {e.alias_or_name for e in tree.expressions}
    assert not selected & {"correlation_id", "function_request_id", "inference_profile_arn", "service"}


def test_tenant_activity_filters_on_tenant_id_in_the_outermost_where():
    query = load_query("tenant_view/tenant_activity")
    tree = sqlglot.parse_one(query.sql, read="athena")
    assert isinstance(tree, exp.Select) and tree.args.get("where") is not None
    conjuncts = list(_conjuncts(tree.args["where"].this))
    tenant_filters = [c for c in conjuncts if isinstance(c, exp.EQ)
                      and {type(c.left), type(c.right)} == {exp.Column, exp.Placeholder}
                      and _column(c).name == "tenant_id"]
    assert len(tenant_filters) == 1, "tenant_id = ? must be a top-level conjunct of the outermost WHERE"
    assert not list(tree.find_all(exp.Or)), "no OR anywhere: nothing can widen the tenant filter"
    assert not list(tree.find_all(exp.Subquery, exp.Union)), "one SELECT over audit_curated, no subqueries"
    position = _placeholder_position(tree, tenant_filters[0])
    assert query.parameters[position].name == "tenant_id"


# --- every query: header, parameters, partition predicate ------------------------------------------------


@pytest.mark.parametrize("path", ALL_SQL, ids=lambda p: str(p.relative_to(QUERIES_DIR)))
def test_every_query_has_a_complete_header(path: Path):
    query = parse_query(path)
    text = path.read_text()
    header = _header(text)
    assert query.name == path.stem and query.description and query.tables
    assert all(p.description for p in query.parameters), f"{query.ref}: describe every parameter in the header"
    if query.pack != "compaction":
        assert query.panel, f"{query.ref}: name the dashboard panel the query feeds"
    assert "?" not in header, f"{query.ref}: no '?' in the header (Athena may count it as a parameter)"


@pytest.mark.parametrize("path", ALL_SQL, ids=lambda p: str(p.relative_to(QUERIES_DIR)))
def test_header_parameters_match_the_placeholders(path: Path):
    query = parse_query(path)
    tree = sqlglot.parse_one(query.sql, read="athena")
    placeholders = _placeholders_in_order(tree)
    assert len(placeholders) == len(query.parameters), f"{query.ref}: one header parameter per '?'"
    for index, placeholder in enumerate(placeholders):
        parameter = query.parameters[index]
        operand: exp.Expression = placeholder
        while isinstance(operand.parent, exp.Paren | exp.Cast):
            operand = operand.parent
        comparison = operand.parent
        columns = [c.name for c in comparison.find_all(exp.Column)] if comparison is not None else []
        partition = [c for c in columns if c in PARTITION_KEYS.values()]
        if partition:
            assert parameter.type in ("date", "string"), f"{query.ref}: {parameter.name} bounds {partition[0]}"
        if isinstance(comparison, exp.Between):
            bound = "from" if comparison.args["low"] is operand else "to"
            assert parameter.name.startswith(bound), \
                f"{query.ref}: placeholder {index + 1} is the {bound} bound but the header names {parameter.name}"
        if columns == ["tenant_id"]:
            assert parameter.name == "tenant_id", f"{query.ref}: the tenant_id placeholder is {parameter.name}"


@pytest.mark.parametrize("path", ALL_SQL, ids=lambda p: str(p.relative_to(QUERIES_DIR)))
def test_every_partitioned_table_read_has_a_partition_predicate(path: Path):
    """Each read of a partitioned table sits in a SELECT whose WHERE (or JOIN ON) bounds the
    partition column by execution parameters (dt BETWEEN ? AND ?, dt = ?, ...) as a top-level
    conjunct: no scan beyond the range, on Athena (partition pruning) or DuckDB (hive pruning)."""
    query = parse_query(path)
    tree = sqlglot.parse_one(query.sql, read="athena")
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    reads = [t for t in tree.find_all(exp.Table) if t.name not in ctes]
    assert reads
    for table in reads:
        assert table.name in PARTITION_KEYS, \
            f"{query.ref}: reads {table.name}; add its partition column to PARTITION_KEYS in this test"
        key = PARTITION_KEYS[table.name]
        select = table.find_ancestor(exp.Select)
        alias = table.alias_or_name
        conditions = [select.args["where"].this] if select.args.get("where") else []
        conditions += [j.args["on"] for j in select.args.get("joins") or [] if j.args.get("on") is not None]
        bounded = [c for condition in conditions for c in _conjuncts(condition)
                   if _bounds_partition(c, key, alias, table.name)]
        assert bounded, f"{query.ref}: {table.name} is read without a '{key}' predicate bound by '?' parameters"


def test_the_owned_packs_are_all_tested_here():
    owned = {q.ref for q in all_queries() if q.pack in OWNED_PACKS}
    assert owned == {
        "tenant_ops/requests_per_tenant_hour", "tenant_ops/error_rate_by_tenant_route",
        "tenant_ops/latency_percentiles_by_tenant", "tenant_ops/top_tenants_by_volume",
        "security/authz_denials_by_reason", "security/spoof_attempts_by_tenant_principal",
        "security/session_rejections_by_tenant_principal", "security/cross_tenant_attempts_timeline",
        "sessions/active_sessions_per_tenant", "tenant_view/tenant_activity",
    }, "a new query in these packs needs an expected-result test in this file"


@pytest.mark.parametrize("ref", sorted(q.ref for q in all_queries() if q.pack in OWNED_PACKS))
def test_duckdb_reads_only_the_partitions_in_the_range(zones: Path, ref: str):
    """DuckDB's profile: the scan opens the two days of the range, not the day before or after."""
    query = load_query(ref)
    values = {**RANGE, **{p.name: {"integer": 10, "string": "acme"}[p.type]
                          for p in query.parameters if p.name not in RANGE}}
    with DuckDBEngine(zones) as duck, tempfile.TemporaryDirectory() as scratch:
        profile = Path(scratch) / "profile.json"
        duck.con.execute("PRAGMA enable_profiling = 'json'")
        duck.con.execute(f"PRAGMA profiling_output = '{profile}'")
        duck.con.execute("SET profiling_mode = 'detailed'")
        duck.execute(query, values).fetchall()
        scans = [n for n in _walk(json.loads(profile.read_text())) if n.get("type") == "TABLE_SCAN"]
    files = " ".join(n["extra_info"].get("Filename(s)", "") for n in scans)
    assert scans and all(n["extra_info"].get("Total Files Read") == "2" for n in scans), scans
    assert "dt=2026-11-27" in files and "dt=2026-11-28" in files
    assert "dt=2026-11-26" not in files and "dt=2026-11-29" not in files


# --- local CLI ------------------------------------------------------------------------------------------


def test_cli_query_table_json_csv(zones: Path, records: Rows, capsys: pytest.CaptureFixture[str]):
    args = ["query", "top_tenants_by_volume", "--root", str(zones), "-p", f"from_dt={FROM_DT}",
            "-p", f"to_dt={TO_DT}", "-p", "top_n=2"]
    assert cli.main([*args, "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["tenant_id"] for r in rows] == ["acme", "globex"]
    assert rows[0]["requests"] == len([r for r in completed(records) if r["tenant_id"] == "acme"])
    assert cli.main([*args, "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "volume_rank,tenant_id,requests,share_of_requests,errors,principals,input_tokens,output_tokens"
    assert [line.split(",")[1] for line in lines[1:]] == ["acme", "globex"]
    assert cli.main(args) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == lines[0].split(",") and set(table[1]) <= {"-", " "} and len(table) == 4


def test_cli_query_list_shows_packs_queries_and_parameters(capsys: pytest.CaptureFixture[str]):
    assert cli.main(["query", "--list"]) == 0
    out = capsys.readouterr().out
    for pack in ("compaction/", "tenant_ops/", "security/", "sessions/", "tenant_view/"):
        assert pack in out.splitlines()
    assert "  tenant_activity  (from_dt:date, to_dt:date, tenant_id:string)" in out
    assert "  top_tenants_by_volume  (from_dt:date, to_dt:date, top_n:integer)" in out


@pytest.mark.parametrize(("argv", "message"), [
    (["query", "no_such_query"], "tenantkit query: no_such_query: no such query"),
    (["query", "tenant_ops/requests_per_tenant_hour", "-p", "from_dt=2026-11-27"],
     "tenantkit query: tenant_ops/requests_per_tenant_hour: parameters missing ['to_dt']"),
    (["query", "top_tenants_by_volume", "-p", "from_dt=2026-11-27", "-p", "to_dt=2026-11-28", "-p", "top_n=ten"],
     "tenantkit query: tenant_ops/top_tenants_by_volume: parameter top_n must be an integer"),
    (["query", "tenant_activity", "-p", "from_dt=yesterday", "-p", "to_dt=2026-11-28", "-p", "tenant_id=acme"],
     "tenantkit query: tenant_view/tenant_activity: parameter from_dt must be a date"),
    (["query", "tenant_activity", "-p", "from_dt"], "tenantkit query: tenant_view/tenant_activity: --param 'from_dt'"),
    (["query"], "tenantkit query: name a query"),
])
def test_cli_query_errors_name_the_query(zones: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
                                         message: str):
    assert cli.main([*argv, "--root", str(zones)]) == 2
    assert capsys.readouterr().err.startswith(message)


def test_cli_query_that_cannot_transpile_or_run_fails_loudly_with_its_name(
        tmp_path: Path, zones: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    from tenantkit_local import queryrun

    header = ("-- name: {name}\n-- description: Valid Athena SQL.\n-- table: audit_curated\n-- panel: Test\n"
              "-- parameters:\n--   dt: date  -- the day\n")
    bodies = {  # reduce() with a finishing lambda: sqlglot has no DuckDB form; approx_set: DuckDB has none
        "reduce_with_finish": "SELECT reduce(ARRAY[status], 0, (s, x) -> s + x, s -> s) AS total "
                              "FROM audit_curated WHERE dt = ?",
        "uses_approx_set": "SELECT approx_set(tenant_id) AS tenants FROM audit_curated WHERE dt = ?",
    }
    (tmp_path / "broken").mkdir()
    for name, body in bodies.items():
        (tmp_path / "broken" / f"{name}.sql").write_text(header.format(name=name) + body + "\n")
    real_resolve = queryrun.resolve
    monkeypatch.setattr(queryrun, "resolve", lambda name, root=tmp_path: real_resolve(name, root))
    for name, message in (("reduce_with_finish", "cannot transpile Athena SQL to DuckDB: Argument 'finish'"),
                          ("uses_approx_set", "DuckDB could not run the transpiled SQL")):
        assert cli.main(["query", name, "-p", "dt=2026-11-27", "--root", str(zones)]) == 2
        assert capsys.readouterr().err.startswith(f"tenantkit query: broken/{name}: {message}")


def test_resolve_and_parse_values():
    assert resolve("tenant_activity").ref == "tenant_view/tenant_activity"
    assert resolve("security/authz_denials_by_reason").name == "authz_denials_by_reason"
    query = resolve("top_tenants_by_volume")
    assert parse_values(query, ["from_dt=2026-11-27", "to_dt=2026-11-28", "top_n=3"]) == {
        "from_dt": "2026-11-27", "to_dt": "2026-11-28", "top_n": 3}
    with pytest.raises(QueryPackError, match="given twice"):
        parse_values(query, ["top_n=1", "top_n=2"])


def test_resolve_reports_an_ambiguous_name(tmp_path: Path):
    for pack in ("a", "b"):
        (tmp_path / pack).mkdir()
        (tmp_path / pack / "same.sql").write_text(
            "-- name: same\n-- description: x\n-- table: audit_curated\n-- parameters: (none)\n"
            "SELECT 1 AS one FROM audit_curated WHERE dt = '2026-11-27'\n")
    with pytest.raises(QueryPackError, match=r"^same: ambiguous: a/same, b/same"):
        resolve("same", tmp_path)


# --- helpers -------------------------------------------------------------------------------------------


def _header(text: str) -> str:
    lines = []
    for line in text.splitlines():
        if not line.lstrip().startswith("--"):
            break
        lines.append(line)
    return "\n".join(lines)


def _conjuncts(condition: exp.Expression) -> Iterable[exp.Expression]:
    while isinstance(condition, exp.Paren):
        condition = condition.this
    if isinstance(condition, exp.And):
        yield from _conjuncts(condition.left)
        yield from _conjuncts(condition.right)
    else:
        yield condition


def _column(comparison: exp.Expression) -> exp.Column:
    return next(comparison.find_all(exp.Column))


def _bounds_partition(condition: exp.Expression, key: str, alias: str, table: str) -> bool:
    if not isinstance(condition, exp.Between | exp.EQ | exp.GTE | exp.LTE | exp.In):
        return False
    column = condition.this if not isinstance(condition, exp.EQ | exp.GTE | exp.LTE) else (
        condition.left if isinstance(condition.left, exp.Column) else condition.right)
    if not isinstance(column, exp.Column) or column.name != key or column.table not in ("", alias, table):
        return False
    bounds = [v for k, v in condition.args.items() if k != "this" and v is not None]
    values = [b for bound in bounds for b in (bound if isinstance(bound, list) else [bound])]
    return bool(values) and all(isinstance(v, exp.Placeholder) for v in values if v is not column)


def _placeholders_in_order(tree: exp.Expression) -> list[exp.Placeholder]:
    """Depth-first, children in argument order: the order the '?' appear in the text."""
    return [node for node in tree.walk(bfs=False) if isinstance(node, exp.Placeholder)]


def _placeholder_position(tree: exp.Expression, comparison: exp.Expression) -> int:
    placeholder = next(comparison.find_all(exp.Placeholder))
    return next(i for i, p in enumerate(_placeholders_in_order(tree)) if p is placeholder)


def _walk(node: Any) -> Iterable[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for child in node.get("children", []) + node.get("operator", []):
            yield from _walk(child)
