"""Audit records: the schema and the emitter of the audit shadow log."""

from __future__ import annotations

from tenantkit.audit.emit import emit_audit
from tenantkit.audit.schema import SCHEMA_VERSION, AuditRecord, audit_json_schema

__all__ = ["SCHEMA_VERSION", "AuditRecord", "audit_json_schema", "emit_audit"]
