"""The audit sink: audit shadow-log lines in, the raw zone out. Nothing lost, nothing doubled,
nothing invented, nothing forged in place of a genuine record.

Sources: CloudWatch Logs subscription events (gzip + base64, filtered to
``record_type = "audit"``) and SQS batches (producers outside Lambda logs; a body is one
record, a JSON array of records, or JSON lines). Each line is validated against the audit
schema as the producer sent it (``IngestedAuditRecord``: ``event_id`` and ``ts`` required, never
filled in; ``ts`` a real instant):

* valid records go to ``raw/dt=YYYY-MM-DD/hour=HH/<batch key>.jsonl.gz`` (partitioned by the
  record's own ``ts``), one object per batch and hour, each line stamped with its provenance
  (``received_from``, ``received_via``, ``received_at``: see ``Provenance``). The schema forbids
  those names, so a producer cannot set them;
* anything else goes to ``quarantine/dt=<arrival day>/<batch key>.jsonl.gz`` with a field-level
  reason: ``schema_invalid`` (missing or invalid fields), ``ts_out_of_bounds`` (later than the
  arrival plus the allowed skew, or older than the retention before it), ``source_untrusted``
  (a log group that is not subscribed) and ``audit.conflict`` (a second copy of an ``event_id``
  with other content in the same batch; conflicts across batches are found by compaction).
  Nothing blocks the batch, nothing is dropped silently; identical copies are skipped silently.

Object keys derive from the batch (the CloudWatch Logs event ids, the SQS message id) and the
bytes are deterministic (gzip without a timestamp; ``received_at`` is the service's own arrival
time, not the sink's clock), so a redelivered batch overwrites its own objects with the same
bytes instead of adding duplicates. Compaction then dedups by ``event_id`` anyway.
"""

from __future__ import annotations

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
from tenantkit.audit.quarantine import MAX_QUARANTINE_RAW, conflict_line, deterministic_gzip
from tenantkit.audit.schema import IngestedAuditRecord, parse_ts
from tenantkit.audit.storage import AuditStorage, storage_from_uri
from tenantkit.observability import get_logger
from tenantkit.observability.redaction import redact_text
from tenantkit.observability.settings import ObservabilitySettings

PROVENANCE_FIELDS = ("received_from", "received_via", "received_at")
# Dedup rank of each path (lower wins): a record read from the authorizer's or BFF's own log
# group outranks any copy that came through the queue. Mirrored in the compaction SQL.
SOURCE_RANK = {"logs": 0, "sqs": 1}
DEFAULT_MAX_SKEW_SECONDS = 300
DEFAULT_MAX_AGE_DAYS = 14  # the raw zone's default retention (terraform raw_retention_days)


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a delivery came from, as the sink saw it (never as the producer claims).

    ``received_from``: the log group name (CloudWatch Logs) or the queue ARN (SQS);
    ``received_via``: ``logs`` or ``sqs``. ``received_at`` is per line (``Arrival``).
    """

    received_from: str
    received_via: str


@dataclass(frozen=True, slots=True)
class SinkLimits:
    """How far ``ts`` may lie from the record's arrival time."""

    max_skew_seconds: float = DEFAULT_MAX_SKEW_SECONDS
    max_age_days: float = DEFAULT_MAX_AGE_DAYS
    # CloudWatch Logs groups whose deliveries are trusted; empty = every group (local runs).
    log_groups: frozenset[str] = frozenset()

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> SinkLimits:
        from tenantkit.config import env_number

        env = dict(os.environ if environ is None else environ)
        groups = frozenset(g.strip() for g in env.get("AUDIT_LOG_GROUPS", "").split(",") if g.strip())
        return cls(max_skew_seconds=env_number(env, "AUDIT_MAX_CLOCK_SKEW_SECONDS", DEFAULT_MAX_SKEW_SECONDS, 0, 3600),
                   max_age_days=env_number(env, "AUDIT_MAX_AGE_DAYS", DEFAULT_MAX_AGE_DAYS, 1, 3650),
                   log_groups=groups)


