"""Strict RFC 8259 request bodies, parsed once, forwarded in canonical form.

Accepted: UTF-8 text (no BOM, no invalid or surrogate-encoded sequences) holding one JSON
value with unique member names in every object, no ``NaN``/``Infinity``/``-Infinity``, no
number too large for a finite double, no lone surrogate escape (``"\\ud800"``), and at most
``MAX_DEPTH`` nested arrays/objects. Everything else is :class:`MalformedJsonError`.

The upstream receives :func:`canonical` of the parsed value, never the client's bytes: a
downstream parser that keeps the first of two duplicate members, or reads ``NaN``, never sees
anything other than the object the spoof check walked.
"""

from __future__ import annotations

import json
from typing import Any

from tenantkit.bff.exceptions import MalformedJsonError as MalformedJsonError  # re-exported: its old home

MAX_DEPTH = 32


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate member name")
    return result


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(object_pairs_hook=_unique_members, parse_constant=_no_constants)


def parse(data: bytes) -> tuple[Any, bytes]:
    """The value and its canonical bytes, or :class:`MalformedJsonError`."""
    try:
        text = data.decode("utf-8")  # strict: invalid UTF-8 and encoded surrogates fail here
    except UnicodeDecodeError:
        raise MalformedJsonError("body is not UTF-8") from None
    try:
        value = _DECODER.decode(text)  # also rejects a BOM and control characters in strings
    except (ValueError, RecursionError) as exc:
        raise MalformedJsonError(f"body is not valid JSON: {_why(exc)}") from None
    depth = nesting_depth(value)
    if depth > MAX_DEPTH:
        raise MalformedJsonError(f"body nests {depth} levels; at most {MAX_DEPTH}")
    return value, canonical(value)


def canonical(value: Any) -> bytes:
    """Compact UTF-8 JSON; fails on what RFC 8259 cannot carry (lone surrogates, inf/nan)."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
    except (ValueError, UnicodeEncodeError) as exc:
        raise MalformedJsonError(f"body is not valid JSON: {_why(exc)}") from None


def nesting_depth(value: Any) -> int:
    """Containers on the deepest path (a scalar is 0, ``{}`` is 1); iterative, no recursion limit."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


def _why(exc: Exception) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    if isinstance(exc, UnicodeEncodeError):
        return "lone surrogate"
    return str(exc).split(":")[0][:80]
