"""Audit sink against moto S3 on 127.0.0.1 with injected write failures and redeliveries:
every valid record ends up in the raw zone exactly once, failures are reported per message,
invalid records are quarantined with their reason."""

from __future__ import annotations

import gzip
import json
import random

import pytest

from support.audit import cloudwatch_event, record, sqs_event
from tenantkit.audit.sink import PROVENANCE_FIELDS, AuditSink, SinkEventError
from tenantkit.audit.storage import S3Storage, StorageDecorator
from tenantkit_local.cloud import MotoServer
from tenantkit_local.compaction import LocalCompactor
from tenantkit_local.duckdb_engine import DuckDBEngine

pytestmark = pytest.mark.integration


class FlakyStorage(StorageDecorator):
    """Wraps a real storage; fails a seeded share of puts, remembering which keys failed."""

    def __init__(self, inner: S3Storage, rng: random.Random, failure_rate: float) -> None:
        super().__init__(inner)
        self.rng, self.failure_rate = rng, failure_rate
        self.failed_keys: list[str] = []

    def put(self, key: str, data: bytes) -> None:
        if self.rng.random() < self.failure_rate:
            self.failed_keys.append(key)
            raise ConnectionError("injected S3 failure")
        self.inner.put(key, data)


@pytest.fixture(scope="module")
def moto():
    server = MotoServer().start()
    yield server
    server.stop()


@pytest.fixture
def bucket(moto, request):
    name = f"audit-{request.node.name[:40].lower().replace('_', '-').replace('[', '-').replace(']', '')}"
    moto.client("s3").create_bucket(Bucket=name)
    return S3Storage(name, "lake", client_factory=lambda: moto.client("s3"))


def lines_in(storage, prefix: str) -> list[dict]:
    return [json.loads(line) for key in storage.list(prefix)
            for line in gzip.decompress(storage.get(key)).decode().splitlines() if line]


def producer_fields(stored: dict) -> dict:
    """A raw line without the sink's provenance stamp: what the producer sent."""
    return {k: v for k, v in stored.items() if k not in PROVENANCE_FIELDS}


def test_random_failures_and_redeliveries_lose_nothing_and_double_nothing(bucket, tmp_path):
    rng = random.Random(20261128)
    flaky = FlakyStorage(bucket, rng, failure_rate=0.2)
    sink = AuditSink(flaky, clock=lambda: 1795860900.0)
    valid: dict[str, dict] = {}
    messages: list[tuple[str, str]] = []
    invalid = 0
    for m in range(40):
        batch = []
        for i in range(rng.randint(5, 30)):
            hour = rng.choice(["09", "10", "11"])
            rec = record(tenant=rng.choice(["acme", "globex", "initech"]), ts=f"2026-11-28T{hour}:0{i % 10}:00.000Z")
            valid[rec["event_id"]] = rec
            batch.append(json.dumps(rec))
        if m % 7 == 0:  # a bad record inside an otherwise good message
            batch.append(json.dumps({**record(), "status": 999}))
            invalid += 1
        messages.append((f"msg-{m:03d}", "\n".join(batch)))

    pending = list(messages)
    deliveries = 0
    while pending:
        deliveries += 1
        assert deliveries < 300, "failures never drained"
        batch = [pending.pop(0) for _ in range(min(10, len(pending)))]
        flaky.failed_keys.clear()
        response = sink.handle(sqs_event(batch))
        failed_ids = {f["itemIdentifier"] for f in response["batchItemFailures"]}
        # exactly the messages whose writes failed are reported
        failed_messages = {key.rsplit("/", 1)[1].removeprefix("sqs-").removesuffix(".jsonl.gz")
                           for key in flaky.failed_keys}
        assert failed_ids == failed_messages
        pending.extend(m for m in batch if m[0] in failed_ids)
        if rng.random() < 0.3:  # at-least-once delivery: a successful message comes back again
            pending.append(rng.choice([m for m in batch if m[0] not in failed_ids] or batch))

    stored = lines_in(bucket, "raw/")
    assert sorted(r["event_id"] for r in stored) == sorted(valid)  # each exactly once
    assert {r["event_id"]: producer_fields(r) for r in stored} == valid
    assert {(r["received_via"], r["received_from"], r["received_at"]) for r in stored} == {
        ("sqs", "arn:aws:sqs:us-east-1:123456789012:tenantkit-audit", "2026-11-28T12:00:00.000Z")}
    quarantined = lines_in(bucket, "quarantine/")
    assert len(quarantined) == invalid
    assert all(q["reason"] == "schema_invalid" and any("status" in e for e in q["errors"]) for q in quarantined)
    for key in bucket.list("raw/"):
        dt, hour = key.split("/")[1:3]
        assert dt == "dt=2026-11-28" and hour in ("hour=09", "hour=10", "hour=11")
    # ... and after compaction of the day (the query pack on DuckDB over a copy of the bucket),
    # every valid record is in the curated zone exactly once
    root = tmp_path / "lake"
    for key in bucket.list("raw/"):
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_bytes(bucket.get(key))
    LocalCompactor(root).compact("2026-11-28")
    with DuckDBEngine(root) as engine:
        _, rows = engine.adhoc("select event_id, count(*) from audit_curated group by 1")
    assert sorted(event_id for event_id, _ in rows) == sorted(valid) and {n for _, n in rows} == {1}


