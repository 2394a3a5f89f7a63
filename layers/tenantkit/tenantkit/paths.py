"""One normalization of a request path, shared by the BFF router, the spoof checker, the BFF's
audit ``route`` field and the authorizer's audit ``route``.

The rule (docs/bff.md, "Path normalization"):

1. percent-decoding is repeated until the path is stable, at most ``MAX_DECODE_ROUNDS``
   times (``%252e`` is ``%2e`` is ``.``); a path still encoded after that, or one that decodes
   to invalid UTF-8, is rejected;
2. a decoded path holding a control character (C0, C1, U+2028/U+2029) or a backslash is rejected;
3. empty segments (``//``, a trailing ``/``) are dropped;
4. a dot segment (``.`` or ``..``, however encoded) is rejected, never resolved;
5. route words are matched case-insensitively and singular or plural (``/V1/Session/x/MESSAGE``
   is ``/v1/sessions/x/messages``); the segment after ``sessions`` or after an identity
   marker (``tenants``, ``tid``, ``org`` ...) is an id and is kept verbatim.

The audit route is a template built only from route words and placeholders: it can never
carry a session id, a tenant id or any other text from the request.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

from tenantkit.exceptions import MalformedPathError as MalformedPathError  # re-exported: its old home
from tenantkit.identity_keys import DEFAULT_KEYS

MAX_DECODE_ROUNDS = 3
MAX_ROUTE_SEGMENTS = 12
# Route words of the API and their canonical spelling (singular and plural accepted).
ROUTE_WORDS = {"v1": "v1", "me": "me", "whoami": "whoami", "sessions": "sessions", "session": "sessions",
               "messages": "messages", "message": "messages"}
ID_AFTER = {"sessions": "{session_id}"}
MARKER_WORDS = {"tenant_id": "tenants", "app_id": "apps", "principal_id": "principals"}
HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"})
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\\]")  # C0/C1 controls, line separators, backslash
_TEMPLATE_SEGMENT = re.compile(r"^\{[A-Za-z0-9_]{1,64}\+?\}$")


@dataclass(frozen=True, slots=True)
class NormalizedPath:
    segments: tuple[str, ...]

    @property
    def path(self) -> str:
        return "/" + "/".join(self.segments)


def normalize(raw: object, *, marker: Callable[[str], str | None] = DEFAULT_KEYS.field_of) -> NormalizedPath:
    """The canonical form of ``raw`` or :class:`MalformedPathError`."""
    if not isinstance(raw, str):
        raise MalformedPathError("path is not a string")
    decoded = _decode(raw)
    if _FORBIDDEN.search(decoded):
        raise MalformedPathError("path holds a control character or a backslash")
    segments: list[str] = []
    id_next = False
    for segment in decoded.split("/"):
        if not segment:
            continue
        if segment in (".", ".."):
            raise MalformedPathError("dot segments are not accepted")
        if id_next:
            segments.append(segment)
            id_next = False
            continue
        word = ROUTE_WORDS.get(segment.lower())
        segments.append(word or segment)
        id_next = (word in ID_AFTER) or (word is None and marker(segment) is not None)
    return NormalizedPath(tuple(segments))


def _decode(raw: str) -> str:
    text = raw
    for _ in range(MAX_DECODE_ROUNDS):
        if "%" not in text:
            return text
        try:
            decoded = unquote(text, errors="strict")
        except UnicodeDecodeError:
            raise MalformedPathError("path is not UTF-8 once decoded") from None
        if decoded == text:
            return text
        text = decoded
    if "%" in text and unquote(text, errors="replace") != text:
        raise MalformedPathError(f"path is percent-encoded more than {MAX_DECODE_ROUNDS} times")
    return text


def route_template(method: object, path: NormalizedPath | None,
                   *, marker: Callable[[str], str | None] = DEFAULT_KEYS.field_of, resource: bool = False) -> str:
    """``POST /v1/sessions/{session_id}/messages``: route words and placeholders only.

    Any other segment becomes ``{segment}`` (the segment after an identity marker becomes
    ``{tenant_id}``/``{app_id}``/``{principal_id}``), so no request text reaches the route.
    ``None`` (a path that could not be normalized) is ``{malformed_path}``. A braced segment
    (``{proxy+}``) is kept only when ``resource`` says the path is an API Gateway resource
    template; in a request path it is client text like any other (``/v1/{globex}``).
    """
    verb = method.upper() if isinstance(method, str) else ""
    verb = verb if verb in HTTP_METHODS else "OTHER"
    if path is None:
        return f"{verb} /{{malformed_path}}"
    parts: list[str] = []
    placeholder: str | None = None
    for segment in path.segments[:MAX_ROUTE_SEGMENTS]:
        if placeholder is not None:
            parts.append(placeholder)
            placeholder = None
            continue
        if segment in ROUTE_WORDS.values():
            parts.append(segment)
            placeholder = ID_AFTER.get(segment)
        elif resource and _TEMPLATE_SEGMENT.match(segment):
            parts.append(segment)  # an API Gateway resource template such as {proxy+}
        elif (field := marker(segment)) is not None:
            parts.append(MARKER_WORDS[field])
            placeholder = "{" + field + "}"
        else:
            parts.append("{segment}")
    if len(path.segments) > MAX_ROUTE_SEGMENTS:
        parts.append("{more}")
    return f"{verb} /" + "/".join(parts)


def template_of(method: object, raw_path: object, *, resource: bool = False) -> str:
    """Normalize and template in one call; a malformed path is ``{malformed_path}``.
    ``resource``: ``raw_path`` is an API Gateway resource template, not a request path."""
    try:
        return route_template(method, normalize(raw_path), resource=resource)
    except MalformedPathError:
        return route_template(method, None)


@functools.lru_cache(maxsize=512)
def resource_template(method: str, resource: str) -> str:
    """``template_of(method, resource, resource=True)``, computed once per pair: it is a pure
    function and an API has a handful of (method, resource) pairs (bounded: a caller who invents
    resources cannot grow it). The authorizer's route and the spans' ``http.route`` both use it."""
    return template_of(method, resource, resource=True)
