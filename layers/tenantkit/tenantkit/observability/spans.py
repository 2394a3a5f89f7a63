"""Span helpers the layer calls whatever the backend: AWS SDK calls, the upstream call, the
outbound ``traceparent``.

No OpenTelemetry import here: every helper is a no-op unless the OTel adapter is tracing the
running invocation (it sets ``active_tracer``), in which case opentelemetry is loaded already.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

active_tracer: ContextVar[Any] = ContextVar("tenantkit_otel_tracer", default=None)
# The outbound traceparent of an invocation the OTel adapter does not record (not sampled upstream).
unsampled_traceparent: ContextVar[str | None] = ContextVar("tenantkit_unsampled_traceparent", default=None)


@functools.cache
def error_status() -> Any:
    """ERROR without a description: exception text may carry a secret, so none reaches a span."""
    from opentelemetry.trace import Status, StatusCode

    return Status(StatusCode.ERROR)


def _client_kind() -> Any:
    from opentelemetry.trace import SpanKind

    return SpanKind.CLIENT


class ClientSpan:
    """A child span handle that only takes attributes (no events, no free-text status)."""

    __slots__ = ("_span",)

    def __init__(self, span: Any) -> None:
        self._span = span

    def set(self, key: str, value: Any) -> None:
        if value is not None:
            self._span.set_attribute(key, value)

    def fail(self, error_type: str) -> None:
        self._span.set_attribute("error.type", error_type)
        self._span.set_status(error_status())


@contextmanager
def client_span(name: str, attributes: dict[str, Any]) -> Iterator[ClientSpan | None]:
    tracer = active_tracer.get()
    if tracer is None:
        yield None
        return
    with tracer.start_as_current_span(name, kind=_client_kind(), attributes=attributes,
                                      record_exception=False, set_status_on_exception=False) as span:
        handle = ClientSpan(span)
        try:
            yield handle
        except BaseException as error:
            handle.fail(type(error).__name__)
            raise


def current_traceparent() -> str | None:
    """W3C traceparent of the current span when the OTel adapter is tracing this invocation."""
    if active_tracer.get() is None:
        return unsampled_traceparent.get()
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


# --- AWS SDK calls: spans from botocore's own event system --------------------------------
# Hand-instrumented rather than opentelemetry-instrumentation-botocore: that package patches
# every client process-wide through wrapt and pulls in the instrumentation framework (import
# cost on every cold start); three botocore events give the same span with the attributes we list.

_SPAN_KEY = "tenantkit_otel_span"
_TABLE_KEY = "tenantkit_otel_table"


def instrument_client(client: Any) -> Any:
    """Emit one CLIENT span per API call of ``client`` while an invocation is traced.

    Anything that is not a botocore client (a test double) is returned as it is."""
    meta = getattr(client, "meta", None)
    if meta is None or not hasattr(meta, "events"):
        return client
    service = client.meta.service_model.service_id
    service_name = str(service).replace(" ", "")
    region = client.meta.region_name
    events = client.meta.events

    def before_parameter_build(params: Any = None, context: Any = None, **_: Any) -> None:
        # The API parameters are only seen here (before-call gets the serialized request).
        if service_name == "DynamoDB" and active_tracer.get() is not None and isinstance(context, dict) \
                and isinstance(params, dict) and isinstance(params.get("TableName"), str):
            context[_TABLE_KEY] = params["TableName"]

    def before_call(model: Any = None, context: Any = None, **_: Any) -> None:
        tracer = active_tracer.get()
        if tracer is None or not isinstance(context, dict):
            return
        attributes: dict[str, Any] = {"rpc.system": "aws-api", "rpc.service": service_name,
                                      "rpc.method": model.name, "cloud.region": region}
        if _TABLE_KEY in context:
            attributes["aws.dynamodb.table_names"] = [context.pop(_TABLE_KEY)]
        context[_SPAN_KEY] = tracer.start_span(f"{service_name}.{model.name}", kind=_client_kind(),
                                               attributes={k: v for k, v in attributes.items() if v})

    def after_call(http_response: Any = None, parsed: Any = None, context: Any = None, **_: Any) -> None:
        span = context.pop(_SPAN_KEY, None) if isinstance(context, dict) else None
        if span is None:
            return
        status = getattr(http_response, "status_code", None)
        if isinstance(status, int):
            span.set_attribute("http.response.status_code", status)
        metadata = parsed.get("ResponseMetadata", {}) if isinstance(parsed, dict) else {}
        if isinstance(metadata.get("RequestId"), str):
            span.set_attribute("aws.request_id", metadata["RequestId"])
        if isinstance(status, int) and status >= 400:
            code = parsed.get("Error", {}).get("Code") if isinstance(parsed, dict) else None
            span.set_attribute("error.type", code if isinstance(code, str) and code.isidentifier() else str(status))
            span.set_status(error_status())
        span.end()

    def after_call_error(exception: Any = None, context: Any = None, **_: Any) -> None:
        span = context.pop(_SPAN_KEY, None) if isinstance(context, dict) else None
        if span is None:
            return
        span.set_attribute("error.type", type(exception).__name__)
        span.set_status(error_status())
        span.end()

    # "<event>.*.*" and first: a handler at that level that answers the call itself (botocore's
    # Stubber, a cache) stops the chain, and must not stop ours from opening the span.
    events.register_first("before-parameter-build.*.*", before_parameter_build,
                          unique_id="tenantkit-otel-before-parameter-build")
    events.register_first("before-call.*.*", before_call, unique_id="tenantkit-otel-before-call")
    events.register_first("after-call.*.*", after_call, unique_id="tenantkit-otel-after-call")
    events.register_first("after-call-error.*.*", after_call_error, unique_id="tenantkit-otel-after-call-error")
    return client
