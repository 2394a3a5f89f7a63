"""``emit_audit``: one audit record as one structured stdout line (the audit shadow log).

Written straight to stdout, not through the log level filter, so an audit line is never
dropped by ``POWERTOOLS_LOG_LEVEL``. A CloudWatch Logs subscription filter on
``{ $.record_type = "audit" }`` delivers these lines to the audit sink.
"""

from __future__ import annotations

import sys
from typing import Any

from tenantkit.audit.schema import AuditRecord, EventType, Outcome
from tenantkit.observability.logger import service_name
from tenantkit.observability.pseudonym import session_id_policy
from tenantkit.observability.redaction import dumps_flat_record
from tenantkit.observability.state import current_log_fields, current_state

__all__ = [
    "emit_audit",
]


def emit_audit(event_type: EventType, outcome: Outcome, reason: str, **fields: Any) -> AuditRecord:
    """Fill identity and runtime fields from the request state, validate, write one line.

    Explicit ``fields`` (route, status, latency_ms, cost fields, or identity the state does
    not hold yet) take precedence over the state.
    """
    values: dict[str, Any] = {k: v for k, v in current_log_fields().items() if v is not None}
    values["service"] = service_name()
    values.update({k: v for k, v in fields.items() if v is not None})
    record = AuditRecord(event_type=event_type, outcome=outcome, reason=reason, **values)
    state = current_state()
    if state is not None:
        state.outcome, state.reason = outcome, reason
        if record.route is not None:
            state.route, state.status = record.route, record.status
    sys.stdout.write(audit_line(record) + "\n")
    return record


def audit_line(record: AuditRecord) -> str:
    """The record as ``contract_line`` writes it (every contract field is already filled from the
    state above), through the flat-record redaction path: the schema is closed and flat."""
    line = record.model_dump()
    line["session_id"] = session_id_policy().apply(line["session_id"])
    return dumps_flat_record(line)
