"""Hypothesis strategies for request-path adversaries: identity keys in every spelling, foreign
and non-scalar values, bodies nesting them at any accepted depth, and id-laden paths."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

from tenantkit.bff.sessions import new_session_id
from tenantkit.bff.strict_json import MAX_DEPTH
from tenantkit.identity_keys import DEFAULT_IDENTITY_KEYS, DEFAULT_KEYS
from tenantkit.paths import ROUTE_WORDS

FIELDS = tuple(DEFAULT_IDENTITY_KEYS)


def _words(name: str) -> list[str]:
    return [w for w in re.split(r"[_\W]+", name) if w]


def spell(name: str, style: str) -> str:
    """``tenant_id`` in one of many spellings: camel, kebab, upper, dotted, title, x-prefixed, plural."""
    words = _words(name)
    return {
        "snake": "_".join(words),
        "camel": words[0] + "".join(w.title() for w in words[1:]),
        "pascal": "".join(w.title() for w in words),
        "kebab": "-".join(words),
        "title": "-".join(w.title() for w in words).replace("Id", "ID"),
        "upper": "_".join(words).upper(),
        "dotted": ".".join(words),
        "spaced": " ".join(words),
        "x": "X-" + "-".join(w.title() for w in words),
        "plural": "_".join(words) + "s",
    }[style]


STYLES = st.sampled_from(["snake", "camel", "pascal", "kebab", "title", "upper", "dotted", "spaced", "x", "plural"])


@st.composite
def identity_keys(draw: st.DrawFn, field: str | None = None) -> tuple[str, str]:
    """(spelling, envelope field)."""
    chosen = field or draw(st.sampled_from(FIELDS))
    name = draw(st.sampled_from(DEFAULT_IDENTITY_KEYS[chosen]))
    return spell(name, draw(STYLES)), chosen


TENANT_NAMES = st.from_regex(r"[a-z][a-z0-9-]{3,15}", fullmatch=True).filter(
    lambda t: t not in ROUTE_WORDS and DEFAULT_KEYS.field_of(t) is None)


def non_scalars(own: str) -> st.SearchStrategy[Any]:
    """Values that are not a string, even when they contain the caller's own value."""
    return st.sampled_from([None, True, False, 0, 1, -1, 3.5, [], {}, [own], {"id": own}, [own, own], {own: own}])


def foreign_values(own: str) -> st.SearchStrategy[Any]:
    """Anything but the caller's value as a string: another id, a near miss, a non-scalar."""
    near_misses = st.sampled_from([own.upper(), own.title(), f" {own}", f"{own} ", f"{own}\u200b", own + ",x",
                                   "", "*", f"{own}/..", "\uff41" + own[1:]]).filter(lambda v: v != own)
    return TENANT_NAMES.filter(lambda v: v != own) | near_misses | non_scalars(own)


@st.composite
def nested_body(draw: st.DrawFn, key: str, value: Any, *, max_depth: int = MAX_DEPTH) -> Any:
    """A JSON value holding ``{key: value}`` somewhere, at most ``max_depth`` levels deep overall."""
    inner_depth = 1 + (1 if isinstance(value, dict | list) and value else 0)
    levels = draw(st.integers(0, max_depth - inner_depth))
    node: Any = {key: value, "text": "hi"} if draw(st.booleans()) else {key: value}
    for _ in range(levels):
        wrapper = draw(st.sampled_from(["dict", "list", "list_mid"]))
        if wrapper == "dict":
            node = {draw(st.sampled_from(["metadata", "context", "a", "items", "Ten ant"])): node}
        elif wrapper == "list":
            node = [node]
        else:
            node = [1, "x", node, None]
    return node


def encode(segment: str, times: int) -> str:
    for _ in range(times):
        segment = quote(segment, safe="")
    return segment


@st.composite
def adversarial_paths(draw: st.DrawFn, tenants: st.SearchStrategy[str] = TENANT_NAMES) -> tuple[str, set[str]]:
    """A path mixing route words, identity markers, session ids and tenant names in any
    position, each encoded 0-2 times, with empty segments; returns it and the ids it holds."""
    ids: set[str] = set()
    segments: list[str] = []
    words = sorted(ROUTE_WORDS) + [w.upper() for w in ROUTE_WORDS] + ["Sessions", "Message"]
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["word", "marker", "session", "tenant"]))
        if kind == "word":
            segment = draw(st.sampled_from(words))
        elif kind == "marker":
            segment = draw(identity_keys())[0].replace(" ", "_")
        else:
            segment = new_session_id() if kind == "session" else draw(tenants)
            ids.add(segment)
        segments.append(encode(segment, draw(st.integers(0, 2))) + "/" * draw(st.integers(0, 1)))
    return "/" + "/".join(segments), ids
