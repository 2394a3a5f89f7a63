"""The audit sink: audit shadow-log lines in, the raw zone out. Nothing lost, nothing doubled.

Sources: CloudWatch Logs subscription events (gzip + base64, filtered to
``record_type = "audit"``) and SQS batches (producers outside Lambda logs; a body is one
record, a JSON array of records, or JSON lines). Each line is validated against the audit
schema:

* valid records go to ``raw/dt=YYYY-MM-DD/hour=HH/<batch key>.jsonl.gz`` (partitioned by the
  record's own ``ts``), one object per batch and hour;
* invalid records go to ``quarantine/dt=<arrival day>/<batch key>.jsonl.gz`` with the reason;
  they never block the batch and are never dropped silently.

Object keys derive from the batch (the CloudWatch Logs event ids, the SQS message id) and the
bytes are deterministic (gzip without a timestamp), so a redelivered batch overwrites its own
objects instead of adding duplicates. Compaction then dedups by ``event_id`` anyway.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from tenantkit.audit.exceptions import SinkEventError
from tenantkit.audit.schema import AuditRecord
from tenantkit.audit.storage import AuditStorage, storage_from_uri
from tenantkit.observability import get_logger
from tenantkit.observability.redaction import redact_text
from tenantkit.observability.settings import ObservabilitySettings

MAX_QUARANTINE_RAW = 8192


@dataclass
class IngestResult:
    written: int = 0
    quarantined: int = 0
    skipped: int = 0
    objects: list[str] = field(default_factory=list)


def deterministic_gzip(lines: list[str]) -> bytes:
    return gzip.compress(("\n".join(lines) + "\n").encode(), compresslevel=6, mtime=0)


def batch_key(*parts: object) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:32]


class AuditSink:
    def __init__(self, storage: AuditStorage, *, clock: Callable[[], float] = time.time) -> None:
        self.storage = storage
        self._clock = clock

    @classmethod
    def from_env(cls) -> AuditSink:
        """``AUDIT_STORE`` = ``s3://bucket/prefix`` or a directory (default ``.tenantkit/audit``)."""
        ObservabilitySettings.from_env()  # a bad logging setting fails here, at init
        return cls(storage_from_uri(os.environ.get("AUDIT_STORE")))

    def ingest(self, lines: Iterable[str], *, key: str, source: str, strict: bool = True) -> IngestResult:
        """Validate ``lines`` and write them under keys derived from ``key``.

        ``strict``: every line is meant to be an audit record (SQS), so anything invalid is
        quarantined; otherwise (CloudWatch Logs) lines that are not audit records are skipped.
        """
        result = IngestResult()
        partitions: dict[tuple[str, str], list[str]] = {}
        quarantine: list[str] = []
        for line in lines:
            text = line.strip()
            if not text:
                continue
            try:
                record = AuditRecord.model_validate_json(text)
            except ValidationError as exc:
                if not strict and _is_foreign_line(text):
                    result.skipped += 1  # a log line that is not an audit record at all
                    continue
                quarantine.append(_quarantine_line(text, exc, source))
                continue
            partitions.setdefault((record.ts[:10], record.ts[11:13]), []).append(record.model_dump_json())
        for (dt, hour), records in sorted(partitions.items()):
            object_key = f"raw/dt={dt}/hour={hour}/{key}.jsonl.gz"
            self.storage.put(object_key, deterministic_gzip(records))
            result.written += len(records)
            result.objects.append(object_key)
        if quarantine:
            arrival = datetime.fromtimestamp(self._clock(), UTC).strftime("%Y-%m-%d")
            object_key = f"quarantine/dt={arrival}/{key}.jsonl.gz"
            self.storage.put(object_key, deterministic_gzip(quarantine))
            result.quarantined = len(quarantine)
            result.objects.append(object_key)
        return result

    def handle(self, event: Any, context: Any = None) -> dict[str, Any]:
        if isinstance(event, dict) and isinstance(event.get("awslogs"), dict):
            return self.handle_cloudwatch(event)
        records = event.get("Records") if isinstance(event, dict) else None
        if isinstance(records, list) and records and all(r.get("eventSource") == "aws:sqs" for r in records):
            return self.handle_sqs(event, context)
        raise SinkEventError("expected a CloudWatch Logs subscription event or an SQS batch")

    def handle_cloudwatch(self, event: dict[str, Any]) -> dict[str, Any]:
        """One subscription delivery; a storage failure raises so Lambda retries the same event."""
        from aws_lambda_powertools.utilities.data_classes import CloudWatchLogsEvent

        try:  # Powertools decodes (base64, gzip, JSON); we only type its failures
            payload = CloudWatchLogsEvent(event).parse_logs_data().raw_event
        except (KeyError, TypeError, ValueError, zlib.error) as exc:
            raise SinkEventError(f"undecodable CloudWatch Logs payload: {type(exc).__name__}") from None
        if not isinstance(payload, dict):
            raise SinkEventError("undecodable CloudWatch Logs payload: not a JSON object")
        if payload.get("messageType") == "DATA_MESSAGE" and not _well_formed(payload):
            raise SinkEventError("CloudWatch Logs payload: logGroup, logStream or logEvents malformed")
        if payload.get("messageType") != "DATA_MESSAGE":
            return {"messageType": payload.get("messageType"), "written": 0}
        events = payload.get("logEvents") or []
        key = batch_key(payload.get("logGroup"), payload.get("logStream"),
                        events[0].get("id") if events else "", events[-1].get("id") if events else "", len(events))
        result = self.ingest((e.get("message", "") for e in events), key=key, strict=False,
                             source=f"cwl:{payload.get('logGroup')}/{payload.get('logStream')}")
        get_logger().info("audit batch stored", extra={"source": "cloudwatch", "written": result.written,
                                                       "quarantined": result.quarantined, "skipped": result.skipped})
        return {"written": result.written, "quarantined": result.quarantined, "objects": len(result.objects)}

    def handle_sqs(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """Powertools batch processing: a message whose write fails is reported, the rest are not redone."""
        from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
        from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

        def record_handler(record: SQSRecord) -> IngestResult:
            return self.ingest(_sqs_lines(record.body), key=f"sqs-{record.message_id}",
                               source=f"sqs:{record.event_source_arn}")

        processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        return dict(process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                             context=context))


