"""The OTLP ``ExportTraceServiceRequest`` of a batch of spans, written straight in protobuf wire format.

``opentelemetry-exporter-otlp-proto-common``'s ``encode_spans`` builds one protobuf message
object per span, attribute and value, then serializes them: on the sampled request path that
was the largest single cost of tracing. This writes the same bytes directly (fields in number
order, proto3 defaults left out, as protobuf serializes), with the resource and scope encoded
once per pipeline, and without loading the protobuf runtime (about 50 modules the first traced
invocation would otherwise pay; the TracingLayer does not ship it). A property test holds the
output byte-equal to ``encode_spans(spans).SerializePartialToString()`` over generated spans. As
that encoder does, an attribute whose value has no encoding (an int past int64, an unknown type,
text with a lone surrogate) is left out and the rest of the span is written.

Field numbers: opentelemetry/proto/{collector/trace,trace,resource,common}/v1/*.proto.
"""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Mapping, Sequence
from typing import Any

from tenantkit.observability.exceptions import SpanValueUnsupportedError

__all__ = ["encode_export_request"]

_SPAN_KINDS = {"INTERNAL": 1, "SERVER": 2, "CLIENT": 3, "PRODUCER": 4, "CONSUMER": 5}
_HAS_IS_REMOTE, _IS_REMOTE = 0x100, 0x200  # SpanFlags masks
_DOUBLE, _FIXED64, _FIXED32 = struct.Struct("<d"), struct.Struct("<Q"), struct.Struct("<I")
_SMALL = [bytes([i]) for i in range(128)]


def _varint(value: int) -> bytes:
    if 0 <= value < 128:
        return _SMALL[value]
    value &= 0xFFFFFFFFFFFFFFFF  # int64: two's complement, ten bytes for a negative number
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _nested(tag: bytes, payload: bytes) -> bytes:
    size = len(payload)
    return tag + (_SMALL[size] if size < 128 else _varint(size)) + payload


def _text(tag: bytes, value: str | None) -> bytes:
    if not value:
        return b""
    data = value.encode("utf-8")
    return tag + _varint(len(data)) + data


def _any_value(value: Any) -> bytes:
    """AnyValue: string 1, bool 2, int 3, double 4, array 5, kvlist 6, bytes 7 (a oneof: always written)."""
    if value is None:
        return b""
    if isinstance(value, bool):
        return b"\x10\x01" if value else b"\x10\x00"
    if isinstance(value, str):
        data = value.encode("utf-8")
        return b"\x0a" + _varint(len(data)) + data
    if isinstance(value, int):
        if not -(1 << 63) <= value < (1 << 63):
            raise SpanValueUnsupportedError("int64 overflow")
        return b"\x18" + _varint(value)
    if isinstance(value, float):
        return b"\x21" + _DOUBLE.pack(value)
    if isinstance(value, bytes):
        return b"\x3a" + _varint(len(value)) + value
    if isinstance(value, Sequence):
        return _nested(b"\x2a", b"".join(_nested(b"\x0a", _any_value(item)) for item in value))
    if isinstance(value, Mapping):
        return _nested(b"\x32", b"".join(_nested(b"\x0a", _key_value(str(k), v)) for k, v in value.items()))
    raise SpanValueUnsupportedError(type(value).__name__)


def _key_value(key: str, value: Any) -> bytes:
    """A KeyValue message's body: key 1, value 2 (the value message is always set)."""
    return _text(b"\x0a", key) + _nested(b"\x12", _any_value(value))


# Most attributes repeat from request to request (tenant, app, route, method, outcome, status): an
# encoded KeyValue is kept per (key, type, value), bounded. The type is part of the key because
# True == 1 as dict keys, and they encode differently; floats are never kept (0.0 == -0.0, and a
# NaN never finds itself).
_MAX_KEPT_ATTRIBUTES = 4096
_kept_attributes: dict[tuple[str, type, Any], bytes] = {}
_KEPT_KINDS = (str, bool, int)
# A value no encoder writes: an int past int64, an unknown type, text that is not UTF-8 (a lone
# surrogate, in the key, the value or an array item). encode_spans leaves such an attribute out
# and writes the rest of the span: one odd attribute never costs the invocation's whole batch.
_NO_ENCODING = (SpanValueUnsupportedError, UnicodeEncodeError)


def _attributes(tag: bytes, attributes: Mapping[str, Any] | None) -> bytes:
    """A repeated KeyValue field."""
    if not attributes:
        return b""
    parts = []
    for key, value in attributes.items():
        kind = type(value)
        if kind not in _KEPT_KINDS:
            with contextlib.suppress(*_NO_ENCODING):  # as encode_spans: the attribute is left out
                parts.append(_nested(tag, _key_value(key, value)))
            continue
        memo = (key, kind, value)
        encoded = _kept_attributes.get(memo)
        if encoded is None:
            try:
                encoded = _key_value(key, value)
            except _NO_ENCODING:  # as encode_spans: this attribute is left out
                continue
            if len(_kept_attributes) < _MAX_KEPT_ATTRIBUTES:
                _kept_attributes[memo] = encoded
        parts.append(_nested(tag, encoded))
    return b"".join(parts)


def _flags(parent: Any) -> bytes:
    flags = _HAS_IS_REMOTE | (_IS_REMOTE if parent is not None and parent.is_remote else 0)
    return b"\x85\x01" + _FIXED32.pack(flags)  # field 16, fixed32


