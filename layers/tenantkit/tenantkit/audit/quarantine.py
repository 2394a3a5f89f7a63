"""Quarantine entries shared by the audit sink and compaction, without the audit model.

Compaction only needs the record's field names and these helpers; importing the pydantic model
for them would put pydantic (and the plugin scan its first model build runs) into the compaction
function's cold start for nothing. ``AUDIT_RECORD_FIELDS`` is the model's field order
(``tests/unit/test_audit_schema.py`` holds the two equal).
"""

from __future__ import annotations

import gzip
import json
from typing import Any

from tenantkit.observability.redaction import redact_text

__all__ = ["AUDIT_RECORD_FIELDS", "MAX_QUARANTINE_RAW", "conflict_line", "deterministic_gzip"]

MAX_QUARANTINE_RAW = 8192
AUDIT_RECORD_FIELDS: tuple[str, ...] = (
    "schema_version", "event_id", "ts", "record_type", "event_type", "outcome", "reason", "service", "app_id",
    "tenant_id", "principal_id", "principal_type", "session_id", "correlation_id", "route", "status",
    "latency_ms", "agent_name", "inference_profile_arn", "input_tokens", "output_tokens", "cold_start",
    "function_request_id",
)


def deterministic_gzip(lines: list[str]) -> bytes:
    return gzip.compress(("\n".join(lines) + "\n").encode(), compresslevel=6, mtime=0)


def conflict_line(event_id: str, kept: dict[str, Any], rejected: dict[str, Any], *,
                  kept_source: tuple[str, str], rejected_source: tuple[str, str]) -> str:
    """An ``audit.conflict`` quarantine entry: a copy of ``event_id`` that differs from the kept record.

    Names the fields that differ, never their values (the kept record is in the raw zone; the
    rejected copy's text is kept, redacted, for the investigation).
    """
    fields = [name for name in AUDIT_RECORD_FIELDS if kept.get(name) != rejected.get(name)]
    return json.dumps({
        "reason": "audit.conflict", "event_id": event_id,
        "errors": [f"{name}: differs from the kept copy" for name in fields],
        "kept": {"received_from": kept_source[0], "received_at": kept_source[1]},
        "source": rejected_source[0], "received_at": rejected_source[1],
        "raw": redact_text(json.dumps(rejected, separators=(",", ":"))[:MAX_QUARANTINE_RAW]),
    }, separators=(",", ":"))
