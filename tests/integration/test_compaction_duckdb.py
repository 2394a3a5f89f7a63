"""Local compaction end to end: a generated raw day (duplicates within and across files, conflicting
copies, a late record) -> LocalCompactor -> curated Parquet, checked against a pure-Python dedup."""

from __future__ import annotations

import gzip
import hashlib
import json
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tenantkit.audit.schema import AuditRecord
from tenantkit.audit.sink import PROVENANCE_FIELDS, SOURCE_RANK
from tenantkit_local import cli
from tenantkit_local.compaction import LocalCompactor
from tenantkit_local.duckdb_engine import CURATED_COLUMNS, RAW_COLUMNS, DuckDBEngine

pytestmark = pytest.mark.integration

DT = "2026-11-28"
FIELDS = list(AuditRecord.model_fields)
CONTENT = [f for f in FIELDS if f != "event_id"]  # the last tie-break, in schema order
TENANTS = ["acme", "globex", "initech", None]
EVENTS = [("authz.allow", "allow", "verified"), ("authz.deny", "deny", "scope_missing"),
          ("request.completed", "success", "http_200"), ("session.bound", "success", "bound"),
          ("upstream.error", "error", "upstream_timeout")]


def make(rng: random.Random, hour: int, **fields: Any) -> dict[str, Any]:
    event_type, outcome, reason = rng.choice(EVENTS)
    when = datetime(2026, 11, 28, hour, tzinfo=UTC) + timedelta(milliseconds=rng.randrange(3_600_000))
    values = {"event_id": f"{rng.getrandbits(128):032x}", "ts": when.isoformat(timespec="milliseconds")[:23] + "Z",
              "event_type": event_type, "outcome": outcome, "reason": reason, "tenant_id": rng.choice(TENANTS),
              "app_id": rng.choice(["portal", "agent-console"]), "service": "tenantkit-bff",
              "status": rng.choice([200, 403, None]), "latency_ms": rng.choice([round(rng.random() * 900, 3), None]),
              "input_tokens": rng.choice([None, rng.randrange(5000)]), "cold_start": rng.choice([True, False, None]),
              **fields}
    return json.loads(AuditRecord(**values).model_dump_json())


def write_raw(root: Path, dt: str, hour: int, batch: str, records: list[dict[str, Any]]) -> None:
    """The sink's layout and encoding: gzip JSON lines, every AuditRecord key present."""
    folder = root / "raw" / f"dt={dt}" / f"hour={hour:02d}"
    folder.mkdir(parents=True, exist_ok=True)
    body = "\n".join(json.dumps(r, separators=(",", ":")) for r in records) + "\n"
    (folder / f"{hashlib.sha256(batch.encode()).hexdigest()[:32]}.jsonl.gz").write_bytes(
        gzip.compress(body.encode(), mtime=0))


def raw_lines(root: Path, dt: str) -> list[dict[str, Any]]:
    return [json.loads(line) for path in sorted((root / "raw" / f"dt={dt}").rglob("*.jsonl.gz"))
            for line in gzip.decompress(path.read_bytes()).decode().splitlines() if line]


def utc_naive(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text).astimezone(UTC).replace(tzinfo=None)


def typed(record: dict[str, Any]) -> dict[str, Any]:
    provenance = {name: record.get(name) for name in PROVENANCE_FIELDS}
    return {**record, **provenance, "ts": utc_naive(record["ts"]), "received_at": utc_naive(provenance["received_at"]),
            "latency_ms": None if record["latency_ms"] is None else float(record["latency_ms"])}


def reference_rows(root: Path, dt: str) -> list[dict[str, Any]]:
    """The documented rule, independently: per event_id the best source (logs, then sqs, then
    unstamped), then the first stored (earliest received_at, nulls last), then the smallest
    remaining columns in schema order (nulls last); rows sorted by tenant_id (nulls last), ts,
    event_id."""
    best: dict[str, dict[str, Any]] = {}

    def rank(row: dict[str, Any]) -> tuple:
        return (SOURCE_RANK.get(row["received_via"], 2), row["received_at"] is None, row["received_at"] or 0,
                *((row[f] is None, row[f]) for f in CONTENT))

    for row in map(typed, raw_lines(root, dt)):
        current = best.get(row["event_id"])
        if current is None or rank(row) < rank(current):
            best[row["event_id"]] = row
    return sorted(best.values(), key=lambda r: (r["tenant_id"] is None, r["tenant_id"] or "", r["ts"], r["event_id"]))


def curated_rows(path: Path) -> list[dict[str, Any]]:
    with duckdb.connect() as con:
        cursor = con.execute("SELECT * FROM read_parquet(?, hive_partitioning = false)", [str(path)])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@pytest.fixture
