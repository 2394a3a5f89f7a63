"""The field contract: one set of names for logs, traces, metrics and audit records.

This module is the machine-readable source; ``docs/observability.md`` is the prose table and
``docs/schemas/log-contract.json`` the exported copy (a test keeps all three in step).
"""

from __future__ import annotations

__all__ = [
    "FORBIDDEN_METRIC_DIMENSIONS",
    "IDENTITY_LOG_FIELDS",
    "LOG_FIELDS",
    "METRIC_DIMENSIONS",
    "OTEL_ATTRIBUTES",
    "REDACTED",
    "RUNTIME_LOG_FIELDS",
    "TRACE_ANNOTATIONS",
    "as_document",
]

# Present in every log line emitted during a request (null when not yet known, e.g. the
# tenant of a request whose token failed verification).
IDENTITY_LOG_FIELDS: tuple[str, ...] = (
    "app_id",
    "tenant_id",
    "principal_id",
    "session_id",
    "correlation_id",
)
RUNTIME_LOG_FIELDS: tuple[str, ...] = ("service", "cold_start", "function_request_id")
LOG_FIELDS: tuple[str, ...] = IDENTITY_LOG_FIELDS + RUNTIME_LOG_FIELDS

# X-Ray annotations (indexed, filterable). Never tokens; session_id per the hashing policy.
TRACE_ANNOTATIONS: tuple[str, ...] = ("tenant_id", "app_id", "session_id", "outcome")

# EMF dimensions: a closed set. Tenant analytics go through Athena, never CloudWatch metrics.
METRIC_DIMENSIONS: frozenset[str] = frozenset({"service", "app_id", "route", "outcome"})
FORBIDDEN_METRIC_DIMENSIONS: frozenset[str] = frozenset(
    {"tenant_id", "session_id", "principal_id", "correlation_id", "function_request_id"}
)

# Our names -> OpenTelemetry semantic-convention attribute names (for the move off the
# X-Ray SDK, which reaches end of support in February 2027).
OTEL_ATTRIBUTES: dict[str, str] = {
    "tenant_id": "tenant.id",
    "app_id": "app.id",
    "principal_id": "user.id",
    "principal_type": "tenantkit.principal.type",
    "session_id": "session.id",
    "correlation_id": "tenantkit.correlation_id",
    "function_request_id": "faas.invocation_id",
    "cold_start": "faas.coldstart",
    "service": "service.name",
    "route": "http.route",
    "status": "http.response.status_code",
    "outcome": "tenantkit.outcome",
    "reason": "tenantkit.reason",
    "agent_name": "gen_ai.agent.name",
    "inference_profile_arn": "tenantkit.inference_profile.arn",
    "input_tokens": "gen_ai.usage.input_tokens",
    "output_tokens": "gen_ai.usage.output_tokens",
}

# OpenTelemetry span attributes, per span role: the closed set each exported span may carry
# (a key is absent when its value is unknown, e.g. tenant.id on a 401). Never a token, a raw
# session id, a raw path or exception text; ``error.type`` is a class name or an AWS error code.
SPAN_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    # API Gateway (the local emulator's gateway span; X-Ray's API Gateway segment in AWS)
    "gateway": ("http.request.method", "http.route", "http.response.status_code"),
    # the authorizer and the BFF handler span: read from the request state / last audit record
    "handler": (
        "faas.invocation_id", "faas.coldstart", "tenantkit.correlation_id", "tenant.id", "app.id",
        "session.id", "tenantkit.outcome", "tenantkit.reason", "http.request.method", "http.route",
        "http.response.status_code", "error.type",
    ),
    # each AWS SDK call (DynamoDB, STS, Bedrock / AgentCore, ...)
    "aws_sdk": (
        "rpc.system", "rpc.service", "rpc.method", "cloud.region", "aws.dynamodb.table_names",
        "http.response.status_code", "aws.request_id", "error.type",
    ),
    # the call to the agent runtime
    "upstream": (
        "gen_ai.operation.name", "gen_ai.agent.name", "http.response.status_code",
        "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "error.type",
    ),
}

REDACTED = "[REDACTED]"


def as_document() -> dict[str, object]:
    """The contract as one JSON-serializable document (exported to docs/schemas/)."""
    return {
        "log_fields": list(LOG_FIELDS),
        "identity_log_fields": list(IDENTITY_LOG_FIELDS),
        "runtime_log_fields": list(RUNTIME_LOG_FIELDS),
        "trace_annotations": list(TRACE_ANNOTATIONS),
        "metric_dimensions": sorted(METRIC_DIMENSIONS),
        "forbidden_metric_dimensions": sorted(FORBIDDEN_METRIC_DIMENSIONS),
        "otel_attributes": dict(OTEL_ATTRIBUTES),
        "span_attributes": {role: list(keys) for role, keys in SPAN_ATTRIBUTES.items()},
        "redacted_placeholder": REDACTED,
    }