def _well_formed(payload: dict[str, Any]) -> bool:
    """The DATA_MESSAGE fields the sink reads, with the types CloudWatch Logs gives them."""
    events = payload.get("logEvents")
    return (isinstance(payload.get("logGroup"), str) and isinstance(payload.get("logStream"), str)
            and isinstance(events, list)
            and all(isinstance(e, dict) and isinstance(e.get("id"), str) and isinstance(e.get("message"), str)
                    for e in events))


def _sqs_lines(body: str) -> list[str]:
    """One SQS body as audit lines: a JSON array of records, one JSON object (compact or
    pretty-printed), or JSON lines. Lines are split on ``\\n`` only: ``str.splitlines`` would also
    split on U+2028, U+2029, U+0085 and ``\\r`` inside a record's strings and break it in two."""
    text = body.strip()
    if text.startswith(("[", "{")):
        try:
            value = json.loads(text)
        except ValueError:
            if text.startswith("["):
                return [text]  # a broken array is quarantined whole
            value = None  # several objects (JSON lines), or a broken one: split below
        if isinstance(value, list):
            return [json.dumps(item) for item in value]
        if isinstance(value, dict):
            return [text]
    return text.split("\n")


def _is_foreign_line(text: str) -> bool:
    """Not JSON, or JSON that does not claim to be an audit record: not ours to quarantine."""
    try:
        value = json.loads(text)
    except ValueError:
        return not text.startswith("{")
    return not (isinstance(value, dict) and value.get("record_type") == "audit")


def _quarantine_line(text: str, error: ValidationError, source: str) -> str:
    # Field locations and messages only: pydantic's error text would echo the input values.
    problems = [f"{'.'.join(str(p) for p in e['loc']) or '<record>'}: {e['msg']}" for e in error.errors()][:10]
    return json.dumps({"reason": "schema_invalid", "errors": problems, "source": source,
                       "raw": redact_text(text[:MAX_QUARANTINE_RAW])}, separators=(",", ":"))
