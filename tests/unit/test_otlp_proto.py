"""The hand-written OTLP encoding is byte-equal to opentelemetry's ``encode_spans`` for any span batch."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import Link, SpanKind, Status, StatusCode, TraceState

from tenantkit.observability.otlp_proto import encode_request


class DrawnIds(IdGenerator):
    """Ids drawn by hypothesis (the SDK's own generator uses ``random`` inside the strategy)."""

    def __init__(self, draw: Any) -> None:
        self._draw = draw

    def generate_span_id(self) -> int:
        return self._draw(IDS)

    def generate_trace_id(self) -> int:
        return self._draw(st.integers(1, 2**128 - 1))


class Collect(SpanProcessor):
    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def on_end(self, span: ReadableSpan) -> None:
        self.spans.append(span)


TEXT = st.text(max_size=12)
SCALAR = st.one_of(TEXT, st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=True))
VALUE = st.one_of(SCALAR, st.lists(TEXT, max_size=3), st.lists(st.booleans(), max_size=3),
                  st.lists(st.integers(-(2**63), 2**63 - 1), max_size=3), st.lists(st.floats(), max_size=3))
ATTRIBUTES = st.dictionaries(st.one_of(TEXT, st.sampled_from(["http.route", "tenant.id", "faas.coldstart"])),
                             VALUE, max_size=6)
IDS = st.integers(1, 2**64 - 1)


@st.composite
def span_batches(draw: Any) -> list[ReadableSpan]:
    collect = Collect()
    resources = [Resource.create({"service.name": draw(TEXT), "cloud.region": "eu-west-1"}),
                 Resource({"a": draw(VALUE)}, schema_url=draw(st.sampled_from(["", "https://schema.example/1"])))]
    spans_to_make = draw(st.integers(1, 4))
    for _ in range(spans_to_make):
        provider = TracerProvider(resource=draw(st.sampled_from(resources)), id_generator=DrawnIds(draw),
                                  shutdown_on_exit=False)
        provider.add_span_processor(collect)
        tracer = provider.get_tracer(draw(st.sampled_from(["tenantkit", "other", ""])),
                                     draw(st.sampled_from([None, "1.0"])),
                                     schema_url=draw(st.sampled_from([None, "https://schema.example/2"])))
        parent = None
        if draw(st.booleans()):
            state = TraceState([("vendor", "x1")]) if draw(st.booleans()) else None
            context = trace.SpanContext(draw(st.integers(1, 2**128 - 1)), draw(IDS), is_remote=draw(st.booleans()),
                                        trace_flags=trace.TraceFlags(1), trace_state=state)
            parent = trace.set_span_in_context(trace.NonRecordingSpan(context))
        links = [Link(trace.SpanContext(draw(st.integers(1, 2**128 - 1)), draw(IDS), is_remote=draw(st.booleans())),
                      draw(ATTRIBUTES)) for _ in range(draw(st.integers(0, 2)))]
        span = tracer.start_span(draw(TEXT), context=parent, kind=draw(st.sampled_from(list(SpanKind))),
                                 attributes=draw(ATTRIBUTES), links=links)
        for _ in range(draw(st.integers(0, 2))):
            span.add_event(draw(TEXT), draw(ATTRIBUTES))
        status = draw(st.sampled_from([None, "ok", "error", "error_text"]))
        if status == "ok":
            span.set_status(Status(StatusCode.OK))
        elif status == "error":
            span.set_status(Status(StatusCode.ERROR))
        elif status == "error_text":
            span.set_status(Status(StatusCode.ERROR, draw(TEXT)))
        span.end()
    return collect.spans


@settings(max_examples=250, deadline=None)
@given(span_batches())
def test_the_encoding_is_the_sdk_encoders_byte_for_byte(spans):
    encoded = encode_request(spans)
    assert encoded == encode_spans(spans).SerializePartialToString()
    assert ExportTraceServiceRequest.FromString(encoded) == encode_spans(spans)


def test_a_value_it_does_not_write_leaves_the_batch_to_the_sdk_encoder():
    collect = Collect()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(collect)
    span = provider.get_tracer("t").start_span("s")
    span._attributes._dict["big"] = 2**70  # past int64: only reachable by going around the SDK's checks
    span.end()
    assert encode_request(collect.spans) is None


def test_a_batch_no_encoder_can_write_is_dropped_not_raised():
    """Text that is not UTF-8 (a lone surrogate) has no protobuf encoding: the exporter drops that
    batch and counts a failure; the request it was flushed from does not fail."""
    from tenantkit.observability.otel_export import ExportSettings, OtlpHttpSpanExporter

    collect = Collect()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(collect)
    provider.get_tracer("t").start_span("s", attributes={"text": "\ud800"}).end()
    exporter = OtlpHttpSpanExporter(ExportSettings("http://127.0.0.1:9/v1/traces", 0.1, None))
    assert exporter.export(collect.spans, deadline=1e18) is False
    assert exporter.failures == 1 and exporter.last_error == "UnicodeEncodeError"


def test_values_equal_as_keys_but_encoded_apart_stay_apart():
    """True == 1 and 0.0 == -0.0 as dict keys: the per-attribute memo must not hand one's bytes to the other."""
    for first, second in ((True, 1), (1, True), (0.0, -0.0), (-0.0, 0.0), (1, 1.0)):
        for value in (first, second):
            collect = Collect()
            provider = TracerProvider(shutdown_on_exit=False)
            provider.add_span_processor(collect)
            provider.get_tracer("t").start_span("s", attributes={"k": value}).end()
            assert encode_request(collect.spans) == encode_spans(collect.spans).SerializePartialToString()


def test_one_providers_batch_and_an_empty_batch():
    collect = Collect()
    provider = TracerProvider(resource=Resource.create({"service.name": "svc"}), shutdown_on_exit=False)
    provider.add_span_processor(collect)
    tracer = provider.get_tracer("tenantkit")
    with tracer.start_as_current_span("parent", kind=SpanKind.SERVER, attributes={"tenant.id": "acme"}):
        tracer.start_span("child", kind=SpanKind.CLIENT, attributes={"rpc.method": "GetItem"}).end()
    assert len(collect.spans) == 2
    assert encode_request(collect.spans) == encode_spans(collect.spans).SerializePartialToString()
    assert encode_request([]) == encode_spans([]).SerializePartialToString() == b""
