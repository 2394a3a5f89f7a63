"""AthenaCompactor against real boto3 clients with botocore Stubber: no network, exact calls."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from botocore.stub import ANY, Stubber

from tenantkit.audit.compaction import (
    AthenaCompactor,
    CompactionConfig,
    CompactionError,
    CompactionQueryError,
    CompactionTimeoutError,
    packaged_sql,
    select_statement,
)
from tenantkit_local.querypack import load_query

ROOT = Path(__file__).resolve().parents[2]
DT = "2026-11-28"
CONFIG = CompactionConfig(bucket="tenantkit-audit-test", prefix="lake/", workgroup="tenantkit-audit",
                          database="tenantkit_audit", max_wait_seconds=60)
LOCATION = "s3://tenantkit-audit-test/lake/curated/dt=2026-11-28/"


class FakeTime:
    def __init__(self) -> None:
        self.now, self.sleeps = 1000.0, []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def client(service: str):
    return boto3.client(service, region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing")


@pytest.fixture
def clock() -> FakeTime:
    return FakeTime()


@pytest.fixture
def stubs(clock: FakeTime):
    athena, s3 = client("athena"), client("s3")
    calls: list[str] = []
    for c in (athena, s3):
        c.meta.events.register("before-call.*.*", lambda model, **_: calls.append(model.name))
    with Stubber(athena) as athena_stub, Stubber(s3) as s3_stub:
        compactor = AthenaCompactor(CONFIG, athena=athena, s3=s3, sleep=clock.sleep, clock=clock.clock,
                                    rng=random.Random(7))
        yield compactor, athena_stub, s3_stub, calls
        athena_stub.assert_no_pending_responses()
        s3_stub.assert_no_pending_responses()


RUN = f"run-{random.Random(7).getrandbits(64):016x}"
STAGING = f"lake/curated/_staging/dt={DT}/"
CURATED = f"lake/curated/dt={DT}/"
REJECTS_SQL = select_statement(packaged_sql("audit_partition_rejects.sql"))
REJECTS_HEADER = ["event_id", "problem", "copy_rank", "fingerprint", "ts_text", "received_from", "received_via",
                  "received_at"]


def expect_list(s3_stub: Stubber, prefix: str, keys: list[str] = ()) -> None:
    response = {"IsTruncated": False, "KeyCount": len(keys)}
    if keys:
        response["Contents"] = [{"Key": k} for k in keys]
    s3_stub.add_response("list_objects_v2", response, {"Bucket": CONFIG.bucket, "Prefix": prefix})


def expect_delete(s3_stub: Stubber, keys: list[str]) -> None:
    delete = {"Objects": [{"Key": k} for k in keys], "Quiet": True}
    s3_stub.add_response("delete_objects", {"Deleted": delete["Objects"]}, {"Bucket": CONFIG.bucket, "Delete": delete})


def expect_empty_partition(s3_stub: Stubber, dt: str = DT) -> None:
    """Step 1: no staging left by an interrupted run."""
    expect_list(s3_stub, f"lake/curated/_staging/dt={dt}/")


def expect_start(athena_stub: Stubber, query_id: str = "qe-1", *, dt: str = DT, run: str = RUN) -> None:
    location = f"s3://tenantkit-audit-test/lake/curated/_staging/dt={dt}/{run}/"
    athena_stub.add_response("start_query_execution", {"QueryExecutionId": query_id}, {
        "QueryString": f"UNLOAD (\n{select_statement(packaged_sql())}\n) TO '{location}' "
                       "WITH (format = 'PARQUET', compression = 'ZSTD')",
        "QueryExecutionContext": {"Database": "tenantkit_audit"},
        "WorkGroup": "tenantkit-audit",
        "ExecutionParameters": [f"'{dt}'"],
    })


def expect_rejects(athena_stub: Stubber, rows: list[dict[str, str | None]] = (), query_id: str = "qe-r",
                   *, dt: str = DT) -> None:
    athena_stub.add_response("start_query_execution", {"QueryExecutionId": query_id}, {
        "QueryString": REJECTS_SQL, "QueryExecutionContext": {"Database": "tenantkit_audit"},
        "WorkGroup": "tenantkit-audit", "ExecutionParameters": [f"'{dt}'"]})
    expect_state(athena_stub, "SUCCEEDED", query_id)
    header = {"Data": [{"VarCharValue": name} for name in REJECTS_HEADER]}
    data = [{"Data": [{"VarCharValue": row[n]} if row.get(n) is not None else {} for n in REJECTS_HEADER]}
            for row in rows]
    athena_stub.add_response("get_query_results", {"ResultSet": {"Rows": [header, *data]}},
                             {"QueryExecutionId": query_id})


def expect_swap(s3_stub: Stubber, staged: list[str], old: list[str], *, dt: str = DT, run: str = RUN) -> None:
    staging, curated = f"lake/curated/_staging/dt={dt}/{run}/", f"lake/curated/dt={dt}/"
    expect_list(s3_stub, staging, [staging + name for name in staged])
    expect_list(s3_stub, curated, old)
    for name in staged:
        s3_stub.add_response("copy_object", {}, {"Bucket": CONFIG.bucket, "Key": f"{curated}{run}-{name}",
                                                 "CopySource": {"Bucket": CONFIG.bucket, "Key": staging + name}})
    if staged and old:
        expect_delete(s3_stub, old)
    if staged:
        expect_delete(s3_stub, [staging + name for name in staged])


def expect_state(athena_stub: Stubber, state: str, query_id: str = "qe-1", **status: object) -> None:
    execution = {"QueryExecutionId": query_id, "Status": {"State": state, **status},
                 "Statistics": {"DataScannedInBytes": 123456}}
    athena_stub.add_response("get_query_execution", {"QueryExecution": execution}, {"QueryExecutionId": query_id})


def test_the_layer_ships_the_query_pack_sql_byte_for_byte():
    for name in ("compact_audit_partition", "audit_partition_rejects"):
        packaged = ROOT / f"layers/tenantkit/tenantkit/audit/sql/{name}.sql"
        assert packaged.read_bytes() == (ROOT / f"queries/compaction/{name}.sql").read_bytes()
        assert packaged_sql(f"{name}.sql") == packaged.read_text()
        assert select_statement(packaged_sql(f"{name}.sql")) == load_query(f"compaction/{name}").sql


def test_the_new_day_is_staged_then_swapped_in_and_the_old_one_deleted_after(stubs, clock: FakeTime):
    compactor, athena_stub, s3_stub, calls = stubs
    stale = [f"{STAGING}run-0000000000000001/part-0.parquet"]
    expect_list(s3_stub, STAGING, stale)  # an interrupted run's staging: removed first
    expect_delete(s3_stub, stale)
    expect_start(athena_stub)
    for state in ("QUEUED", "RUNNING", "RUNNING", "RUNNING", "SUCCEEDED"):
        expect_state(athena_stub, state)
    expect_rejects(athena_stub)
    old = [f"{CURATED}run-00000000000000aa-part-{i}.parquet" for i in range(3)]
    expect_swap(s3_stub, ["part-0.parquet", "part-1.parquet"], old)

    report = compactor.compact(DT)

    assert calls == ["ListObjectsV2", "DeleteObjects", "StartQueryExecution", *["GetQueryExecution"] * 5,
                     "StartQueryExecution", "GetQueryExecution", "GetQueryResults", "ListObjectsV2", "ListObjectsV2",
                     "CopyObject", "CopyObject", "DeleteObjects", "DeleteObjects"]
    assert report == {"dt": DT, "query_execution_id": "qe-1", "state": "SUCCEEDED", "data_scanned_bytes": 123456,
                      "output_location": "s3://tenantkit-audit-test/lake/curated/dt=2026-11-28/", "staged_objects": 2,
                      "deleted_objects": 3, "stale_staging_removed": 1, "kept_previous": False, "quarantined": 0,
                      "audit_conflicts": 0, "unconvertible": 0, "rejects_truncated": False,
                      "duration_ms": report["duration_ms"]}
    # exponential backoff with "equal jitter": each wait lies in [step/2, step], step = 1, 2, 4, 8 s
    assert len(clock.sleeps) == 4
    for attempt, waited in enumerate(clock.sleeps):
        assert 2 ** attempt / 2 <= waited <= 2 ** attempt
    assert report["duration_ms"] == round(sum(clock.sleeps) * 1000)


def test_an_unload_without_rows_keeps_the_old_day(stubs):
    compactor, athena_stub, s3_stub, calls = stubs
    expect_empty_partition(s3_stub)
    expect_start(athena_stub)
    expect_state(athena_stub, "SUCCEEDED")
    expect_rejects(athena_stub)
    expect_swap(s3_stub, [], [f"{CURATED}run-00000000000000aa-part-0.parquet"])
    report = compactor.compact(DT)
    assert report["kept_previous"] is True and report["deleted_objects"] == 0
    assert "CopyObject" not in calls and "DeleteObjects" not in calls


def test_rejects_go_to_the_quarantine_with_the_conflicts_counted(stubs):
    compactor, athena_stub, s3_stub, _ = stubs
    kept = {"event_id": "a" * 32, "problem": None, "copy_rank": "1", "fingerprint": "1:1|x", "ts_text": None,
            "received_from": "/aws/lambda/bff", "received_via": "logs", "received_at": "2026-11-28 10:00:00.000"}
    forged = {**kept, "copy_rank": "2", "fingerprint": "1:1|y", "received_from": "arn:aws:sqs:q", "received_via": "sqs"}
    same = {**kept, "copy_rank": "3", "received_from": "arn:aws:sqs:q", "received_via": "sqs"}
    broken = {**kept, "event_id": "b" * 32, "problem": "ts: not an RFC 3339 instant", "copy_rank": "1",
              "ts_text": "2026-11-26T25:10:00Z"}
    expect_empty_partition(s3_stub)
    expect_start(athena_stub)
    expect_state(athena_stub, "SUCCEEDED")
    expect_rejects(athena_stub, [kept, forged, same, broken])
    s3_stub.add_response("put_object", {}, {
        "Bucket": CONFIG.bucket, "Key": f"lake/quarantine/dt={DT}/compaction-rejects.jsonl.gz", "Body": ANY,
        "ContentType": "application/x-ndjson", "ContentEncoding": "gzip"})
    expect_swap(s3_stub, ["part-0.parquet"], [])
    report = compactor.compact(DT)
    assert (report["quarantined"], report["audit_conflicts"], report["unconvertible"]) == (2, 1, 1)


def test_failed_query_raises_with_athenas_reason(stubs):
    compactor, athena_stub, s3_stub, _ = stubs
    expect_empty_partition(s3_stub)
    expect_start(athena_stub)
    expect_state(athena_stub, "RUNNING")
    expect_state(athena_stub, "FAILED", StateChangeReason="HIVE_BAD_DATA: Error parsing field value for ts",
                 AthenaError={"ErrorCategory": 2, "ErrorType": 1003, "Retryable": False})
    with pytest.raises(CompactionQueryError) as caught:
        compactor.compact(DT)
    error = caught.value
    assert (error.dt, error.query_execution_id, error.state) == (DT, "qe-1", "FAILED")
    assert error.athena_reason == "HIVE_BAD_DATA: Error parsing field value for ts"
    assert "HIVE_BAD_DATA" in str(error) and error.reason == "compaction_query_failed"


def test_cancelled_query_is_an_error_too(stubs):
    compactor, athena_stub, s3_stub, _ = stubs
    expect_empty_partition(s3_stub)
    expect_start(athena_stub)
    expect_state(athena_stub, "CANCELLED", AthenaError={"ErrorMessage": "Query cancelled by user"})
    with pytest.raises(CompactionQueryError, match="CANCELLED: Query cancelled by user"):
        compactor.compact(DT)


class MaxJitter(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return b


def test_deadline_exceeded_stops_the_query_and_raises(stubs, clock: FakeTime):
    compactor, athena_stub, s3_stub, calls = stubs
    compactor._rng = MaxJitter(7)
    expect_empty_partition(s3_stub)
    expect_start(athena_stub)
    # 60 s budget; waits 1, 2, 4, 8, then capped at 15, 15, 15 (= 60 s); one last look, then stop
    for _ in range(8):
        expect_state(athena_stub, "RUNNING")
    athena_stub.add_response("stop_query_execution", {}, {"QueryExecutionId": "qe-1"})
    with pytest.raises(CompactionTimeoutError, match="not finished after 60 s; stopped"):
        compactor.compact(DT)
    assert clock.sleeps == [1, 2, 4, 8, 15, 15, 15]
    assert calls[-2:] == ["GetQueryExecution", "StopQueryExecution"]


def test_the_last_wait_is_cut_to_the_deadline(stubs, clock: FakeTime):
    compactor, athena_stub, s3_stub, _ = stubs
    compactor._rng = MaxJitter(7)
    expect_empty_partition(s3_stub)
    expect_start(athena_stub)
    for _ in range(5):
        expect_state(athena_stub, "RUNNING")
    athena_stub.add_response("stop_query_execution", {}, {"QueryExecutionId": "qe-1"})
    with pytest.raises(CompactionTimeoutError):
        compactor.compact(DT, deadline=clock.now + 10)  # the invocation's time left beats max_wait
    assert clock.sleeps == [1, 2, 4, 3]


class LambdaContext:
    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def test_the_invocations_remaining_time_bounds_the_wait(stubs, clock: FakeTime):
    compactor, athena_stub, s3_stub, calls = stubs
    compactor._rng = MaxJitter(7)
    expect_empty_partition(s3_stub)
    expect_start(athena_stub)
    for _ in range(4):
        expect_state(athena_stub, "RUNNING")
    athena_stub.add_response("stop_query_execution", {}, {"QueryExecutionId": "qe-1"})
    with pytest.raises(CompactionError, match=r"1 of 1 partition\(s\) failed; dt=2026-11-28: CompactionTimeoutError"):
        compactor.handle({"dt": DT}, LambdaContext(15_000))  # 15 s left, 10 s kept for the rest
    assert clock.sleeps == [1, 2, 2]
    assert calls[-1] == "StopQueryExecution"


def test_stale_staging_that_cannot_be_deleted_stops_the_run_before_athena(stubs):
    compactor, _, s3_stub, calls = stubs
    key = f"{STAGING}run-0000000000000001/part-0.parquet"
    expect_list(s3_stub, STAGING, [key])
    s3_stub.add_response("delete_objects", {"Errors": [{"Key": key, "Code": "AccessDenied", "Message": "no"}]},
                         {"Bucket": CONFIG.bucket, "Delete": {"Objects": [{"Key": key}], "Quiet": True}})
    with pytest.raises(CompactionError, match=r"1 object\(s\) not deleted, first .*AccessDenied"):
        compactor.compact(DT)
    assert "StartQueryExecution" not in calls


def test_catch_up_compacts_each_previous_day_and_reports_failures_after_trying_all(stubs):
    compactor, athena_stub, s3_stub, _ = stubs
    rng = random.Random(7)
    for dt, query_id, final in (("2026-11-26", "qe-26", "FAILED"), ("2026-11-27", "qe-27", "SUCCEEDED")):
        run = f"run-{rng.getrandbits(64):016x}"
        expect_empty_partition(s3_stub, dt)
        expect_start(athena_stub, query_id, dt=dt, run=run)
        expect_state(athena_stub, final, query_id, StateChangeReason="boom" if final == "FAILED" else "")
        if final == "SUCCEEDED":
            expect_rejects(athena_stub, dt=dt)
            expect_swap(s3_stub, ["part-0.parquet"], [], dt=dt, run=run)
    with pytest.raises(CompactionError, match=r"1 of 2 partition\(s\) failed; dt=2026-11-26: .*boom"):
        compactor.handle({"mode": "catch_up", "days": 2}, None, now=datetime(2026, 11, 28, 2, 30, tzinfo=UTC))


def test_hourly_event_compacts_the_day_of_its_schedule(stubs):
    compactor, athena_stub, s3_stub, _ = stubs
    expect_empty_partition(s3_stub)
    expect_start(athena_stub)
    expect_state(athena_stub, "SUCCEEDED")
    expect_rejects(athena_stub)
    expect_swap(s3_stub, ["part-0.parquet"], [])
    event = json.loads((ROOT / "events/audit_compaction/hourly.json").read_text())
    result = compactor.handle(event, None, now=datetime(2026, 11, 29, 0, 0, 5, tzinfo=UTC))
    assert result["mode"] == "hourly"
    assert [p["dt"] for p in result["partitions"]] == [DT]
