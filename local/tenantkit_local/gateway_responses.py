"""API Gateway gateway responses, read from the template (``x-amazon-apigateway-gateway-responses``)
and completed with API Gateway's own defaults for the types the template does not set.

A type the template configures uses its ``statusCode`` (else the type's default status),
``responseTemplates`` and ``responseParameters``; otherwise ``DEFAULT_4XX``/``DEFAULT_5XX`` when
configured; otherwise API Gateway's built-in ``{"message": ...}`` body.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

# type -> (default status, API Gateway's error message)
RESPONSE_TYPES: dict[str, tuple[int, str | None]] = {
    "ACCESS_DENIED": (403, "User is not authorized to access this resource with an explicit deny"),
    "AUTHORIZER_CONFIGURATION_ERROR": (500, None),
    "AUTHORIZER_FAILURE": (500, None),
    "MISSING_AUTHENTICATION_TOKEN": (403, "Missing Authentication Token"),
    "UNAUTHORIZED": (401, "Unauthorized"),
    "INTEGRATION_FAILURE": (504, None),
    "INTEGRATION_TIMEOUT": (504, "Endpoint request timed out"),
    "LAMBDA_PROXY_ERROR": (502, "Internal server error"),  # not an API Gateway type: DEFAULT_5XX applies
}
_VARIABLE = re.compile(r"\$context\.([A-Za-z0-9_.]+)")


@dataclass(frozen=True)
class GatewayResponse:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class GatewayResponses:
    configured: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_definition(cls, definition: dict[str, Any]) -> GatewayResponses:
        return cls(dict(definition.get("x-amazon-apigateway-gateway-responses") or {}))

    def render(self, response_type: str, *, request_id: str, authorizer: dict[str, Any] | None = None
               ) -> GatewayResponse:
        status, message = RESPONSE_TYPES[response_type]
        spec = self.configured.get(response_type) or self.configured.get(
            "DEFAULT_4XX" if status < 500 else "DEFAULT_5XX")
        variables = {"requestId": request_id, "error.message": message or "",
                     "error.messageString": json.dumps(message), "error.responseType": response_type}
        variables.update({f"authorizer.{k}": str(v) for k, v in (authorizer or {}).items()})
        if spec is None:
            body = json.dumps({"message": message}).encode()
            return GatewayResponse(status, {"Content-Type": "application/json"}, body)
        status = int(spec.get("statusCode") or status)
        templates = spec.get("responseTemplates") or {"application/json": '{"message":$context.error.messageString}'}
        content_type, template = next(iter(templates.items()))
        body = _VARIABLE.sub(lambda m: variables.get(m.group(1), ""), str(template)).encode()
        headers = {"Content-Type": content_type}
        for name, value in (spec.get("responseParameters") or {}).items():
            if name.startswith("gatewayresponse.header.") and isinstance(value, str):
                headers[name.removeprefix("gatewayresponse.header.")] = value.strip("'")
        return GatewayResponse(status, headers, body)
