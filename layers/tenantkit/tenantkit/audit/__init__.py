"""Audit records: the schema and the emitter of the audit shadow log.

The names below resolve on first access: importing a submodule (compaction's quarantine
helpers, the storage) must not build the pydantic model, which only the emitter and the sink use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__all__ = ["SCHEMA_VERSION", "AuditRecord", "audit_json_schema", "emit_audit"]

_EXPORTS = {
    "emit_audit": "tenantkit.audit.emit",
    "SCHEMA_VERSION": "tenantkit.audit.schema",
    "AuditRecord": "tenantkit.audit.schema",
    "audit_json_schema": "tenantkit.audit.schema",
}

if TYPE_CHECKING:
    from tenantkit.audit.emit import emit_audit
    from tenantkit.audit.schema import SCHEMA_VERSION, AuditRecord, audit_json_schema


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tenantkit.audit' has no attribute {name!r}")
    return getattr(import_module(module), name)
