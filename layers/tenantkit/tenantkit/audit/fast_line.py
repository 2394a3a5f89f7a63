"""Audit lines for records that repeat: the per-request path of ``emit_audit``.

An audit record's validity is per field (no model validator; the one field validator reads
``ts`` only), and most of its fields repeat from request to request of one caller (event type,
outcome, reason, service, tenant, app, principal, route, status). Only five vary per record:
``event_id`` and ``ts`` (minted here, valid by construction), ``correlation_id``, ``latency_ms``
and ``function_request_id``. So the first record of a given shape is validated by pydantic and
serialized in full; its verdict and the JSON text between the varying fields are kept (bounded),
keyed by the repeating values and their types. A later record of that shape checks only its
varying values (the same constraints pydantic applies to them, on exact types) and is written
from the kept text. Anything else (an unknown field, a value of another type, a varying value
that fails its check, a redaction trigger in a varying value) takes the pydantic path. Property
tests hold the two byte-equal (``tests/unit/test_audit_fast_line.py``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from json.encoder import encode_basestring_ascii
from typing import Any

from tenantkit.audit.schema import AuditRecord, new_event_id, utc_timestamp
from tenantkit.identifiers import AUDIT_ID
from tenantkit.observability.redaction import is_text_clean

__all__ = ["MAX_SHAPES", "fast_record_and_line"]

MAX_SHAPES = 1024  # shapes kept; when full, the kept set starts over
VARYING = ("event_id", "ts", "correlation_id", "latency_ms", "function_request_id")
FIELDS = tuple(AuditRecord.model_fields)
REPEATING = tuple(name for name in FIELDS if name not in VARYING)
_KNOWN = frozenset(FIELDS)
_AUDIT_ID = re.compile(AUDIT_ID[1:-1])
_MAX_REQUEST_ID = AuditRecord.model_fields["function_request_id"].metadata[0].max_length
_set_attribute = object.__setattr__
# shape -> (the JSON text around the varying values, the validated values of the shape), or None
_shapes: dict[tuple[Any, ...], tuple[tuple[str, ...], dict[str, Any]] | None] = {}


_ABSENT = object()  # a field not given: its default applies; given as None it may be refused ("schema_version")


def _shape_of(values: dict[str, Any], policy: Any) -> tuple[Any, ...]:
    repeating = tuple([values.get(name, _ABSENT) for name in REPEATING])
    return (policy, repeating, tuple(map(type, repeating)))


def _varying_ok(correlation_id: Any, latency_ms: Any, request_id: Any) -> bool:
    if correlation_id is not None and (type(correlation_id) is not str or not correlation_id.isascii()
                                       or _AUDIT_ID.fullmatch(correlation_id) is None):
        return False
    if latency_ms is not None and (type(latency_ms) is not float or not math.isfinite(latency_ms) or latency_ms < 0):
        return False
    # ASCII only here: pydantic refuses a lone surrogate, and every other text goes its way too
    return request_id is None or (type(request_id) is str and len(request_id) <= _MAX_REQUEST_ID
                                  and request_id.isascii())


def _segments(line: dict[str, Any], encoded: str) -> tuple[str, ...] | None:
    """The line's JSON text cut around the varying values (None: a cut would be ambiguous)."""
    pieces: list[str] = []
    rest = encoded
    for name in VARYING:
        marker = f'"{name}":' + _json_scalar(line[name])
        at = rest.find(marker)
        if at < 0:
            return None
        pieces.append(rest[:at] + f'"{name}":')
        rest = rest[at + len(marker):]
    pieces.append(rest)
    return tuple(pieces)


def _json_scalar(value: Any) -> str:
    if value is None:
        return "null"
    if type(value) is str:
        return encode_basestring_ascii(value)
    return float.__repr__(value)


def fast_record_and_line(values: dict[str, Any], policy: Any,
                         full: Callable[[dict[str, Any]], tuple[AuditRecord, str]]) -> tuple[AuditRecord, str]:
    """``full(values)`` (validate with pydantic, serialize) unless a kept shape answers for them."""
    if "event_id" in values or "ts" in values or not values.keys() <= _KNOWN:
        return full(values)
    shape = _shape_of(values, policy)
    try:
        kept = _shapes.get(shape)
    except TypeError:  # an unhashable value (a list where a scalar belongs): pydantic says what is wrong
        return full(values)
    correlation_id = values.get("correlation_id")
    latency_ms = values.get("latency_ms")
    request_id = values.get("function_request_id")
    varying_ok = _varying_ok(correlation_id, latency_ms, request_id) \
        and is_text_clean(correlation_id) and is_text_clean(request_id)
    if kept is None or not varying_ok:
        record, text = full(values)
        if varying_ok and shape not in _shapes:
            if len(_shapes) >= MAX_SHAPES:
                _shapes.clear()  # start over: the shapes of the callers seen lately are what repeats
            line = dict(record.__dict__)
            line["session_id"] = policy.apply(line["session_id"])
            clean = all(is_text_clean(line[name]) for name in REPEATING if type(line[name]) is str)
            segments = _segments(line, text) if clean else None
            # the validated (possibly coerced) values, not the given ones: 0 given for a bool is False
            _shapes[shape] = None if segments is None else (segments, dict(record.__dict__))
        return record, text
    s, validated = kept
    event_id, ts = new_event_id(), utc_timestamp()
    data = dict(validated)
    data["event_id"], data["ts"] = event_id, ts
    data["correlation_id"], data["latency_ms"], data["function_request_id"] = correlation_id, latency_ms, request_id
    record = AuditRecord.__new__(AuditRecord)
    # What BaseModel.model_construct sets; every value passed pydantic's checks (this shape) or
    # the same checks above (the varying ones).
    _set_attribute(record, "__dict__", data)
    _set_attribute(record, "__pydantic_fields_set__", set(values))
    _set_attribute(record, "__pydantic_extra__", None)
    _set_attribute(record, "__pydantic_private__", None)
    text = (f"{s[0]}{encode_basestring_ascii(event_id)}{s[1]}{encode_basestring_ascii(ts)}{s[2]}"
            f"{_json_scalar(correlation_id)}{s[3]}{_json_scalar(latency_ms)}{s[4]}{_json_scalar(request_id)}{s[5]}")
    return record, text
