"""What API Gateway does for a stage with tracing on, for the local emulator.

Each request gets a gateway span (kind SERVER, ``{method} {resource template}``) that continues
the caller's ``traceparent`` or ``X-Amzn-Trace-Id`` when one is sent; the authorizer and the
integration are invoked with ``_X_AMZN_TRACE_ID`` = ``Root=...;Parent=<gateway span>;Sampled=1``
(what the Lambda runtime hands a function) and the proxy event carries the same value in its
``X-Amzn-Trace-Id`` header, as API Gateway adds it. The span is exported over OTLP/HTTP to the
local receiver, like every function's spans.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

SERVICE = "apigateway"
current_trace_header: ContextVar[str | None] = ContextVar("tenantkit_gateway_trace_header", default=None)


@dataclass
class GatewayRequestTrace:
    span: Any
    xray_header: str
    attributes: dict[str, Any] = field(default_factory=dict)

    def finish(self, status: int, resource: str | None) -> None:
        if resource:
            self.attributes["http.route"] = resource
            self.span.update_name(f"{self.attributes['http.request.method']} {resource}")
        self.attributes["http.response.status_code"] = status
        self.span.set_attributes(self.attributes)


class GatewayTracer:
    def __init__(self, endpoint: str) -> None:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider

        from tenantkit.observability.otel_export import (
            ExportSettings,
            InvocationSpanProcessor,
            OtlpHttpSpanExporter,
            XrayCompatibleIdGenerator,
        )

        self.processor = InvocationSpanProcessor(OtlpHttpSpanExporter(ExportSettings(endpoint, 2.0, None)))
        self._provider = TracerProvider(resource=Resource.create({"service.name": SERVICE, "cloud.provider": "aws",
                                                                  "cloud.platform": "aws_api_gateway"}),
                                        id_generator=XrayCompatibleIdGenerator(), shutdown_on_exit=False)
        self._provider.add_span_processor(self.processor)
        self._tracer = self._provider.get_tracer("tenantkit-local-apigw")

    @contextlib.contextmanager
    def request(self, method: str, headers: dict[str, str]) -> Iterator[GatewayRequestTrace]:
        from opentelemetry import trace
        from opentelemetry.propagators.aws import AwsXRayPropagator
        from opentelemetry.trace import SpanKind
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        lowered = {k.lower(): v for k, v in headers.items()}
        parent = None
        if "traceparent" in lowered:
            parent = TraceContextTextMapPropagator().extract({"traceparent": lowered["traceparent"]})
        elif "x-amzn-trace-id" in lowered:
            parent = AwsXRayPropagator().extract({"X-Amzn-Trace-Id": lowered["x-amzn-trace-id"]})
        span = self._tracer.start_span(method, context=parent, kind=SpanKind.SERVER)
        carrier: dict[str, str] = {}
        AwsXRayPropagator().inject(carrier, context=trace.set_span_in_context(span))
        request_trace = GatewayRequestTrace(span, carrier["X-Amzn-Trace-Id"], {"http.request.method": method})
        token = current_trace_header.set(request_trace.xray_header)
        try:
            yield request_trace
        finally:
            current_trace_header.reset(token)
            span.end()
            self.processor.flush()

    def shutdown(self) -> None:
        self.processor.shutdown()


def traced_headers(pairs: list[tuple[str, str]], xray_header: str | None) -> list[tuple[str, str]]:
    """The request headers (repeated names kept) as the integration sees them: API Gateway's
    ``X-Amzn-Trace-Id`` added, replacing the caller's, which the gateway span continued."""
    if xray_header is None:
        return pairs
    return [(k, v) for k, v in pairs if k.lower() != "x-amzn-trace-id"] + [("X-Amzn-Trace-Id", xray_header)]
