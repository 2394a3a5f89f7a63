"""BFF proxy in front of agent runtimes: identity from the authorizer context only.

All rules live in the layer (``tenantkit.bff``); this module wires them up once per container.
"""

from __future__ import annotations

from typing import Any

from tenantkit.bff import load_bff
from tenantkit.observability.handler import observe

bff = load_bff()


@observe
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return bff.handle(event, context)
