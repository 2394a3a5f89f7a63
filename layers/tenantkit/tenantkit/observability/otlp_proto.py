"""The OTLP/HTTP trace payload (``ExportTraceServiceRequest``, protobuf wire format) written directly.

The SDK's encoder (opentelemetry-exporter-otlp-proto-common) builds the payload from the
generated ``opentelemetry.proto`` classes, whose import loads the protobuf runtime and builds
its descriptor pool: about 50 modules, paid by the first traced invocation of every function.
What an export needs is one message shape written once per flush, so it is written here with
the five wire-format rules it uses. The messages are the same as the SDK encoder's, field for
field (grouping by resource then instrumentation scope, the span flags, the attribute values,
what is left out when unset): ``tests/unit/test_otlp_proto.py`` decodes both with
opentelemetry-proto and holds them equal for generated spans. Field numbers are those of
``opentelemetry/proto/{collector/trace,trace,common,resource}/v1/*.proto``.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["encode_export_request"]

# Span.flags bits (SpanFlags): whether the parent is known to be remote, and whether it is.
_HAS_IS_REMOTE = 0x100
_IS_REMOTE = 0x200
_VARINT, _FIXED64, _LENGTH, _FIXED32 = 0, 1, 2, 5


def _varint(value: int) -> bytes:
    if value < 0:  # int64: two's complement, always ten bytes
        value += 1 << 64
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _tag(field: int, wire_type: int) -> bytes:
    return _varint(field << 3 | wire_type)


def _bytes_field(field: int, payload: bytes) -> bytes:
    return _tag(field, _LENGTH) + _varint(len(payload)) + payload


def _string(field: int, value: str | None) -> bytes:
    """A proto3 string: left out when empty or unset."""
    return _bytes_field(field, value.encode()) if value else b""


def _uint(field: int, value: int | None) -> bytes:
    return _tag(field, _VARINT) + _varint(value) if value else b""


def _fixed64(field: int, value: int | None) -> bytes:
    return _tag(field, _FIXED64) + struct.pack("<Q", value) if value else b""


def _any_value(value: Any) -> bytes:
    """``AnyValue``: one of its fields, always written when set (a oneof has presence), even 0 or ""."""
    if value is None:
        return b""
    if isinstance(value, bool):
        return _tag(2, _VARINT) + (b"\x01" if value else b"\x00")
    if isinstance(value, str):
        return _bytes_field(1, value.encode())
    if isinstance(value, int):
        if not -(1 << 63) <= value < 1 << 63:
            raise OverflowError("int attribute outside int64")
        return _tag(3, _VARINT) + _varint(value)
    if isinstance(value, float):
        return _tag(4, _FIXED64) + struct.pack("<d", value)
    if isinstance(value, bytes):
        return _bytes_field(7, value)
    if isinstance(value, Sequence):
        return _bytes_field(5, b"".join(_bytes_field(1, _any_value(item)) for item in value))
    if isinstance(value, Mapping):
        return _bytes_field(6, b"".join(_bytes_field(1, _key_value(str(k), v)) for k, v in value.items()))
    raise TypeError(f"attribute value of type {type(value).__name__} cannot be encoded")


def _key_value(key: str, value: Any) -> bytes:
    return _string(1, key) + _bytes_field(2, _any_value(value))


def _attributes(field: int, attributes: Mapping[str, Any] | None) -> bytes:
    parts = []
    for key, value in (attributes or {}).items():
        try:
            parts.append(_bytes_field(field, _key_value(key, value)))
        except (TypeError, ValueError, OverflowError):  # as the SDK encoder: the attribute is left out
            continue
    return b"".join(parts)


def _span_flags(parent: Any) -> int:
    return _HAS_IS_REMOTE | (_IS_REMOTE if parent is not None and parent.is_remote else 0)


def _span(span: Any) -> bytes:
    context = span.get_span_context()
    parent = span.parent
    trace_state = ",".join(f"{k}={v}" for k, v in context.trace_state.items()) if context.trace_state else ""
    parts = [
        _bytes_field(1, context.trace_id.to_bytes(16, "big")),
        _bytes_field(2, context.span_id.to_bytes(8, "big")),
        _string(3, trace_state),
        _bytes_field(4, parent.span_id.to_bytes(8, "big")) if parent else b"",
        _string(5, span.name),
        _uint(6, span.kind.value + 1),  # SpanKind INTERNAL..CONSUMER = 0..4, SPAN_KIND_* = 1..5
        _fixed64(7, span.start_time),
        _fixed64(8, span.end_time),
        _attributes(9, span.attributes),
        _uint(10, span.dropped_attributes),
    ]
    for event in span.events:
        parts.append(_bytes_field(11, _fixed64(1, event.timestamp) + _string(2, event.name)
                                  + _attributes(3, event.attributes) + _uint(4, event.dropped_attributes)))
    parts.append(_uint(12, span.dropped_events))
    for link in span.links:
        parts.append(_bytes_field(13, _bytes_field(1, link.context.trace_id.to_bytes(16, "big"))
                                  + _bytes_field(2, link.context.span_id.to_bytes(8, "big"))
                                  + _attributes(4, link.attributes) + _uint(5, link.dropped_attributes)
                                  + _tag(6, _FIXED32) + struct.pack("<I", _span_flags(link.context))))
    parts.append(_uint(14, span.dropped_links))
    if span.status is not None:
        parts.append(_bytes_field(15, _string(2, span.status.description) + _uint(3, span.status.status_code.value)))
    parts.append(_tag(16, _FIXED32) + struct.pack("<I", _span_flags(parent)))
    return b"".join(parts)


def _scope(scope: Any) -> bytes:
    if scope is None:
        return b""
    return _string(1, scope.name) + _string(2, scope.version) + _attributes(3, scope.attributes)


def encode_export_request(spans: Sequence[Any]) -> bytes:
    """The serialized ``ExportTraceServiceRequest`` of ``spans`` (SDK ``ReadableSpan``s)."""
    grouped: dict[Any, dict[Any, list[bytes]]] = {}
    for span in spans:
        grouped.setdefault(span.resource, {}).setdefault(span.instrumentation_scope or None, []).append(_span(span))
    request = []
    for resource, scopes in grouped.items():
        scope_spans = b"".join(
            _bytes_field(2, _bytes_field(1, _scope(scope)) + b"".join(_bytes_field(2, s) for s in encoded)
                         + _string(3, scope.schema_url if scope else None))
            for scope, encoded in scopes.items())
        resource_spans = (_bytes_field(1, _attributes(1, resource.attributes)) + scope_spans
                          + _string(3, resource.schema_url))
        request.append(_bytes_field(1, resource_spans))
    return b"".join(request)
