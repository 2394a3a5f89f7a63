"""The audit record: one schema for the audit shadow log, the raw zone and the curated zone.

``docs/schemas/audit-record.schema.json`` is exported from this model (``tenantkit schema
export``); a test fails when the two drift. Extend it; never rename a field.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tenantkit.identifiers import AUDIT_ID

__all__ = [
    "SCHEMA_VERSION",
    "AuditRecord",
    "EventType",
    "Outcome",
    "audit_json_schema",
    "new_event_id",
    "utc_timestamp",
]

SCHEMA_VERSION: Literal["1"] = "1"

EventType = Literal[
    "authz.allow",
    "authz.deny",
    "authz.unauthorized",
    "session.bound",
    "session.continued",
    "session.rejected",
    "session.expired",
    "session.deleted",
    "tenant.spoof_rejected",
    "abac.deny",
    "request.rejected",
    "request.completed",
    "upstream.error",
    # Registry changes by operators (tenantkit tenants|apps), delivered through the audit queue.
    "tenant.onboarded",
    "tenant.suspended",
    "tenant.resumed",
    "tenant.offboarded",
    "app.registered",
    "app.disabled",
    "app.enabled",
]
Outcome = Literal["allow", "deny", "unauthorized", "rejected", "success", "error"]

_ID = AUDIT_ID
_TS = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$"


def new_event_id() -> str:
    """``uuid.uuid4().hex`` (os.urandom, version 4, RFC 4122 variant) without a UUID object:
    this runs once per audit record."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40
    raw[8] = raw[8] & 0x3F | 0x80
    return raw.hex()


def utc_timestamp() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class AuditRecord(BaseModel):
    """Every field is always present in the emitted line; unknown values are null."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="tenantkit audit record")

    schema_version: Literal["1"] = SCHEMA_VERSION
    event_id: str = Field(default_factory=new_event_id, pattern=r"^[0-9a-f]{32}$",
                          description="Unique per record; the dedup key of compaction")
    ts: str = Field(default_factory=utc_timestamp, pattern=_TS, description="UTC, ISO-8601, Z suffix")
    record_type: Literal["audit"] = "audit"
    event_type: EventType
    outcome: Outcome
    reason: str = Field(pattern=r"^[a-z][a-z0-9_.]{0,127}$", description="Stable snake_case reason code")
    service: str | None = Field(default=None, max_length=128)
    app_id: str | None = Field(default=None, pattern=_ID)
    tenant_id: str | None = Field(default=None, pattern=_ID)
    principal_id: str | None = Field(default=None, pattern=_ID)
    principal_type: Literal["user", "service"] | None = None
    session_id: str | None = Field(default=None, pattern=_ID, description="Keyed hash unless configured raw")
    correlation_id: str | None = Field(default=None, pattern=_ID)
    route: str | None = Field(default=None, max_length=300, description="METHOD /resource/{template}")
    status: int | None = Field(default=None, ge=100, le=599)
    latency_ms: float | None = Field(default=None, ge=0)
    agent_name: str | None = Field(default=None, max_length=128)
    inference_profile_arn: str | None = Field(default=None, max_length=2048)
    input_tokens: int | None = Field(default=None, ge=0)
    output_tokens: int | None = Field(default=None, ge=0)
    cold_start: bool | None = None
    function_request_id: str | None = Field(default=None, max_length=128)

    @field_validator("ts")
    @classmethod
    def _ts_is_a_real_instant(cls, value: str) -> str:
        # The pattern admits 25:10 and Feb 30; only a calendar parse proves the instant exists.
        parse_ts(value)
        return value


class IngestedAuditRecord(AuditRecord):
    """What the audit sink accepts: ``event_id`` and ``ts`` are the producer's, never filled in.

    The producer-side model keeps its defaults (``emit_audit`` stamps both at emit time); at the
    sink a default would invent an identity (a record sent twice without an id would become two
    rows) or an instant (the arrival time posing as the event time).
    """

    event_id: str = Field(pattern=r"^[0-9a-f]{32}$", description="Unique per record; the dedup key of compaction")
    ts: str = Field(pattern=_TS, description="UTC, ISO-8601, Z suffix")


def parse_ts(value: str) -> datetime:
    """``ts`` as an aware UTC datetime; ``ValueError`` for an instant that does not exist."""
    return datetime.fromisoformat(value)


def audit_json_schema() -> dict[str, object]:
    schema = AuditRecord.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://tenantkit.dev/schemas/audit-record/v{SCHEMA_VERSION}.json"
    return schema
