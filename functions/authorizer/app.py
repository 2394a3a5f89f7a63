"""API Gateway REST REQUEST authorizer: verify the bearer token, answer with a policy.

All rules live in the layer (``tenantkit.authorizer``); this module only wires them up at
init so the JWKS and the tenant registry are fetched once per container.
"""

from __future__ import annotations

from typing import Any

from tenantkit.authorizer import load_authorizer
from tenantkit.observability.handler import observe

authorizer = load_authorizer()


@observe
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return authorizer.handle(event, context)