@dataclass
class IngestResult:
    written: int = 0
    quarantined: int = 0
    skipped: int = 0
    duplicates: int = 0
    conflicts: int = 0
    objects: list[str] = field(default_factory=list)

    def add(self, other: IngestResult) -> None:
        self.written += other.written
        self.quarantined += other.quarantined
        self.skipped += other.skipped
        self.duplicates += other.duplicates
        self.conflicts += other.conflicts
        self.objects.extend(other.objects)


def batch_key(*parts: object) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:32]


class AuditSink:
    def __init__(self, storage: AuditStorage, *, clock: Callable[[], float] = time.time,
                 limits: SinkLimits | None = None) -> None:
        self.storage = storage
        self._clock = clock
        self.limits = limits or SinkLimits()
        self.last_sqs_result = IngestResult()

    @classmethod
    def from_env(cls) -> AuditSink:
        """``AUDIT_STORE`` = ``s3://bucket/prefix`` or a directory (default ``.tenantkit/audit``);
        ``AUDIT_LOG_GROUPS``, ``AUDIT_MAX_CLOCK_SKEW_SECONDS``, ``AUDIT_MAX_AGE_DAYS``: ``SinkLimits``."""
        ObservabilitySettings.from_env()  # a bad logging setting fails here, at init
        return cls(storage_from_uri(os.environ.get("AUDIT_STORE")), limits=SinkLimits.from_env())

    def ingest(self, lines: Iterable[str | tuple[str, float | None]], *, key: str, source: str | Provenance,
               strict: bool = True) -> IngestResult:
        """Validate ``lines`` and write them under keys derived from ``key``.

        A line is text, or ``(text, arrival)`` with ``arrival`` the service's arrival time in
        epoch seconds (the sink's clock when ``None``). ``strict``: every line is meant to be an
        audit record (SQS), so anything invalid is quarantined; otherwise (CloudWatch Logs) lines
        that are not audit records are skipped.
        """
        provenance = source if isinstance(source, Provenance) else Provenance(source, "sqs")
        result = IngestResult()
        partitions: dict[tuple[str, str], list[str]] = {}
        quarantine: list[str] = []
        kept: dict[str, tuple[str, str]] = {}  # event_id -> (producer JSON, received_at)
        stamp_from = ',"received_from":' + json.dumps(provenance.received_from) + \
            ',"received_via":' + json.dumps(provenance.received_via) + ',"received_at":"'
        untrusted = (provenance.received_via == "logs" and bool(self.limits.log_groups)
                     and provenance.received_from not in self.limits.log_groups)
        skew, max_age = self.limits.max_skew_seconds, self.limits.max_age_days * 86400
        arrivals: dict[float, str] = {}
        seconds: dict[int, str] = {}  # whole-second prefixes: a delivery spans few seconds, many events
        for item in lines:
            text, arrival = (item, None) if isinstance(item, str) else item
            text = text.strip()
            if not text:
                continue
            arrival = self._clock() if arrival is None else arrival
            received_at = arrivals.get(arrival) or arrivals.setdefault(arrival, _iso_ms(arrival, seconds))
            try:
                record = IngestedAuditRecord.model_validate_json(text)
            except ValidationError as exc:
                if not strict and _is_foreign_line(text):
                    result.skipped += 1  # a log line that is not an audit record at all
                    continue
                quarantine.append(_quarantine(text, "schema_invalid", _field_errors(exc), provenance, received_at))
                continue
            if untrusted:
                quarantine.append(_quarantine(text, "source_untrusted", [
                    "received_from: this log group is not subscribed to the audit sink"], provenance, received_at,
                    record.event_id))
                continue
            lag = arrival - parse_ts(record.ts).timestamp()
            if lag < -skew or lag > max_age:
                problem = (f"ts: later than its arrival ({received_at}) plus {skew:g} s" if lag < 0 else
                           f"ts: older than {self.limits.max_age_days:g} days before its arrival ({received_at})")
                quarantine.append(_quarantine(text, "ts_out_of_bounds", [problem], provenance, received_at,
                                              record.event_id))
                continue
            body = record.model_dump_json()
            first = kept.get(record.event_id)
            if first is not None:
                if first[0] == body:
                    result.duplicates += 1  # an identical copy: silent
                else:
                    result.conflicts += 1
                    quarantine.append(conflict_line(record.event_id, json.loads(first[0]), json.loads(body),
                                                    kept_source=(provenance.received_from, first[1]),
                                                    rejected_source=(provenance.received_from, received_at)))
                continue
            kept[record.event_id] = (body, received_at)
            partitions.setdefault((record.ts[:10], record.ts[11:13]), []).append(
                body[:-1] + stamp_from + received_at + '"}')
        for (dt, hour), records in sorted(partitions.items()):
            object_key = f"raw/dt={dt}/hour={hour}/{key}.jsonl.gz"
            self.storage.put(object_key, deterministic_gzip(records))
            result.written += len(records)
            result.objects.append(object_key)
        if quarantine:
            # The day of the batch's first arrival, not of this attempt: a redelivery overwrites.
            arrival_day = next(iter(arrivals.values()), _iso_ms(self._clock()))[:10]
            object_key = f"quarantine/dt={arrival_day}/{key}.jsonl.gz"
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
        provenance = Provenance(str(payload.get("logGroup") or ""), "logs")
        result = self.ingest(((e.get("message", ""), _epoch_ms(e.get("timestamp"))) for e in events),
                             key=key, strict=False, source=provenance)
        self._report("cloudwatch", result)
        return {"written": result.written, "quarantined": result.quarantined, "duplicates": result.duplicates,
                "conflicts": result.conflicts, "objects": len(result.objects)}

    def handle_sqs(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """Powertools batch processing: a message whose write fails is reported, the rest are not redone."""
        from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
        from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

        total = IngestResult()

        def record_handler(record: SQSRecord) -> IngestResult:
            sent = _epoch_ms(record.raw_event.get("attributes", {}).get("SentTimestamp"))
            result = self.ingest(((line, sent) for line in _sqs_lines(record.body)),
                                 key=f"sqs-{record.message_id}",
                                 source=Provenance(str(record.event_source_arn or ""), "sqs"))
            total.add(result)
            return result

        processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        response = process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                            context=context)
        self._report("sqs", total)
        self.last_sqs_result = total  # the counts behind the response (``tenantkit audit redrive``)
        return dict(response)

    def _report(self, source: str, result: IngestResult) -> None:
        # audit_conflicts feeds the AuditConflicts metric filter (template.yaml) and its alarm.
        get_logger().info("audit batch stored", extra={
            "source": source, "written": result.written, "quarantined": result.quarantined,
            "skipped": result.skipped, "duplicates": result.duplicates, "audit_conflicts": result.conflicts})


