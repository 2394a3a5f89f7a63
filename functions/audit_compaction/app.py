"""Audit compaction: EventBridge schedules -> Athena UNLOAD of the raw zone into the curated zone.

All rules live in the layer (``tenantkit.audit.compaction``); configuration is read and checked
once per container, the Athena and S3 clients are created on first use.
"""

from __future__ import annotations

from typing import Any

from tenantkit.audit.compaction import AthenaCompactor
from tenantkit.observability.handler import observe

compactor = AthenaCompactor.from_env()


@observe
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return compactor.handle(event, context)
