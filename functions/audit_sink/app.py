"""Audit sink: CloudWatch Logs subscription events and SQS batches -> the raw zone.

All rules live in the layer (``tenantkit.audit.sink``); storage is chosen once per container.
"""

from __future__ import annotations

from typing import Any

from tenantkit.audit.sink import AuditSink
from tenantkit.observability.handler import observe

sink = AuditSink.from_env()


@observe
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return sink.handle(event, context)
