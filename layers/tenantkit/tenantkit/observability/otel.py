"""The OpenTelemetry adapter of the tracing port (``TENANTKIT_TRACING=otel``).

Loaded on the first traced invocation, never at import. One handler span per invocation
(kind SERVER) continues the inbound context: Lambda's ``_X_AMZN_TRACE_ID`` (set from API
Gateway's trace through the AWS X-Ray propagator) first, else the event's ``traceparent``, else
its ``X-Amzn-Trace-Id`` header. Its attributes are read from the request state at the end, i.e.
from the last audit record (whose route is already an id-free template): what is audited is
what is traced. Child spans (AWS SDK calls, the upstream call) hang under it. Exceptions are
recorded as ``error.type`` (the class name) and an ERROR status without description: exception
text may hold a token, so it never reaches a span.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from opentelemetry import context as context_api
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import SpanKind

from tenantkit.observability.otel_export import (
    ExportSettings,
    InvocationSpanProcessor,
    OtlpHttpSpanExporter,
    XrayCompatibleIdGenerator,
)
from tenantkit.observability.pseudonym import session_id_policy
from tenantkit.observability.settings import (
    OtelSettings,
    lambda_function_name,
    lambda_region,
    lambda_trace_header,
    observability_settings,
)
from tenantkit.observability.spans import active_tracer, error_status, unsampled_traceparent
from tenantkit.observability.state import current_state
from tenantkit.paths import resource_template

SCOPE = "tenantkit"
_ID_GENERATOR = XrayCompatibleIdGenerator()


@dataclass
class Pipeline:
    provider: TracerProvider
    tracer: trace.Tracer
    processor: InvocationSpanProcessor
    config: OtelSettings


# A changed endpoint (tests, the local stack restarted on another port) builds a new pipeline
# rather than exporting to a receiver that is gone. The settings come from the validated
# observability settings, read once per invocation (``reset()`` forgets the pipelines).
def _config() -> OtelSettings:
    return observability_settings().otel


_pipelines: dict[str, Pipeline] = {}


def pipeline(service: str) -> Pipeline:
    """One provider per service (the local stack runs several functions in one process)."""
    found = _pipelines.get(service)
    config = _config()
    if found is not None and found.config != config:
        found.processor.exporter.close()
        found = None
    if found is None:
        resource = Resource.create({
            "service.name": service, "cloud.provider": "aws", "cloud.platform": "aws_lambda",
            "cloud.region": lambda_region() or "",
            "faas.name": lambda_function_name() or service,
        })
        processor = InvocationSpanProcessor(OtlpHttpSpanExporter(ExportSettings.from_settings(config)))
        provider = TracerProvider(sampler=ParentBased(TraceIdRatioBased(config.sample_ratio)), resource=resource,
                                  id_generator=_ID_GENERATOR, shutdown_on_exit=False)
        provider.add_span_processor(processor)
        found = Pipeline(provider, provider.get_tracer(SCOPE), processor, config)
        _pipelines[service] = found
    return found


def reset() -> None:
    """Forget every pipeline (tests and benches change the endpoint between runs)."""
    for found in _pipelines.values():
        found.processor.shutdown()
    _pipelines.clear()


def inbound_context(event: Any) -> context_api.Context | None:
    lambda_header = lambda_trace_header()
    if lambda_header:
        return xray_context(lambda_header)
    headers = event.get("headers") if isinstance(event, dict) else None
    if not isinstance(headers, dict):
        return None
    lowered = {k.lower(): v for k, v in headers.items() if isinstance(k, str) and isinstance(v, str)}
    if "traceparent" in lowered:
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        return TraceContextTextMapPropagator().extract({"traceparent": lowered["traceparent"]})
    if "x-amzn-trace-id" in lowered:
        return xray_context(lowered["x-amzn-trace-id"])
    return None


_CANONICAL_XRAY_HEADER = re.compile(
    r"Root=1-([0-9a-fA-F]{8})-([0-9a-fA-F]{24});Parent=([0-9a-fA-F]{16});Sampled=([01])\Z")


def parse_xray_header(header: str) -> tuple[int, int, bool] | None:
    """``(trace id, parent id, sampled)`` of an X-Ray trace header (``Root=1-<8 hex>-<24 hex>;
    Parent=<16 hex>;Sampled=0|1``), read exactly as the AWS X-Ray propagator reads it (a property
    test holds the two equal) at a fraction of its cost: this runs on every invocation. None when
    it names no valid parent."""
    canonical = _CANONICAL_XRAY_HEADER.match(header)
    if canonical is not None:  # the form Lambda sets: one regex instead of the general loop
        root_time, root_rest, parent, flag = canonical.groups()
        trace_id, span_id = int(root_time + root_rest, 16), int(parent, 16)
        if trace_id and span_id:
            return trace_id, span_id, flag == "1"
        return None
    trace_id = span_id = 0
    sampled = False
    try:
        for pair in header.split(";"):
            key, value = (piece.strip() for piece in pair.split("="))  # not exactly one "=": invalid
            if key == "Root":
                if len(value) != 35 or value[0] != "1" or value[1] != "-" or value[10] != "-":
                    return None
                trace_id = int(value[2:10] + value[11:35], 16)
            elif key == "Parent":
                if len(value) != 16:
                    return None
                span_id = int(value, 16)
            elif key == "Sampled":
                if value not in ("0", "1"):
                    return None
                sampled = value == "1"
    except ValueError:
        return None
    if not 0 < trace_id < 1 << 128 or not 0 < span_id < 1 << 64:  # int() also reads "-1"
        return None
    return trace_id, span_id, sampled


def xray_context(header: str) -> context_api.Context | None:
    """The OTel context whose (remote) parent is the one an X-Ray trace header names."""
    parsed = parse_xray_header(header)
    if parsed is None:
        return None
    trace_id, span_id, sampled = parsed
    context = trace.SpanContext(trace_id, span_id, is_remote=True,
                                trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED if sampled else 0))
    return trace.set_span_in_context(trace.NonRecordingSpan(context))


def handler_attributes() -> dict[str, Any]:
    """The handler span's attributes from the request state (the contract's names)."""
    state = current_state()
    if state is None:
        return {}
    identity = state.identity
    values: dict[str, Any] = {
        "faas.invocation_id": state.function_request_id,
        "faas.coldstart": state.cold_start,
        "tenantkit.correlation_id": identity.get("correlation_id"),
        "tenant.id": identity.get("tenant_id"),
        "app.id": identity.get("app_id"),
        "session.id": session_id_policy().apply(identity.get("session_id")),
        "tenantkit.outcome": state.outcome,
        "tenantkit.reason": state.reason,
    }
    if state.route:
        method, _, path = state.route.partition(" ")
        values["http.request.method"] = method
        # the audit route is a template already (the authorizer's keeps API Gateway's resource
        # template, e.g. {proxy+}; the BFF's turned client text into placeholders), so it is
        # re-templated as one: idempotent, and the one normalizer (tenantkit.paths) stays the only
        # judge of what may reach a span
        values["http.route"] = resource_template(method, path).partition(" ")[2]
    if state.status is not None:
        values["http.response.status_code"] = state.status
    return {k: v for k, v in values.items() if v is not None}




def traced(handler: Callable[[Any, Any], Any], service: str) -> Callable[[Any, Any], Any]:
    pipeline(service)  # built now: the first traced invocation pays for it, not each one

    @functools.wraps(handler)
    def call(event: Any, context: Any) -> Any:
        lambda_header = lambda_trace_header()
        parsed = parse_xray_header(lambda_header) if lambda_header else None
        if parsed is not None and not parsed[2]:
            # Not sampled upstream (most production invocations): what ParentBased would answer
            # is a non-recording span, so no span is made at all; the trace still reaches the
            # agent, as not sampled, through the outbound traceparent.
            unsampled = unsampled_traceparent.set(
                f"00-{parsed[0]:032x}-{_ID_GENERATOR.generate_span_id():016x}-00")
            try:
                return handler(event, context)
            finally:
                unsampled_traceparent.reset(unsampled)
        found = pipeline(service)  # looked up per call: a changed endpoint rebuilds it
        tracer, processor = found.tracer, found.processor
        span = tracer.start_span(service, context=inbound_context(event), kind=SpanKind.SERVER)
        token = context_api.attach(trace.set_span_in_context(span))
        active = active_tracer.set(tracer)
        failed: BaseException | None = None
        try:
            return handler(event, context)
        except BaseException as error:
            failed = error
            raise
        finally:
            active_tracer.reset(active)
            context_api.detach(token)
            if span.is_recording():
                _finish_handler_span(span, failed)
            span.end()
            processor.flush()

    return call


def _finish_handler_span(span: Any, failed: BaseException | None) -> None:
    attributes = handler_attributes()
    if "http.route" in attributes:
        span.update_name(f"{attributes['http.request.method']} {attributes['http.route']}")
    span.set_attributes(attributes)
    state = current_state()
    status = attributes.get("http.response.status_code")
    if failed is not None and (state is None or state.outcome is None):  # a crash, not an audited 401
        span.set_attribute("error.type", type(failed).__name__)
        span.set_status(error_status())
    elif isinstance(status, int) and status >= 500:
        span.set_attribute("error.type", str(status))
        span.set_status(error_status())
