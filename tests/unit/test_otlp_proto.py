"""The OTLP payload written without the protobuf runtime is the SDK encoder's, byte for byte.

Spans are generated through the real SDK (any attribute value the SDK keeps, events, links to
remote and local contexts, every kind and status, trace state, several resources and
instrumentation scopes in one export) and encoded both ways: opentelemetry-exporter-otlp-proto-
common's ``encode_spans`` (the reference) and ``tenantkit.observability.otlp_proto``.
"""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState

from tenantkit.observability.otlp_proto import encode_export_request


class _Capture(SpanProcessor):
    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def on_end(self, span: ReadableSpan) -> None:
        self.spans.append(span)


# st.text() leaves out lone surrogates (category Cs): text no encoder writes, so drawn on purpose
surrogate_texts = st.text(st.one_of(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), st.sampled_from("aé")),
                          min_size=1, max_size=4)
keys = st.one_of(st.text(min_size=0, max_size=12), surrogate_texts)
names = st.text(max_size=20)
texts = st.one_of(names, surrogate_texts)
ints = st.one_of(st.integers(-(2**63), 2**63 - 1), st.integers(-(2**70), 2**70))  # out of int64: left out
floats = st.floats(allow_nan=False)
scalars = st.one_of(st.booleans(), texts, ints, floats)
values = st.one_of(scalars, st.lists(st.booleans(), max_size=3), st.lists(texts, max_size=3),
                   st.lists(ints, max_size=3), st.lists(floats, max_size=3))
attributes = st.dictionaries(keys, values, max_size=5)
ids = st.integers(1, 2**64 - 1)
contexts = st.builds(lambda t, s, remote, sampled: SpanContext(t, s, is_remote=remote,
                                                                trace_flags=TraceFlags(int(sampled))),
                     st.integers(1, 2**128 - 1), ids, st.booleans(), st.booleans())
states = st.dictionaries(st.from_regex(r"[a-z][a-z0-9]{0,5}", fullmatch=True),
                         st.from_regex(r"[a-z0-9]{1,6}", fullmatch=True), max_size=3)
span_specs = st.fixed_dictionaries({
    "name": names,
    "kind": st.sampled_from(list(SpanKind)),
    "attributes": attributes,
    "events": st.lists(st.tuples(names, attributes, st.integers(1, 2**63)), max_size=2),
    "links": st.lists(st.tuples(contexts, attributes), max_size=2),
    "status": st.one_of(st.none(), st.sampled_from([Status(StatusCode.OK), Status(StatusCode.ERROR)]),
                        st.builds(lambda d: Status(StatusCode.ERROR, d), names)),
    "parent": st.one_of(st.none(), st.tuples(contexts, states)),
    "times": st.tuples(st.integers(1, 2**62), st.integers(0, 2**62)),
    "resource": st.integers(0, 1),
    "scope": st.integers(0, 2),
})
RESOURCES = [Resource.create({"service.name": "tenantkit-authorizer", "cloud.region": "eu-west-1"}),
             Resource({"service.name": "other", "n": 3, "flags": (True, False)}, schema_url="https://example/1")]
SCOPES = [("tenantkit", None, None, None), ("botocore", "1.2", "https://example/scope", {"a": "b"}), ("", "", None, {})]


def _spans(specs: list[dict]) -> list[ReadableSpan]:
    capture = _Capture()
    providers = []
    for resource in RESOURCES:
        provider = TracerProvider(resource=resource, shutdown_on_exit=False)
        provider.add_span_processor(capture)
        providers.append(provider)
    for spec in specs:
        name, version, schema_url, scope_attributes = SCOPES[spec["scope"]]
        tracer = providers[spec["resource"]].get_tracer(name, version, schema_url=schema_url,
                                                        attributes=scope_attributes)
        context = None
        if spec["parent"] is not None:
            parent, state = spec["parent"]
            parent = SpanContext(parent.trace_id, parent.span_id, parent.is_remote, parent.trace_flags,
                                 TraceState(list(state.items())))
            context = trace.set_span_in_context(trace.NonRecordingSpan(parent))
        start, duration = spec["times"]
        span = tracer.start_span(spec["name"], context=context, kind=spec["kind"], attributes=spec["attributes"],
                                 links=[Link(c, a) for c, a in spec["links"]], start_time=start)
        for event_name, event_attributes, timestamp in spec["events"]:
            span.add_event(event_name, event_attributes, timestamp=timestamp)
        if spec["status"] is not None:
            span.set_status(spec["status"])
        span.end(end_time=start + duration)
    return capture.spans