def _span(span: Any) -> bytes:
    context = span.get_span_context()
    parent = span.parent
    trace_state = ",".join(f"{k}={v}" for k, v in context.trace_state.items()) if context.trace_state else ""
    status = span.status
    parts = [
        b"\x0a\x10" + context.trace_id.to_bytes(16, "big"),
        b"\x12\x08" + context.span_id.to_bytes(8, "big"),
        _text(b"\x1a", trace_state),
        b"\x22\x08" + parent.span_id.to_bytes(8, "big") if parent else b"",
        _text(b"\x2a", span.name),
        b"\x30" + _varint(_SPAN_KINDS[span.kind.name]),
        b"\x39" + _FIXED64.pack(span.start_time) if span.start_time else b"",
        b"\x41" + _FIXED64.pack(span.end_time) if span.end_time else b"",
        _attributes(b"\x4a", span.attributes),
        b"\x50" + _varint(span.dropped_attributes) if span.dropped_attributes else b"",
    ]
    for event in span.events or ():
        parts.append(_nested(b"\x5a", b"".join([
            b"\x09" + _FIXED64.pack(event.timestamp) if event.timestamp else b"",
            _text(b"\x12", event.name),
            _attributes(b"\x1a", event.attributes),
            b"\x20" + _varint(event.dropped_attributes) if event.dropped_attributes else b"",
        ])))
    if span.dropped_events:
        parts.append(b"\x60" + _varint(span.dropped_events))
    for link in span.links or ():
        parts.append(_nested(b"\x6a", b"".join([
            b"\x0a\x10" + link.context.trace_id.to_bytes(16, "big"),
            b"\x12\x08" + link.context.span_id.to_bytes(8, "big"),
            _attributes(b"\x22", link.attributes),
            b"\x28" + _varint(link.dropped_attributes) if link.dropped_attributes else b"",
            b"\x35" + _FIXED32.pack(_HAS_IS_REMOTE | (_IS_REMOTE if link.context.is_remote else 0)),
        ])))
    if span.dropped_links:
        parts.append(b"\x70" + _varint(span.dropped_links))
    if status is not None:  # Status: message 2, code 3
        code = status.status_code.value
        parts.append(_nested(b"\x7a", _text(b"\x12", status.description) + (b"\x18" + _varint(code) if code else b"")))
    parts.append(_flags(parent))
    return b"".join(parts)


# Resource and scope hashes serialize their attributes (Resource.__hash__ dumps them as JSON):
# the encodings are kept by object identity instead, the object held alongside so its id stays its own.
_resources: dict[int, tuple[Any, bytes]] = {}
_scopes: dict[int, tuple[Any, bytes]] = {}


def _resource(resource: Any) -> bytes:
    """ResourceSpans.resource (field 1), encoded once per resource object."""
    kept = _resources.get(id(resource))
    if kept is not None and kept[0] is resource:
        return kept[1]
    encoded = _nested(b"\x0a", _attributes(b"\x0a", resource.attributes))
    if len(_resources) < 64:
        _resources[id(resource)] = (resource, encoded)
    return encoded


def _scope(scope: Any) -> bytes:
    """ScopeSpans.scope (field 1): name 1, version 2, attributes 3; encoded once per scope object."""
    kept = _scopes.get(id(scope))
    if kept is not None and kept[0] is scope:
        return kept[1]
    body = b"" if scope is None else \
        _text(b"\x0a", scope.name) + _text(b"\x12", scope.version) + _attributes(b"\x1a", scope.attributes)
    encoded = _nested(b"\x0a", body)
    if len(_scopes) < 64:
        _scopes[id(scope)] = (scope, encoded)
    return encoded


def encode_export_request(spans: Sequence[Any]) -> bytes:
    """``encode_spans(spans).SerializePartialToString()``: the serialized ``ExportTraceServiceRequest``."""
    if not spans:
        return b""
    encoded = [_nested(b"\x12", _span(span)) for span in spans]
    resource, scope = spans[0].resource, spans[0].instrumentation_scope or None
    groups: list[tuple[Any, list[tuple[Any, list[bytes]]]]]
    if all(span.resource is resource and (span.instrumentation_scope or None) is scope for span in spans):
        groups = [(resource, [(scope, encoded)])]  # one provider, one tracer: nothing to hash
    else:  # grouped as encode_spans groups them: by equal resource, then by equal scope
        by_resource: dict[Any, dict[Any, list[bytes]]] = {}
        for span, span_bytes in zip(spans, encoded, strict=True):
            by_resource.setdefault(span.resource, {}).setdefault(span.instrumentation_scope or None, []) \
                .append(span_bytes)
        groups = [(group, list(scopes.items())) for group, scopes in by_resource.items()]
    out = []
    for group_resource, scopes in groups:
        body = [_resource(group_resource)]
        for group_scope, encoded_spans in scopes:
            schema = _text(b"\x1a", group_scope.schema_url if group_scope is not None else None)
            body.append(_nested(b"\x12", _scope(group_scope) + b"".join(encoded_spans) + schema))
        body.append(_text(b"\x1a", group_resource.schema_url))
        out.append(_nested(b"\x0a", b"".join(body)))
    return b"".join(out)