def raw_day(tmp_path: Path) -> dict[str, Any]:
    rng = random.Random(20261128)
    root = tmp_path / "audit"
    ids: dict[str, dict[str, Any]] = {}
    for hour in (0, 5, 13, 23):
        for batch in range(3):
            records = [make(rng, hour) for _ in range(40)]
            ids.update((r["event_id"], r) for r in records)
            records.append(records[3])  # a duplicate line within one object (a producer retry)
            write_raw(root, DT, hour, f"{hour}-{batch}", records)
    # a redelivered batch: the same records again under another key
    write_raw(root, DT, 5, "redelivery", raw_lines(root, DT)[:25])
    # conflicting copies: same event_id, a later ts in another hour -> the earliest copy wins
    early = make(rng, 5, tenant_id="acme", latency_ms=10.0)
    late = {**early, "ts": "2026-11-28T13:30:00.000Z", "latency_ms": 99.0, "tenant_id": "globex"}
    # copies with equal ts: the smaller latency wins; a null tenant loses to a set one (nulls last)
    tie_a = make(rng, 13, tenant_id="initech", latency_ms=7.5)
    tie_b = {**tie_a, "latency_ms": 2.5}
    tie_c = {**tie_a, "tenant_id": None, "latency_ms": 1.0}
    # timestamps without and with microseconds, and a record with every optional field null
    bare = make(rng, 23, ts="2026-11-28T23:59:59Z")
    micro = make(rng, 0, ts="2026-11-28T00:00:00.000001Z")
    empty = json.loads(AuditRecord(event_type="authz.unauthorized", outcome="unauthorized", reason="token_missing",
                                   ts="2026-11-28T00:00:01.000Z").model_dump_json())
    write_raw(root, DT, 5, "conflicts-a", [early, tie_b])
    write_raw(root, DT, 13, "conflicts-b", [late, tie_a, tie_c])
    write_raw(root, DT, 13, "conflicts-c", [bare, micro, empty])  # hour folders need not match ts
    write_raw(root, "2026-11-27", 23, "yesterday", [make(rng, 23, ts="2026-11-27T23:59:00.000Z")])
    return {"root": root, "early": early, "tie_b": tie_b, "rng": rng}


def test_curated_partition_equals_the_reference_dedup(raw_day: dict[str, Any]):
    root = raw_day["root"]
    report = LocalCompactor(root).compact(DT)
    path = root / "curated" / f"dt={DT}" / "data.parquet"
    expected = reference_rows(root, DT)
    rows = curated_rows(path)

    assert report["rows"] == len(rows) == len(expected) == len({r["event_id"] for r in raw_lines(root, DT)})
    assert len(raw_lines(root, DT)) > len(rows)  # there were duplicates to drop
    assert rows == expected  # same rows, same values, same order
    assert [r["tenant_id"] for r in rows] == sorted((r["tenant_id"] for r in rows), key=lambda t: (t is None, t or ""))
    winners = {r["event_id"]: r for r in rows}
    assert winners[raw_day["early"]["event_id"]]["latency_ms"] == 10.0  # earliest ts
    assert winners[raw_day["early"]["event_id"]]["tenant_id"] == "acme"
    tie = winners[raw_day["tie_b"]["event_id"]]
    assert (tie["tenant_id"], tie["latency_ms"]) == ("initech", 2.5)  # equal ts: nulls last, then smallest
    assert all(r["ts"].date().isoformat() == DT for r in rows)


def test_counts_per_tenant_and_event_type_match_an_independent_count(raw_day: dict[str, Any]):
    root = raw_day["root"]
    LocalCompactor(root).compact(DT)
    # independent of the rule: distinct event ids per (tenant, event type), from the records the
    # fixture wrote with a single version (conflicting copies are checked above)
    expected = Counter((r["tenant_id"], r["event_type"]) for r in reference_rows(root, DT))
    with DuckDBEngine(root) as engine:
        _, rows = engine.adhoc("SELECT tenant_id, event_type, count(*) AS n FROM audit_curated "
                               "WHERE dt = ? GROUP BY tenant_id, event_type", ["2026-11-28"])
    assert Counter({(t, e): n for t, e, n in rows}) == expected
    unique = {r["event_id"]: (r["tenant_id"], r["event_type"]) for r in raw_lines(root, DT)}
    assert sum(expected.values()) == len(unique)


