"""``emit_audit``: one audit record as one structured stdout line (the audit shadow log).

Written straight to stdout, not through the log level filter, so an audit line is never
dropped by ``POWERTOOLS_LOG_LEVEL``. A CloudWatch Logs subscription filter on
``{ $.record_type = "audit" }`` delivers these lines to the audit sink.

Per request: one pydantic validation (pydantic-core checks the closed schema in Rust, ~3 us for
an authorizer record; checks compiled to Python measured no faster, even with their verdicts
memoized), the validated values read as they are (no ``model_dump`` pass), and one JSON
serialization through a prebuilt encoder. A property test
holds the line byte-equal to the ``model_dump`` path (``tests/unit/test_audit_fast_line.py``).
"""

from __future__ import annotations

import sys
from typing import Any

from tenantkit.audit.fast_line import fast_record_and_line
from tenantkit.audit.schema import AuditRecord, EventType, Outcome
from tenantkit.observability.logger import service_name
from tenantkit.observability.pseudonym import session_id_policy
from tenantkit.observability.redaction import dumps_clean_flat, dumps_flat_record, flat_keys_clean
from tenantkit.observability.state import current_state

__all__ = [
    "emit_audit",
]

# The schema's key set, judged once: no field name is sensitive or trips a text rule (a test
# holds it so), and every validated value is a scalar, so only the string values are gated.
_KEYS_CLEAN = flat_keys_clean(tuple(AuditRecord.model_fields))


def emit_audit(event_type: EventType, outcome: Outcome, reason: str, **fields: Any) -> AuditRecord:
    """Fill identity and runtime fields from the request state, validate, write one line.

    Explicit ``fields`` (route, status, latency_ms, cost fields, or identity the state does
    not hold yet) take precedence over the state.
    """
    state = current_state()
    values: dict[str, Any] = {}
    if state is not None:  # what current_log_fields() holds, without its dict copies
        for name, value in state.identity.items():
            if value is not None:
                values[name] = value
        values["cold_start"] = state.cold_start
        if state.function_request_id is not None:
            values["function_request_id"] = state.function_request_id
    values["service"] = service_name()
    for name, value in fields.items():
        if value is not None:
            values[name] = value
    record, line = audit_record_and_line(event_type, outcome, reason, values)
    if state is not None:
        state.outcome, state.reason = outcome, reason
        if record.route is not None:
            state.route, state.status = record.route, record.status
    sys.stdout.write(line + "\n")
    return record


def audit_record_and_line(event_type: Any, outcome: Any, reason: Any,
                          values: dict[str, Any]) -> tuple[AuditRecord, str]:
    """The validated record (pydantic's ValidationError for a bad value) and its line."""
    given = {"event_type": event_type, "outcome": outcome, "reason": reason, **values}
    return fast_record_and_line(given, session_id_policy(), _validated_record_and_line)


def _validated_record_and_line(values: dict[str, Any]) -> tuple[AuditRecord, str]:
    record = AuditRecord(**values)
    line = dict(record.__dict__)  # the validated values in field order: model_dump() for these plain types
    line["session_id"] = session_id_policy().apply(line["session_id"])
    return record, dumps_clean_flat(line) if _KEYS_CLEAN else dumps_flat_record(line)


def audit_line(record: AuditRecord) -> str:
    """The record as ``contract_line`` writes it (every contract field is already filled from the
    state above), through the flat-record redaction path: the schema is closed and flat."""
    line = record.model_dump()
    line["session_id"] = session_id_policy().apply(line["session_id"])
    return dumps_flat_record(line)
