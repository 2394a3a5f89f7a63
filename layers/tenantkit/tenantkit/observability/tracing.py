"""The tracing port: ``TENANTKIT_TRACING=otel|xray|off`` picks the adapter; handlers never change.

* ``otel``: OpenTelemetry SDK, OTLP/HTTP export (``tenantkit.observability.otel``), the
  default of the reference stack (template Globals);
* ``xray`` (what an unset variable means, for stacks deployed before the port existed):
  X-Ray through Powertools Tracer, below;
* ``off``: no tracing.

Both adapters are loaded on the first traced invocation, never at import.

X-Ray adapter: the X-Ray SDK is imported only when tracing is on (``POWERTOOLS_TRACE_DISABLED`` not set and
the Lambda runtime provided a trace header), so a cold start with tracing off does not pay for
it. Annotations are the contract's: ``tenant_id``, ``app_id``, ``session_id`` (per the hashing
policy) and ``outcome``; responses are never captured, so envelopes and tokens never reach a
segment.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from tenantkit.observability.pseudonym import session_id_policy
from tenantkit.observability.settings import (
    in_lambda,
    lambda_trace_header,
    observability_settings,
)
from tenantkit.observability.state import current_state

_tracers: dict[str, Any] = {}


def backend() -> str:
    """The configured adapter (``TENANTKIT_TRACING``, validated with the other settings: a
    value outside ``otel|xray|off`` fails the function's init with a ConfigurationError)."""
    return observability_settings().tracing


def request_backend() -> str | None:
    """The adapter that traces this invocation, or None."""
    chosen = backend()
    if chosen == "otel":
        return "otel"
    if chosen == "xray" and tracing_enabled():
        return "xray"
    return None


def traced_with(backend_name: str, handler: Callable[[Any, Any], Any], service: str) -> Callable[[Any, Any], Any]:
    if backend_name == "otel":
        from tenantkit.observability import otel

        return otel.traced(handler, service)
    return traced(handler, service)


def tracing_enabled() -> bool:
    """X-Ray adapter: on when the Lambda runtime provided a trace header, unless disabled."""
    if observability_settings().trace_disabled:
        return False
    return lambda_trace_header() is not None and in_lambda()


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
    """Wrap ``handler`` in a handler subsegment (``## <handler name>``) annotated from the request state.

    An exception is carried out of the subsegment and re-raised after it closes: the X-Ray SDK
    would otherwise copy its message (free text that may hold a token) into the segment's
    ``cause`` and mark every audited outcome (the authorizer's 401) a fault. An exception
    raised before any outcome was audited is a crash: the subsegment gets the fault flag only.
    """
    tracer = get_tracer(service)

    @functools.wraps(handler)
    def annotated(event: Any, context: Any) -> tuple[Any, BaseException | None]:
        try:
            return handler(event, context), None
        except Exception as error:
            state = current_state()
            if state is None or state.outcome is None:
                subsegment = tracer.provider.current_subsegment()
                if subsegment is not None:
                    subsegment.add_fault_flag()
            return None, error
        finally:
            for key, value in annotations_from_state().items():
                tracer.put_annotation(key=key, value=value)

    captured = tracer.capture_lambda_handler(annotated, capture_response=False, capture_error=False)

    @functools.wraps(handler)
    def call(event: Any, context: Any) -> Any:
        response, error = captured(event, context)
        if error is not None:
            raise error
        return response

    return call
