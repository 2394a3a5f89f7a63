"""``observe``: the one decorator every handler wears.

It starts the request state (cold start, request id, correlation id), wraps the call in a
span (OpenTelemetry) or a subsegment (X-Ray), per ``TENANTKIT_TRACING``, when tracing is on,
and clears the state afterwards so nothing of one tenant's request survives into the next
invocation of a warm container.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from tenantkit.identifiers import CORRELATION_ID_RE
from tenantkit.observability.logger import get_logger, service_name
from tenantkit.observability.settings import observability_settings
from tenantkit.observability.state import begin_request, end_request
from tenantkit.observability.tracing import request_backend, traced_with

__all__ = [
    "correlation_id_of",
    "observe",
]

Handler = TypeVar("Handler", bound=Callable[..., Any])
_CORRELATION_ID = CORRELATION_ID_RE


def correlation_id_of(event: Any, context: Any) -> str | None:
    """API Gateway's request id when there is one (it is also in its access logs), else Lambda's."""
    if isinstance(event, dict) and isinstance(event.get("requestContext"), dict):
        candidate = event["requestContext"].get("requestId")
        if isinstance(candidate, str) and _CORRELATION_ID.match(candidate):
            return candidate
    candidate = getattr(context, "aws_request_id", None)
    return candidate if isinstance(candidate, str) and _CORRELATION_ID.match(candidate) else None


def observe(handler: Handler) -> Handler:
    """Wrap a Lambda handler with the request state, optional event logging and tracing.

    ``POWERTOOLS_LOGGER_LOG_EVENT=true`` logs each incoming event, through the same redaction
    as every other line (tokens, cookies, codes and credentials never reach the log).
    """
    traced_handlers: dict[str, Callable[[Any, Any], Any]] = {}  # per adapter, built on first traced call

    @functools.wraps(handler)
    def wrapper(event: Any, context: Any) -> Any:
        begin_request(context, correlation_id=correlation_id_of(event, context))
        if observability_settings().log_event:
            get_logger().info(event)
        try:
            backend = request_backend()
            if backend is None:
                return handler(event, context)
            traced_handler = traced_handlers.get(backend)
            if traced_handler is None:
                traced_handler = traced_handlers[backend] = traced_with(backend, handler, service_name())
            return traced_handler(event, context)
        finally:
            end_request()

    return wrapper  # type: ignore[return-value]
