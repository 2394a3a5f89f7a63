"""``tenantkit audit redrive``: replay the audit pipeline's failure queues through the sink.

Two queues hold what the sink could not store:

* the CloudWatch Logs failure queue (the sink's asynchronous on-failure destination): one
  message per subscription delivery that exhausted its retries, a Lambda destination record
  whose ``requestPayload`` is the original ``{"awslogs": ...}`` event;
* the SQS dead-letter queue: the audit queue's own messages, body untouched, after
  ``maxReceiveCount`` failed receives.

Each message goes through ``AuditSink`` as the original delivery would have (same object keys,
same provenance: the log group from the payload, the audit queue's ARN for queue messages, the
service's original arrival time), and is deleted only once stored. A message that still fails
stays in its queue and is counted as failed. Records already in the raw zone with the same
bytes are counted as duplicates, not stored twice.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
from dataclasses import asdict, dataclass
from typing import Any

from tenantkit.audit.sink import AuditSink, SinkLimits
from tenantkit.audit.storage import AuditStorage, StorageDecorator, storage_from_uri


@dataclass
class RedriveReport:
    messages: int = 0
    stored: int = 0
    duplicate: int = 0
    quarantined: int = 0
    failed: int = 0


class _DuplicateCountingStorage(StorageDecorator):
    """Counts records whose object is already stored with the same bytes (a redelivery)."""

    def __init__(self, inner: AuditStorage) -> None:
        super().__init__(inner)
        self.duplicate_lines = 0

    def put(self, key: str, data: bytes) -> None:
        if key.startswith("raw/"):
            try:
                existing = self.inner.get(key)
            except Exception:  # not there yet (FileNotFoundError, NoSuchKey): a first write
                existing = None
            if existing == data:
                self.duplicate_lines += gzip.decompress(data).count(b"\n")
        self.inner.put(key, data)


def source_queue_arn(sqs: Any, dlq_url: str) -> str:
    """The queue a DLQ serves (its messages' original provenance); the DLQ itself if none."""
    sources = sqs.list_dead_letter_source_queues(QueueUrl=dlq_url).get("queueUrls", [])
    url = sources[0] if sources else dlq_url
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def redrive_queue(sqs: Any, queue_url: str, storage: AuditStorage, *, limits: SinkLimits | None = None,
                  max_messages: int = 100_000) -> RedriveReport:
    counting = _DuplicateCountingStorage(storage)
    sink = AuditSink(counting, limits=limits)
    report = RedriveReport()
    origin = source_queue_arn(sqs, queue_url)
    while report.messages < max_messages:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                    VisibilityTimeout=120, AttributeNames=["All"]).get("Messages", [])
        if not batch:
            break
        for message in batch:
            report.messages += 1
            before = counting.duplicate_lines
            try:
                written, quarantined = _replay(sink, message, origin)
            except Exception:  # kept in the queue for the next redrive; counted, never dropped
                report.failed += 1
                continue
            duplicates = counting.duplicate_lines - before
            report.stored += written - duplicates
            report.duplicate += duplicates
            report.quarantined += quarantined
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return report


def _replay(sink: AuditSink, message: dict[str, Any], origin_arn: str) -> tuple[int, int]:
    body = message["Body"]
    destination = _destination_record(body)
    if destination is not None:  # a CloudWatch Logs delivery that exhausted its retries
        result = sink.handle_cloudwatch(destination["requestPayload"])
        return int(result.get("written", 0)), int(result.get("quarantined", 0))
    event = {"Records": [{
        "messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"], "body": body,
        "attributes": message.get("Attributes", {}), "messageAttributes": {}, "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs", "eventSourceARN": origin_arn, "awsRegion": origin_arn.split(":")[3],
    }]}
    response = sink.handle_sqs(event, None)
    if response.get("batchItemFailures"):
        raise RuntimeError("the sink could not store the message")
    return sink.last_sqs_result.written, sink.last_sqs_result.quarantined


def _destination_record(body: str) -> dict[str, Any] | None:
    """A Lambda on-failure destination record wrapping a CloudWatch Logs event, else None."""
    if '"requestPayload"' not in body:
        return None
    try:
        value = json.loads(body)
    except ValueError:
        return None
    payload = value.get("requestPayload") if isinstance(value, dict) else None
    return value if isinstance(payload, dict) and isinstance(payload.get("awslogs"), dict) else None


def cmd_redrive(args: argparse.Namespace) -> int:
    import boto3

    sqs = boto3.client("sqs")
    storage = storage_from_uri(args.store or os.environ.get("AUDIT_STORE"))
    totals = RedriveReport()
    per_queue = {}
    for url in args.queue_url:
        report = redrive_queue(sqs, url, storage, limits=SinkLimits.from_env(), max_messages=args.max_messages)
        per_queue[url] = asdict(report)
        for name, value in asdict(report).items():
            setattr(totals, name, getattr(totals, name) + value)
    print(json.dumps({"queues": per_queue, **asdict(totals)}))  # one line, after the sink's own log lines
    return 1 if totals.failed else 0


def register(sub: Any) -> None:
    audit = sub.add_parser("audit", help="operate the audit pipeline")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    redrive = audit_sub.add_parser("redrive", help="replay the audit failure queues through the sink")
    redrive.add_argument("--queue-url", action="append", required=True,
                         help="the CloudWatch Logs failure queue and/or the SQS DLQ (repeatable)")
    redrive.add_argument("--store", help="AUDIT_STORE of the sink: s3://bucket/prefix or a directory")
    redrive.add_argument("--max-messages", type=int, default=100_000, help="stop after this many messages")
    redrive.set_defaults(func=cmd_redrive)