def test_curated_columns_are_typed_and_zstd_compressed(raw_day: dict[str, Any]):
    root = raw_day["root"]
    LocalCompactor(root).compact(DT)
    path = str(root / "curated" / f"dt={DT}" / "data.parquet")
    with duckdb.connect() as con:
        described = con.execute("DESCRIBE SELECT * FROM read_parquet(?, hive_partitioning = false)", [path])
        types = {name: kind for name, kind, *_ in described.fetchall()}
        codecs = {row[0] for row in con.execute("SELECT DISTINCT compression FROM parquet_metadata(?)", [path])
                  .fetchall()}
    assert types == {**CURATED_COLUMNS, "status": "INTEGER"}
    assert (types["ts"], types["latency_ms"], types["input_tokens"], types["cold_start"]) == (
        "TIMESTAMP", "DOUBLE", "BIGINT", "BOOLEAN")
    assert "dt" not in types and "hour" not in types  # the partition is the directory
    assert codecs == {"ZSTD"}


def test_rerun_is_idempotent_and_leaves_other_days_alone(raw_day: dict[str, Any]):
    root = raw_day["root"]
    compactor = LocalCompactor(root)
    compactor.compact("2026-11-27")
    yesterday = (root / "curated" / "dt=2026-11-27" / "data.parquet").read_bytes()
    first = compactor.compact(DT)
    path = root / "curated" / f"dt={DT}" / "data.parquet"
    first_bytes, first_rows = path.read_bytes(), curated_rows(path)
    (path.parent / "stray-from-an-older-run.parquet").write_bytes(first_bytes)
    second = compactor.compact(DT)
    assert second["deleted_objects"] == 2 and first["rows"] == second["rows"]
    assert sorted(p.name for p in path.parent.iterdir()) == ["data.parquet"]
    assert curated_rows(path) == first_rows
    assert path.read_bytes() == first_bytes  # byte-identical, not just the same rows
    assert (root / "curated" / "dt=2026-11-27" / "data.parquet").read_bytes() == yesterday
    assert not list((root / "curated").glob(".staging-*"))


def test_late_records_are_picked_up_by_a_rerun(raw_day: dict[str, Any]):
    root, rng = raw_day["root"], raw_day["rng"]
    compactor = LocalCompactor(root)
    before = compactor.compact(DT)["rows"]
    late = [make(rng, 3) for _ in range(5)]
    existing = raw_lines(root, DT)[0]
    earlier_copy = {**raw_day["early"], "ts": "2026-11-28T04:00:00.000Z", "tenant_id": "initech"}
    write_raw(root, DT, 3, "late-arrivals", [*late, existing, earlier_copy])
    with DuckDBEngine(root) as engine:
        _, [(stale,)] = engine.adhoc("SELECT count(*) FROM audit_curated WHERE dt = ?", [DT])
    assert stale == before  # curated lags until the day is compacted again
    after = compactor.compact(DT)
    rows = curated_rows(root / "curated" / f"dt={DT}" / "data.parquet")
    assert after["rows"] == before + 5
    assert rows == reference_rows(root, DT)
    assert {r["event_id"] for r in late} <= {r["event_id"] for r in rows}
    assert next(r for r in rows if r["event_id"] == earlier_copy["event_id"])["tenant_id"] == "initech"


def test_empty_zones_are_typed_empty_views(tmp_path: Path):
    with DuckDBEngine(tmp_path / "nothing-yet") as engine:
        raw_cols, raw = engine.adhoc("SELECT * FROM audit_raw WHERE dt = ?", [DT])
        cur_cols, cur = engine.adhoc("SELECT * FROM audit_curated")
        types = dict(engine.con.execute("SELECT column_name, data_type FROM information_schema.columns "
                                        "WHERE table_name = 'audit_curated'").fetchall())
    assert (raw, cur) == ([], [])
    assert raw_cols == [*RAW_COLUMNS, "dt", "hour"]
    assert cur_cols == [*CURATED_COLUMNS, "dt"]
    assert types["ts"] == "TIMESTAMP" and types["status"] == "INTEGER"
    report = LocalCompactor(tmp_path / "nothing-yet").compact(DT)
    assert report["rows"] == 0
    assert not (tmp_path / "nothing-yet" / "curated" / f"dt={DT}").exists()


def test_cli_compact(raw_day: dict[str, Any], capsys: pytest.CaptureFixture[str]):
    root = raw_day["root"]
    assert cli.main(["compact", "--dt", DT, "--root", str(root)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["rows"] == len(reference_rows(root, DT))
    assert (root / "curated" / f"dt={DT}" / "data.parquet").exists()
    with pytest.raises(SystemExit):
        cli.main(["compact", "--dt", "2026-02-30", "--root", str(root)])
