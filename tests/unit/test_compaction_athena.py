"""AthenaCompactor against real boto3 clients with botocore Stubber: no network, exact calls."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
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
from tenantkit.audit.curated_pointer import PARAM_RETIRED, PARAM_RUN, PARAM_SWAPPED_AT, run_id
from tenantkit_local.querypack import load_query

ROOT = Path(__file__).resolve().parents[2]
DT = "2026-11-28"
CONFIG = CompactionConfig(bucket="tenantkit-audit-test", prefix="lake/", workgroup="tenantkit-audit",
                          database="tenantkit_audit", max_wait_seconds=60)
WALL = datetime(2026, 11, 28, 14, 5, 0, tzinfo=UTC)
BUCKET_URL = "s3://tenantkit-audit-test/"


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
    athena, s3, glue = client("athena"), client("s3"), client("glue")
    calls: list[str] = []
    for c in (athena, s3, glue):
        c.meta.events.register("before-call.*.*", lambda model, **_: calls.append(model.name))
    with Stubber(athena) as athena_stub, Stubber(s3) as s3_stub, Stubber(glue) as glue_stub:
        compactor = AthenaCompactor(CONFIG, athena=athena, s3=s3, glue=glue, sleep=clock.sleep, clock=clock.clock,
                                    wall=lambda: WALL, rng=random.Random(7))
        yield compactor, athena_stub, s3_stub, glue_stub, calls
        athena_stub.assert_no_pending_responses()
        s3_stub.assert_no_pending_responses()
        glue_stub.assert_no_pending_responses()


RUN = run_id(WALL, random.Random(7).getrandbits(64))
RUNS = f"lake/curated/runs/dt={DT}/"
TARGET = f"{RUNS}{RUN}/"
LEGACY = f"lake/curated/dt={DT}/"
REJECTS_SQL = select_statement(packaged_sql("audit_partition_rejects.sql"))
REJECTS_HEADER = ["event_id", "problem", "copy_rank", "fingerprint", "ts_text", "received_from", "received_via",
                  "received_at"]
COLUMNS = [{"Name": "event_id", "Type": "string"}, {"Name": "ts", "Type": "timestamp"}]
DESCRIPTOR = {"Columns": COLUMNS,
              "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
              "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
              "SerdeInfo": {"Name": "audit-parquet",
                            "SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"}}
TABLE = {"DatabaseName": "tenantkit_audit", "TableName": "audit_curated"}


def run_prefix(stamp: datetime, token: int, dt: str = DT) -> str:
    return f"lake/curated/runs/dt={dt}/{run_id(stamp, token)}/"


def expect_list(s3_stub: Stubber, prefix: str, keys: list[str] = (), *, common: list[str] | None = None) -> None:
    """ListObjectsV2 of ``prefix``; with ``common`` (even empty), delimited by "/" (the day's run prefixes)."""
    response = {"IsTruncated": False, "KeyCount": len(keys) + len(common or ())}
    if keys:
        response["Contents"] = [{"Key": k} for k in keys]
    expected = {"Bucket": CONFIG.bucket, "Prefix": prefix}
    if common is not None:
        expected["Delimiter"] = "/"
        response["CommonPrefixes"] = [{"Prefix": p} for p in common]
    s3_stub.add_response("list_objects_v2", response, expected)


def expect_delete(s3_stub: Stubber, keys: list[str]) -> None:
    delete = {"Objects": [{"Key": k} for k in keys], "Quiet": True}
    s3_stub.add_response("delete_objects", {"Deleted": delete["Objects"]}, {"Bucket": CONFIG.bucket, "Delete": delete})


def expect_start(athena_stub: Stubber, query_id: str = "qe-1", *, dt: str = DT, run: str = RUN) -> None:
    location = f"s3://tenantkit-audit-test/lake/curated/runs/dt={dt}/{run}/"
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


def partition(dt: str, location: str, retired: dict[str, datetime] | None = None) -> dict:
    return {"Values": [dt], **TABLE, "StorageDescriptor": {**DESCRIPTOR, "Location": BUCKET_URL + location},
            "Parameters": {PARAM_RUN: location.rsplit("/", 2)[-2], PARAM_SWAPPED_AT: "2026-11-28T13:05:00+00:00",
                           PARAM_RETIRED: json.dumps({p: t.isoformat() for p, t in (retired or {}).items()})}}


def expect_read(glue_stub: Stubber, s3_stub: Stubber, current: dict | None, *, dt: str = DT,
                legacy: list[str] = ()) -> None:
    """GetPartition (absent: the earlier layout's day is looked for)."""
    if current is None:
        glue_stub.add_client_error("get_partition", "EntityNotFoundException", "no such partition",
                                   expected_params={**TABLE, "PartitionValues": [dt]})
        expect_list(s3_stub, f"lake/curated/dt={dt}/", list(legacy))
    else:
        glue_stub.add_response("get_partition", {"Partition": current}, {**TABLE, "PartitionValues": [dt]})


def expect_point(glue_stub: Stubber, *, dt: str = DT, run: str | None = RUN, location: str | None = None,
                 retired: dict[str, datetime], create: bool, table_read: bool = True) -> None:
    if table_read:
        glue_stub.add_response("get_table", {"Table": {"Name": "audit_curated", "StorageDescriptor": {
            **DESCRIPTOR, "Location": BUCKET_URL + "lake/curated/"}}}, {"DatabaseName": "tenantkit_audit",
                                                                         "Name": "audit_curated"})
    location = location or f"lake/curated/runs/dt={dt}/{run}/"
    parameters = {PARAM_SWAPPED_AT: WALL.isoformat(timespec="seconds"),
                  PARAM_RETIRED: json.dumps({p: t.isoformat(timespec="seconds") for p, t in sorted(retired.items())},
                                            separators=(",", ":"))}
    if run is not None:
        parameters[PARAM_RUN] = run
    partition_input = {"Values": [dt], "Parameters": parameters,
                       "StorageDescriptor": {**DESCRIPTOR, "Location": BUCKET_URL + location}}
    if create:
        glue_stub.add_response("create_partition", {}, {**TABLE, "PartitionInput": partition_input})
    else:
        glue_stub.add_response("update_partition", {}, {**TABLE, "PartitionValueList": [dt],
                                                        "PartitionInput": partition_input})


def expect_first_day(s3_stub: Stubber, glue_stub: Stubber, staged: list[str], *, dt: str = DT, run: str = RUN,
                     table_read: bool = True) -> None:
    """A day's first run: its objects, no partition, no earlier day, then CreatePartition."""
    target = f"lake/curated/runs/dt={dt}/{run}/"
    expect_list(s3_stub, target, [target + name for name in staged])
    expect_read(glue_stub, s3_stub, None, dt=dt)
    expect_list(s3_stub, f"lake/curated/runs/dt={dt}/", common=[target] if staged else [])
    if staged:
        expect_point(glue_stub, dt=dt, run=run, retired={}, create=True, table_read=table_read)


def expect_sweep(glue_stub: Stubber, partitions: list[dict] = ()) -> None:
    glue_stub.add_response("get_partitions", {"Partitions": list(partitions)}, TABLE)


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


def test_the_new_run_is_unloaded_beside_then_the_partition_switched_then_expired_runs_deleted(stubs, clock):
    compactor, athena_stub, s3_stub, glue_stub, calls = stubs
    served = run_prefix(WALL - timedelta(hours=1), 0xAA)  # the previous run: retired now, kept
    retired_long_ago = run_prefix(WALL - timedelta(hours=4), 0xBB)  # retired 3 h ago: deleted
    retired_lately = run_prefix(WALL - timedelta(hours=2), 0xCC)  # retired 1 h ago: within the grace
    orphan = run_prefix(WALL - timedelta(hours=3), 0xDD)  # a killed run: joins the ledger now, kept
    gone = run_prefix(WALL - timedelta(hours=9), 0xFF)  # deleted earlier: leaves the ledger
    ledger = {retired_long_ago: WALL - timedelta(hours=3), retired_lately: WALL - timedelta(hours=1),
              gone: WALL - timedelta(hours=8)}
    expect_start(athena_stub)
    for state in ("QUEUED", "RUNNING", "RUNNING", "RUNNING", "SUCCEEDED"):
        expect_state(athena_stub, state)
    expect_rejects(athena_stub)
    expect_list(s3_stub, TARGET, [TARGET + "part-0", TARGET + "part-1"])
    expect_read(glue_stub, s3_stub, partition(DT, served, ledger))
    expect_list(s3_stub, RUNS, common=[served, retired_long_ago, retired_lately, orphan, TARGET])
    expect_point(glue_stub, retired={retired_long_ago: ledger[retired_long_ago],
                                     retired_lately: ledger[retired_lately], served: WALL, orphan: WALL}, create=False)
    expect_list(s3_stub, retired_long_ago, [retired_long_ago + "part-0", retired_long_ago + "part-1"])
    expect_delete(s3_stub, [retired_long_ago + "part-0", retired_long_ago + "part-1"])

    report = compactor.compact(DT)

    assert calls == ["StartQueryExecution", *["GetQueryExecution"] * 5, "StartQueryExecution", "GetQueryExecution",
                     "GetQueryResults", "ListObjectsV2", "GetPartition", "ListObjectsV2", "GetTable",
                     "UpdatePartition", "ListObjectsV2", "DeleteObjects"]
    assert report == {"dt": DT, "run": RUN, "query_execution_id": "qe-1", "state": "SUCCEEDED",
                      "data_scanned_bytes": 123456, "output_location": BUCKET_URL + TARGET,
                      "previous_location": BUCKET_URL + served, "swapped": True, "staged_objects": 2,
                      "kept_previous": False, "retired_prefixes_removed": 1, "deleted_objects": 2, "quarantined": 0,
                      "audit_conflicts": 0, "unconvertible": 0, "rejects_truncated": False,
                      "duration_ms": report["duration_ms"]}
    # exponential backoff with "equal jitter": each wait lies in [step/2, step], step = 1, 2, 4, 8 s
    assert len(clock.sleeps) == 4
    for attempt, waited in enumerate(clock.sleeps):
        assert 2 ** attempt / 2 <= waited <= 2 ** attempt
    assert report["duration_ms"] == round(sum(clock.sleeps) * 1000)


def test_a_days_first_run_creates_its_partition(stubs):
    compactor, athena_stub, s3_stub, glue_stub, calls = stubs
    expect_start(athena_stub)
    expect_state(athena_stub, "SUCCEEDED")
    expect_rejects(athena_stub)
    expect_first_day(s3_stub, glue_stub, ["part-0"])
    report = compactor.compact(DT)
    assert (report["swapped"], report["previous_location"], report["output_location"]) == (
        True, None, BUCKET_URL + TARGET)
    assert "CreatePartition" in calls and "DeleteObjects" not in calls


def test_a_concurrent_first_run_makes_create_an_update_keeping_its_prefix_in_the_ledger(stubs):
    compactor, athena_stub, s3_stub, glue_stub, _ = stubs
    other = run_prefix(WALL - timedelta(minutes=3), 0x11)
    expect_start(athena_stub)
    expect_state(athena_stub, "SUCCEEDED")
    expect_rejects(athena_stub)
    expect_list(s3_stub, TARGET, [TARGET + "part-0"])
    expect_read(glue_stub, s3_stub, None)
    expect_list(s3_stub, RUNS, common=[TARGET])  # listed before the other run's UNLOAD finished
    glue_stub.add_response("get_table", {"Table": {"Name": "audit_curated", "StorageDescriptor": DESCRIPTOR}},
                           {"DatabaseName": "tenantkit_audit", "Name": "audit_curated"})
    glue_stub.add_client_error("create_partition", "AlreadyExistsException", "exists")
    expect_read(glue_stub, s3_stub, partition(DT, other))
    expect_point(glue_stub, retired={other: WALL}, create=False, table_read=False)
    assert compactor.compact(DT)["previous_location"] is None


def test_an_unload_without_rows_keeps_the_served_day_and_deletes_only_old_unnamed_runs(stubs):
    compactor, athena_stub, s3_stub, glue_stub, calls = stubs
    served = run_prefix(WALL - timedelta(hours=1), 0xAA)
    orphan_old = run_prefix(WALL - timedelta(hours=1, minutes=32), 0xDD)  # grace + 30 min + 60 s: gone
    orphan_young = run_prefix(WALL - timedelta(hours=1, minutes=30), 0xEE)  # may have been served: kept
    expect_start(athena_stub)
    expect_state(athena_stub, "SUCCEEDED")
    expect_rejects(athena_stub)
    expect_list(s3_stub, TARGET)
    expect_read(glue_stub, s3_stub, partition(DT, served))
    expect_list(s3_stub, RUNS, common=[served, orphan_old, orphan_young])
    expect_list(s3_stub, orphan_old, [orphan_old + "part-0"])
    expect_delete(s3_stub, [orphan_old + "part-0"])
    report = compactor.compact(DT)
    assert report["kept_previous"] is True and report["swapped"] is False
    assert report["output_location"] == BUCKET_URL + served and report["retired_prefixes_removed"] == 1
    assert "UpdatePartition" not in calls


def test_a_day_of_the_earlier_layout_without_raw_rows_is_registered_where_it_is(stubs):
    compactor, athena_stub, s3_stub, glue_stub, _ = stubs
    expect_start(athena_stub)
    expect_state(athena_stub, "SUCCEEDED")
    expect_rejects(athena_stub)
    expect_list(s3_stub, TARGET)
    expect_read(glue_stub, s3_stub, None, legacy=[LEGACY + "run-00000000000000aa-part-0"])
    expect_list(s3_stub, RUNS, common=[])
    expect_point(glue_stub, run=None, location=LEGACY, retired={}, create=True)
    report = compactor.compact(DT)
    assert report["output_location"] == BUCKET_URL + LEGACY and report["kept_previous"] is True


def test_a_day_of_the_earlier_layout_is_replaced_and_retired_like_a_run(stubs):
    compactor, athena_stub, s3_stub, glue_stub, _ = stubs
    expect_start(athena_stub)
    expect_state(athena_stub, "SUCCEEDED")
    expect_rejects(athena_stub)
    expect_list(s3_stub, TARGET, [TARGET + "part-0"])
    expect_read(glue_stub, s3_stub, None, legacy=[LEGACY + "run-00000000000000aa-part-0"])
    expect_list(s3_stub, RUNS, common=[TARGET])
    expect_point(glue_stub, retired={LEGACY: WALL}, create=True)
    assert compactor.compact(DT)["previous_location"] == BUCKET_URL + LEGACY


def test_rejects_go_to_the_quarantine_with_the_conflicts_counted(stubs):
    compactor, athena_stub, s3_stub, glue_stub, _ = stubs
    kept = {"event_id": "a" * 32, "problem": None, "copy_rank": "1", "fingerprint": "1:1|x", "ts_text": None,
            "received_from": "/aws/lambda/bff", "received_via": "logs", "received_at": "2026-11-28 10:00:00.000"}
    forged = {**kept, "copy_rank": "2", "fingerprint": "1:1|y", "received_from": "arn:aws:sqs:q", "received_via": "sqs"}
    same = {**kept, "copy_rank": "3", "received_from": "arn:aws:sqs:q", "received_via": "sqs"}
    broken = {**kept, "event_id": "b" * 32, "problem": "ts: not an RFC 3339 instant", "copy_rank": "1",
              "ts_text": "2026-11-26T25:10:00Z"}
    expect_start(athena_stub)
    expect_state(athena_stub, "SUCCEEDED")
    expect_rejects(athena_stub, [kept, forged, same, broken])
    s3_stub.add_response("put_object", {}, {
        "Bucket": CONFIG.bucket, "Key": f"lake/quarantine/dt={DT}/compaction-rejects.jsonl.gz", "Body": ANY,
        "ContentType": "application/x-ndjson", "ContentEncoding": "gzip"})
    expect_first_day(s3_stub, glue_stub, ["part-0"])
    report = compactor.compact(DT)
    assert (report["quarantined"], report["audit_conflicts"], report["unconvertible"]) == (2, 1, 1)


def test_failed_query_raises_with_athenas_reason_and_touches_no_partition(stubs):
    compactor, athena_stub, _, _, calls = stubs
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
    assert not [c for c in calls if c.endswith("Partition")]


def test_cancelled_query_is_an_error_too(stubs):
    compactor, athena_stub, *_ = stubs
    expect_start(athena_stub)
    expect_state(athena_stub, "CANCELLED", AthenaError={"ErrorMessage": "Query cancelled by user"})
    with pytest.raises(CompactionQueryError, match="CANCELLED: Query cancelled by user"):
        compactor.compact(DT)


class MaxJitter(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return b


def test_deadline_exceeded_stops_the_query_and_raises(stubs, clock: FakeTime):
    compactor, athena_stub, _, _, calls = stubs
    compactor._rng = MaxJitter(7)
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
    compactor, athena_stub, *_ = stubs
    compactor._rng = MaxJitter(7)
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
    compactor, athena_stub, _, glue_stub, calls = stubs
    compactor._rng = MaxJitter(7)
    expect_start(athena_stub)
    for _ in range(4):
        expect_state(athena_stub, "RUNNING")
    athena_stub.add_response("stop_query_execution", {}, {"QueryExecutionId": "qe-1"})
    expect_sweep(glue_stub)
    with pytest.raises(CompactionError, match=r"1 of 1 partition\(s\) failed; dt=2026-11-28: CompactionTimeoutError"):
        compactor.handle({"dt": DT}, LambdaContext(15_000))  # 15 s left, 10 s kept for the rest
    assert clock.sleeps == [1, 2, 2]
    assert calls[-2:] == ["StopQueryExecution", "GetPartitions"]


def test_a_retired_prefix_that_cannot_be_deleted_fails_the_run_after_the_swap(stubs):
    compactor, athena_stub, s3_stub, glue_stub, calls = stubs
    old = run_prefix(WALL - timedelta(hours=4), 0xDD)
    served = run_prefix(WALL - timedelta(hours=1), 0xAA)
    expect_start(athena_stub)
    expect_state(athena_stub, "SUCCEEDED")
    expect_rejects(athena_stub)
    expect_list(s3_stub, TARGET, [TARGET + "part-0"])
    expect_read(glue_stub, s3_stub, partition(DT, served, {old: WALL - timedelta(hours=3)}))
    expect_list(s3_stub, RUNS, common=[old, served, TARGET])
    expect_point(glue_stub, retired={old: WALL - timedelta(hours=3), served: WALL}, create=False)
    expect_list(s3_stub, old, [old + "part-0"])
    s3_stub.add_response("delete_objects", {"Errors": [{"Key": old + "part-0", "Code": "AccessDenied"}]},
                         {"Bucket": CONFIG.bucket, "Delete": {"Objects": [{"Key": old + "part-0"}], "Quiet": True}})
    with pytest.raises(CompactionError, match=r"1 object\(s\) not deleted, first .*AccessDenied"):
        compactor.compact(DT)
    assert calls.index("UpdatePartition") < calls.index("DeleteObjects")


def test_catch_up_compacts_each_previous_day_and_reports_failures_after_trying_all(stubs):
    compactor, athena_stub, s3_stub, glue_stub, _ = stubs
    rng = random.Random(7)
    for dt, query_id, final in (("2026-11-26", "qe-26", "FAILED"), ("2026-11-27", "qe-27", "SUCCEEDED")):
        run = run_id(WALL, rng.getrandbits(64))
        expect_start(athena_stub, query_id, dt=dt, run=run)
        expect_state(athena_stub, final, query_id, StateChangeReason="boom" if final == "FAILED" else "")
        if final == "SUCCEEDED":
            expect_rejects(athena_stub, dt=dt)
            expect_first_day(s3_stub, glue_stub, ["part-0"], dt=dt, run=run)
    expect_sweep(glue_stub)
    with pytest.raises(CompactionError, match=r"1 of 2 partition\(s\) failed; dt=2026-11-26: .*boom"):
        compactor.handle({"mode": "catch_up", "days": 2}, None, now=datetime(2026, 11, 28, 2, 30, tzinfo=UTC))


def test_hourly_event_compacts_the_day_of_its_schedule_and_sweeps_the_other_recent_days(stubs):
    compactor, athena_stub, s3_stub, glue_stub, _ = stubs
    expect_start(athena_stub)
    expect_state(athena_stub, "SUCCEEDED")
    expect_rejects(athena_stub)
    expect_first_day(s3_stub, glue_stub, ["part-0"])
    yesterday = "2026-11-27"
    served = run_prefix(WALL - timedelta(hours=30), 0x1, yesterday)
    superseded = run_prefix(WALL - timedelta(hours=31), 0x2, yesterday)
    recent = partition(yesterday, served, {superseded: WALL - timedelta(hours=30)})
    recent["Parameters"][PARAM_SWAPPED_AT] = (WALL - timedelta(hours=30)).isoformat()
    ancient = partition("2026-10-01", run_prefix(datetime(2026, 10, 2, tzinfo=UTC), 0x3, "2026-10-01"))
    ancient["Parameters"][PARAM_SWAPPED_AT] = "2026-10-02T00:00:00+00:00"
    today = partition(DT, TARGET)
    today["Parameters"][PARAM_SWAPPED_AT] = WALL.isoformat()
    expect_sweep(glue_stub, [ancient, recent, today])  # today was just done; 2026-10-01 is out of the window
    expect_list(s3_stub, f"lake/curated/runs/dt={yesterday}/", common=[served, superseded])
    expect_list(s3_stub, superseded, [superseded + "part-0"])
    expect_delete(s3_stub, [superseded + "part-0"])
    event = json.loads((ROOT / "events/audit_compaction/hourly.json").read_text())
    result = compactor.handle(event, None, now=datetime(2026, 11, 29, 0, 0, 5, tzinfo=UTC))
    assert result["mode"] == "hourly"
    assert [p["dt"] for p in result["partitions"]] == [DT]
    assert result["swept"] == {"days": 1, "retired_prefixes_removed": 1, "deleted_objects": 1}


def test_a_failed_sweep_fails_the_invocation_after_the_days_compacted(stubs):
    compactor, athena_stub, s3_stub, glue_stub, _ = stubs
    expect_start(athena_stub)
    expect_state(athena_stub, "SUCCEEDED")
    expect_rejects(athena_stub)
    expect_first_day(s3_stub, glue_stub, ["part-0"])
    glue_stub.add_client_error("get_partitions", "AccessDeniedException", "no")
    with pytest.raises(CompactionError, match="every partition compacted; the sweep failed"):
        compactor.handle({"dt": DT}, None)


def test_each_invocation_reads_the_tables_schema_once_so_a_new_column_reaches_new_partitions(stubs):
    compactor, athena_stub, s3_stub, glue_stub, calls = stubs
    rng = random.Random(7)
    for _ in range(2):
        run = run_id(WALL, rng.getrandbits(64))
        expect_start(athena_stub, run=run)
        expect_state(athena_stub, "SUCCEEDED")
        expect_rejects(athena_stub)
        expect_first_day(s3_stub, glue_stub, ["part-0"], run=run)
        expect_sweep(glue_stub)
    compactor.handle({"dt": DT}, None)
    compactor.handle({"dt": DT}, None)
    assert calls.count("GetTable") == 2
