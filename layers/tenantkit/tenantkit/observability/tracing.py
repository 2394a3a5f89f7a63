"""X-Ray tracing through Powertools Tracer, set up lazily.

The X-Ray SDK is imported only when tracing is on (``POWERTOOLS_TRACE_DISABLED`` not set and
the Lambda runtime provided a trace header), so a cold start with tracing off does not pay for
it. Annotations are the contract's: ``tenant_id``, ``app_id``, ``session_id`` (per the hashing
policy) and ``outcome``; responses are never captured, so envelopes and tokens never reach a
segment.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from tenantkit.observability.pseudonym import session_id_policy
from tenantkit.observability.state import current_state

_TRUE = {"1", "true", "yes", "on"}
_tracers: dict[str, Any] = {}


def tracing_enabled() -> bool:
    if os.environ.get("POWERTOOLS_TRACE_DISABLED", "").strip().lower() in _TRUE:
        return False
    return bool(os.environ.get("_X_AMZN_TRACE_ID")) and bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))


def get_tracer(service: str) -> Any:
    tracer = _tracers.get(service)
    if tracer is None:
        from aws_lambda_powertools import Tracer

        tracer = Tracer(service=service)
        _tracers[service] = tracer
    return tracer


def annotations_from_state() -> dict[str, str]:
    state = current_state()
    if state is None:
        return {}
    values = {
        "tenant_id": state.identity.get("tenant_id"),
        "app_id": state.identity.get("app_id"),
        "session_id": session_id_policy().apply(state.identity.get("session_id")),
        "outcome": state.outcome,
    }
    return {k: str(v) for k, v in values.items() if v is not None}


def traced(handler: Callable[[Any, Any], Any], service: str) -> Callable[[Any, Any], Any]:
    """Wrap ``handler`` in a handler subsegment annotated from the request state."""
    tracer = get_tracer(service)

    def annotated(event: Any, context: Any) -> Any:
        try:
            return handler(event, context)
        finally:
            for key, value in annotations_from_state().items():
                tracer.put_annotation(key=key, value=value)

    return tracer.capture_lambda_handler(annotated, capture_response=False, capture_error=False)
