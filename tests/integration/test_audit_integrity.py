"""Audit integrity end to end on the local engine: the sink (local directory raw zone) and the
local compaction of the query pack.

* Forged copies of a genuine record (earlier ts, other content, another source), delivered in
  any order, before or after the genuine one, in the same or in other batches: the curated row
  is the genuine record, and every differing copy is an ``audit.conflict`` in quarantine.
* Records without event_id or ts, or with an impossible or out-of-bounds ts, are quarantined
  with a field-level reason; their day still compacts.
* Local compaction killed at every step: readers see the old day or the new one, never an
  empty one, and the next run leaves no staging file.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.audit import ARRIVAL_MS, cloudwatch_event, record, sqs_event
from tenantkit.audit.sink import AuditSink
from tenantkit.audit.storage import LocalStorage
from tenantkit_local.compaction import STEPS, LocalCompactor
from tenantkit_local.duckdb_engine import DuckDBEngine

pytestmark = pytest.mark.integration

DT = "2026-11-28"
BFF_GROUP = "/aws/lambda/tenantkit-bff"
QUEUE = "arn:aws:sqs:us-east-1:123456789012:tenantkit-audit"


def curated(root: Path, dt: str = DT) -> list[dict[str, Any]]:
    with DuckDBEngine(root) as engine:
        names, rows = engine.adhoc("SELECT * FROM audit_curated WHERE dt = ? ORDER BY event_id", [dt])
    return [dict(zip(names, row, strict=True)) for row in rows]


def quarantined(root: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for path in sorted((root / "quarantine").rglob("*.jsonl.gz"))
            for line in gzip.decompress(path.read_bytes()).decode().splitlines() if line]


def sink_at(root: Path) -> AuditSink:
    return AuditSink(LocalStorage(root), clock=lambda: ARRIVAL_MS / 1000)


# --- forged copies never replace the genuine record --------------------------------------

GENUINE = record(event_type="tenant.spoof_rejected", ts="2026-11-28T10:15:00.000Z", tenant="acme",
                 outcome="rejected", reason="tenant_mismatch", status=403)
FORGERIES = {
    "earlier_ts": {**GENUINE, "ts": "2026-11-28T10:14:59.999Z"},
    "other_content": {**GENUINE, "event_type": "request.completed", "outcome": "success", "reason": "http_200",
                      "status": 200},
    "other_tenant_earlier": {**GENUINE, "tenant_id": "globex", "ts": "2026-11-28T00:00:00.000Z"},
}
# (forgery, path, arrival offset in ms relative to the genuine record's arrival). A queue copy
# may arrive before or after the genuine one; a later delivery of the same log group always
# arrives after it (only the function itself can write its group).
deliveries = st.lists(st.one_of(
    st.tuples(st.sampled_from(sorted(FORGERIES)), st.just("sqs"), st.integers(-60_000, 60_000)),
    st.tuples(st.sampled_from(sorted(FORGERIES)), st.just("logs"), st.integers(1, 60_000)),
), min_size=1, max_size=4)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(forgeries=deliveries, order=st.randoms(use_true_random=False))
def test_forged_copies_never_replace_the_genuine_record(tmp_path_factory, forgeries, order):
    root = tmp_path_factory.mktemp("lake")
    sink = sink_at(root)
    events = [cloudwatch_event([json.dumps(GENUINE)], group=BFF_GROUP, first_id=1)]
    for index, (name, path, offset) in enumerate(forgeries):
        line = json.dumps(FORGERIES[name])
        events.append(sqs_event([(f"forged-{index}", line)], arrival_ms=ARRIVAL_MS + offset) if path == "sqs" else
                      cloudwatch_event([line], group=BFF_GROUP, first_id=100 + index, arrival_ms=ARRIVAL_MS + offset))
    order.shuffle(events)  # the order the sink handles them in does not matter, only arrival
    for event in events:
        sink.handle(event)
    LocalCompactor(root).compact(DT)

    [row] = curated(root)
    produced = {k: row[k] for k in ("event_type", "tenant_id", "outcome", "reason", "status")}
    assert produced == {"event_type": "tenant.spoof_rejected", "tenant_id": "acme", "outcome": "rejected",
                        "reason": "tenant_mismatch", "status": 403}
    assert row["ts"].isoformat() == "2026-11-28T10:15:00"
    assert (row["received_via"], row["received_from"]) == ("logs", BFF_GROUP)
    conflicts = [q for q in quarantined(root) if q["reason"] == "audit.conflict"]
    assert {q["event_id"] for q in conflicts} == {GENUINE["event_id"]}
    # every differing copy is reported (identical forgeries of one kind are redeliveries of
    # each other; the report names each stored copy that differs from the kept one)
    assert len(conflicts) == len(forgeries)


def test_within_one_source_the_first_stored_copy_wins_whatever_its_ts(tmp_path: Path):
    sink = sink_at(tmp_path)
    first = record(ts="2026-11-28T10:00:00.000Z", tenant="acme")
    later_but_earlier_ts = {**first, "ts": "2026-11-28T09:00:00.000Z", "tenant_id": "globex"}
    sink.handle(sqs_event([("m1", json.dumps(first))], arrival_ms=ARRIVAL_MS))
    sink.handle(sqs_event([("m2", json.dumps(later_but_earlier_ts))], arrival_ms=ARRIVAL_MS + 1))
    report = LocalCompactor(tmp_path).compact(DT)
    [row] = curated(tmp_path)
    assert row["tenant_id"] == "acme" and report["audit_conflicts"] == 1
    [conflict] = quarantined(tmp_path)
    assert conflict["event_id"] == first["event_id"] and "tenant_id: differs from the kept copy" in conflict["errors"]
    assert "ts: differs from the kept copy" in conflict["errors"]


def test_identical_redeliveries_stay_silent(tmp_path: Path):
    sink = sink_at(tmp_path)
    line = json.dumps(record())
    sink.handle(cloudwatch_event([line, line], group=BFF_GROUP))
    sink.handle(sqs_event([("m1", line)]))
    sink.handle(sqs_event([("m2", line)], arrival_ms=ARRIVAL_MS + 5))
    report = LocalCompactor(tmp_path).compact(DT)
    assert report["rows"] == 1 and report["audit_conflicts"] == 0 and report["quarantined"] == 0
    assert quarantined(tmp_path) == []


def test_producers_cannot_set_the_provenance_fields(tmp_path: Path):
    sink = sink_at(tmp_path)
    forged = {**record(), "received_via": "logs", "received_from": BFF_GROUP}
    result = sink.handle(sqs_event([("m1", json.dumps(forged))]))
    assert result == {"batchItemFailures": []}
    [entry] = quarantined(tmp_path)
    assert entry["reason"] == "schema_invalid" and any(e.startswith("received_via") for e in entry["errors"])
    assert not (tmp_path / "raw").exists()


def test_a_delivery_from_an_unsubscribed_log_group_is_quarantined(tmp_path: Path):
    from tenantkit.audit.sink import SinkLimits

    sink = AuditSink(LocalStorage(tmp_path), limits=SinkLimits(log_groups=frozenset({BFF_GROUP})))
    sink.handle(cloudwatch_event([json.dumps(record())], group="/aws/lambda/someone-else"))
    [entry] = quarantined(tmp_path)
    assert entry["reason"] == "source_untrusted" and entry["source"] == "/aws/lambda/someone-else"


# --- no invented fields; impossible ts quarantined; the day still compacts ----------------

def without(field: str) -> dict[str, Any]:
    value = record()
    del value[field]
    return value


BAD_RECORDS = {
    "event_id": (without("event_id"), "event_id: Field required"),
    "ts": (without("ts"), "ts: Field required"),
    "hour 25": ({**record(), "ts": "2026-11-28T25:10:00Z"}, "ts: Value error"),
    "Feb 30": ({**record(), "ts": "2026-02-30T10:00:00Z"}, "ts: Value error"),
    "future": ({**record(), "ts": "2026-11-28T12:05:01.000Z"}, "ts: later than its arrival"),
    "too old": ({**record(), "ts": "2026-11-01T00:00:00.000Z"}, "ts: older than 14 days"),
}


@pytest.mark.parametrize("case", sorted(BAD_RECORDS))
def test_records_without_identity_or_with_impossible_ts_are_quarantined_and_the_day_compacts(tmp_path: Path, case):
    bad, reason = BAD_RECORDS[case]
    good = [record(ts=f"2026-11-28T1{i}:00:00.000Z") for i in range(2)]
    sink = sink_at(tmp_path)
    sink.handle(sqs_event([("m1", "\n".join(json.dumps(r) for r in [good[0], bad, good[1]]))]))
    sink.handle(sqs_event([("m2", json.dumps(bad))]))  # the same bad record again: never two rows
    [first, second] = quarantined(tmp_path)
    assert first == second or first["raw"] == second["raw"]
    assert any(error.startswith(reason) for error in first["errors"]), first["errors"]
    report = LocalCompactor(tmp_path).compact(DT)
    assert report["rows"] == 2 and sorted(r["event_id"] for r in curated(tmp_path)) == sorted(
        r["event_id"] for r in good)


def test_compaction_quarantines_raw_lines_it_cannot_convert_and_compacts_the_rest(tmp_path: Path):
    """Lines no sink wrote (an older sink, a restore): the day still compacts without them."""
    good = record(ts="2026-11-28T10:00:00.000Z")
    broken = [{**record(), "ts": "2026-11-28T25:10:00Z"}, {**record(), "event_id": None},
              {**record(), "ts": "2026-11-29T01:00:00.000Z"}, {**record(), "ts": "yesterday"},
              {**record(), "event_id": "NOT-HEX"}]
    folder = tmp_path / "raw" / f"dt={DT}" / "hour=10"
    folder.mkdir(parents=True)
    body = "\n".join(json.dumps(r) for r in [good, *broken]) + "\n"
    (folder / "legacy.jsonl.gz").write_bytes(gzip.compress(body.encode(), mtime=0))
    report = LocalCompactor(tmp_path).compact(DT)
    assert report["rows"] == 1 and report["unconvertible"] == 5
    reasons = sorted(q["errors"][0] for q in quarantined(tmp_path))
    assert reasons == ["event_id: missing", "event_id: not 32 lower-case hex digits",
                       "ts: not an RFC 3339 instant", "ts: not an RFC 3339 instant", "ts: outside the partition day"]


# --- local compaction killed at every step ------------------------------------------------

class Killed(BaseException):
    """The process died: no except clause sees it, no cleanup runs."""


def kill_at(step: str):
    def checkpoint(current: str) -> None:
        if current == step:
            raise Killed
    return checkpoint


@pytest.mark.parametrize("step", STEPS)
def test_a_kill_at_any_step_leaves_readers_the_old_or_the_new_day(tmp_path: Path, step: str):
    sink = sink_at(tmp_path)
    old = [record(ts=f"2026-11-28T10:0{i}:00.000Z") for i in range(3)]
    sink.handle(sqs_event([("m1", "\n".join(json.dumps(r) for r in old))]))
    LocalCompactor(tmp_path).compact(DT)
    new = [record(ts=f"2026-11-28T11:0{i}:00.000Z") for i in range(2)]
    sink.handle(sqs_event([("m2", "\n".join(json.dumps(r) for r in new))]))
    old_ids = {r["event_id"] for r in old}
    new_ids = old_ids | {r["event_id"] for r in new}

    with pytest.raises(Killed):
        LocalCompactor(tmp_path, checkpoint=kill_at(step)).compact(DT)
    seen = {r["event_id"] for r in curated(tmp_path)}
    assert seen in (old_ids, new_ids)

    report = LocalCompactor(tmp_path).compact(DT)
    assert {r["event_id"] for r in curated(tmp_path)} == new_ids
    assert not list((tmp_path / "curated").glob(".staging-*"))
    assert report["stale_staging_removed"] in (0, 1)


def test_an_empty_raw_day_never_empties_the_curated_day(tmp_path: Path):
    sink = sink_at(tmp_path)
    sink.handle(sqs_event([("m1", json.dumps(record()))]))
    LocalCompactor(tmp_path).compact(DT)
    for path in (tmp_path / "raw").rglob("*.jsonl.gz"):
        path.unlink()  # the raw objects expired (lifecycle); the curated day is the record now
    report = LocalCompactor(tmp_path).compact(DT)
    assert report["kept_previous"] is True and len(curated(tmp_path)) == 1


def test_a_curated_day_written_before_the_provenance_columns_still_reads(tmp_path: Path):
    import duckdb

    folder = tmp_path / "curated" / f"dt={DT}"
    folder.mkdir(parents=True)
    with duckdb.connect() as con:  # a day compacted by an older release: no received_* columns
        con.execute(f"COPY (SELECT '{'a' * 32}' AS event_id, 'acme' AS tenant_id) TO '{folder / 'data.parquet'}' "
                    "(FORMAT PARQUET)")
    [row] = curated(tmp_path)
    assert (row["event_id"], row["tenant_id"]) == ("a" * 32, "acme")
    assert (row["received_via"], row["received_at"]) == (None, None)
    sink_at(tmp_path).handle(sqs_event([("m1", json.dumps(record()))]))
    assert LocalCompactor(tmp_path).compact(DT)["rows"] == 1  # and recompaction replaces it