def _epoch_ms(value: Any) -> float | None:
    """A service timestamp (epoch milliseconds, number or text) as epoch seconds; None if absent."""
    try:
        millis = int(value)
    except (TypeError, ValueError):
        return None
    return millis / 1000 if millis > 0 else None


def _iso_ms(epoch_seconds: float, prefixes: dict[int, str] | None = None) -> str:
    """``YYYY-MM-DDTHH:MM:SS.mmmZ``; ``prefixes`` caches the formatted second across calls."""
    second, millis = divmod(round(epoch_seconds * 1000), 1000)
    cache = {} if prefixes is None else prefixes
    prefix = cache.get(second)
    if prefix is None:
        prefix = cache[second] = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{prefix}.{millis:03d}Z"


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


def _field_errors(error: ValidationError) -> list[str]:
    # Field locations and messages only: pydantic's error text would echo the input values.
    return [f"{'.'.join(str(p) for p in e['loc']) or '<record>'}: {e['msg']}" for e in error.errors()][:10]


def _quarantine(text: str, reason: str, errors: list[str], provenance: Provenance, received_at: str,
                event_id: str | None = None) -> str:
    entry: dict[str, Any] = {"reason": reason, "errors": errors, "source": provenance.received_from,
                             "received_via": provenance.received_via, "received_at": received_at}
    if event_id is not None:
        entry["event_id"] = event_id
    entry["raw"] = redact_text(text[:MAX_QUARANTINE_RAW])
    return json.dumps(entry, separators=(",", ":"))