def test_cloudwatch_delivery_is_idempotent_and_skips_foreign_lines(bucket):
    sink = AuditSink(bucket, clock=lambda: 1795860900.0)
    records = [record(ts="2026-11-28T10:00:00.000Z"), record(tenant="globex", ts="2026-11-28T11:30:00.000Z")]
    messages = [json.dumps(r) for r in records] + ['{"level":"INFO","message":"not audit"}', "START RequestId: x",
                                                   json.dumps({**record(), "outcome": "maybe"})]
    event = cloudwatch_event(messages)
    first = sink.handle(event)
    second = sink.handle(event)  # Lambda retry of the same delivery
    assert first == second == {"written": 2, "quarantined": 1, "duplicates": 0, "conflicts": 0, "objects": 3}
    assert sorted(r["event_id"] for r in lines_in(bucket, "raw/")) == sorted(r["event_id"] for r in records)
    assert len(bucket.list("raw/")) == 2 and len(bucket.list("quarantine/")) == 1
    q = lines_in(bucket, "quarantine/")[0]
    assert (q["source"], q["received_via"]) == ("/aws/lambda/tenantkit-bff", "logs") and "outcome" in q["errors"][0]


def test_objects_are_byte_identical_on_redelivery(bucket):
    sink = AuditSink(bucket)
    event = cloudwatch_event([json.dumps(record())])
    sink.handle(event)
    key = bucket.list("raw/")[0]
    before = bucket.get(key)
    sink.handle(event)
    assert bucket.get(key) == before


def test_control_message_and_storage_failure(bucket):
    sink = AuditSink(bucket)
    assert sink.handle(cloudwatch_event([], message_type="CONTROL_MESSAGE"))["written"] == 0
    failing = AuditSink(FlakyStorage(bucket, random.Random(1), failure_rate=1.0))
    with pytest.raises(ConnectionError):  # raised, so Lambda retries and then parks it in the DLQ
        failing.handle(cloudwatch_event([json.dumps(record())]))


def test_unknown_and_undecodable_events_are_typed_errors(bucket):
    sink = AuditSink(bucket)
    with pytest.raises(SinkEventError):
        sink.handle({"hello": "world"})
    with pytest.raises(SinkEventError):
        sink.handle({"awslogs": {"data": "not base64 gzip"}})


def test_quarantine_never_echoes_secrets(bucket):
    sink = AuditSink(bucket)
    secret = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
    bad = {**record(), "reason": f"Bearer {secret}"}
    sink.handle(sqs_event([("m1", json.dumps(bad))]))
    text = json.dumps(lines_in(bucket, "quarantine/"))
    assert secret not in text and "quarantine" in bucket.list("quarantine/")[0]