@settings(max_examples=150, deadline=None)
@given(st.lists(span_specs, max_size=4))
def test_the_payload_is_the_sdk_encoders_byte_for_byte(specs):
    spans = _spans(specs)
    reference = encode_spans(spans)
    ours = encode_export_request(spans)
    assert ExportTraceServiceRequest.FromString(ours) == reference
    assert ours == reference.SerializeToString()


def test_values_the_sdk_encoder_writes_although_they_are_defaults():
    # a oneof has presence: 0, False, "" and an empty list are values, not "unset"
    [span] = _spans([{"name": "", "kind": SpanKind.INTERNAL, "attributes": {"z": 0, "f": False, "s": "", "l": [],
                                                                          "d": -0.0, "big": 2**63},
                      "events": [], "links": [], "status": None, "parent": None, "times": (1, 0),
                      "resource": 0, "scope": 2}])
    decoded = ExportTraceServiceRequest.FromString(encode_export_request([span]))
    attributes = {kv.key: kv.value for kv in decoded.resource_spans[0].scope_spans[0].spans[0].attributes}
    assert set(attributes) == {"z", "f", "s", "l", "d"}  # 2**63 is outside int64: left out, as the SDK does
    assert attributes["z"].HasField("int_value") and attributes["f"].HasField("bool_value")
    assert attributes["s"].HasField("string_value") and attributes["l"].HasField("array_value")
    assert math.copysign(1, attributes["d"].double_value) == -1
    assert encode_export_request([span]) == encode_spans([span]).SerializeToString()


def _one_span(attributes: dict) -> list[ReadableSpan]:
    capture = _Capture()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(capture)
    provider.get_tracer("t").start_span("s", attributes=attributes).end()
    return capture.spans


def test_a_value_with_no_encoding_is_left_out_as_the_sdk_does_even_past_the_sdks_checks():
    spans = _one_span({"kept": "yes"})
    spans[0]._attributes._dict["big"] = 2**70  # past int64: only reachable by going around the SDK's checks
    spans[0]._attributes._dict["odd"] = object()
    assert encode_export_request(spans) == encode_spans(spans).SerializeToString()


def test_an_attribute_with_a_lone_surrogate_is_left_out_as_the_sdk_does():
    """Not UTF-8, so no encoding: in a value, a key or an array item the SDK's encoder leaves that
    attribute out and writes the span; one odd attribute must not cost the whole batch."""
    for odd in ({"text": "\ud800"}, {"\udfff": "v"}, {"list": ["a", "\udc00"]}):
        spans = _one_span({"kept": "yes", **odd})
        assert encode_export_request(spans) == encode_spans(spans).SerializeToString()
        [span] = ExportTraceServiceRequest.FromString(encode_export_request(spans)).resource_spans[0] \
            .scope_spans[0].spans
        assert [kv.key for kv in span.attributes] == ["kept"]


def test_a_batch_no_encoder_can_write_is_dropped_not_raised():
    """A span name that is not UTF-8 (a lone surrogate) has no protobuf encoding, for the SDK's
    encoder too: the exporter drops that batch and counts a failure; the request it was flushed
    from does not fail."""
    from tenantkit.observability.otel_export import ExportSettings, OtlpHttpSpanExporter

    capture = _Capture()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(capture)
    provider.get_tracer("t").start_span("\ud800").end()
    exporter = OtlpHttpSpanExporter(ExportSettings("http://127.0.0.1:9/v1/traces", 0.1, None))
    assert exporter.export(capture.spans, deadline=1e18) is False
    assert exporter.failures == 1 and exporter.last_error == "UnicodeEncodeError"


def test_values_equal_as_keys_but_encoded_apart_stay_apart():
    """True == 1 and 0.0 == -0.0 as dict keys: the per-attribute memo must not hand one's bytes to the other."""
    for first, second in ((True, 1), (1, True), (0.0, -0.0), (-0.0, 0.0), (1, 1.0)):
        for value in (first, second):
            spans = _one_span({"k": value})
            assert encode_export_request(spans) == encode_spans(spans).SerializeToString()


def test_an_empty_batch():
    assert encode_export_request([]) == encode_spans([]).SerializeToString() == b""


def test_an_export_that_cannot_be_signed_is_dropped_not_raised(monkeypatch, tmp_path):
    """No credentials to sign for the X-Ray OTLP endpoint (never in Lambda): the batch is dropped
    and counted; the flush, and so the invocation it runs in, does not fail."""
    from tenantkit.observability.otel_export import ExportSettings, OtlpHttpSpanExporter

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    exporter = OtlpHttpSpanExporter(ExportSettings("http://127.0.0.1:9/v1/traces", 0.1, "eu-west-1"))
    assert exporter.export(_one_span({"k": "v"}), deadline=1e18) is False
    assert exporter.failures == 1 and exporter.last_error == "OSError"
