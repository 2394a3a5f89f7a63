"""Tenant-spoof detection: identity values in the request that contradict the envelope.

The envelope (from the authorizer context) is the only identity the BFF uses. A request that
also names a tenant, app or principal (an identity key, see :mod:`tenantkit.identity_keys`)
in its body (any depth), query string, path, headers (every value of a repeated one) or
cookies must name the caller: the value must be a string equal to the envelope's. Anything else (another
id, an object, an array, a number, a boolean, null) is an attack or a client bug, answered
403 and audited; it is never used and never silently overwritten.

The body walk is iterative and has no depth limit of its own: the strict parser bounds the
depth of every body that gets this far, and this walk visits all of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tenantkit.bff.exceptions import TenantSpoofError
from tenantkit.envelope import IdentityEnvelope
from tenantkit.identity_keys import DEFAULT_KEYS, IdentityKeys
from tenantkit.paths import NormalizedPath


def accepted_values(envelope: IdentityEnvelope) -> dict[str, frozenset[str]]:
    """What each identity field may say: the envelope's value, and for Entra callers the raw
    directory ids the envelope was built from (``tid``, ``oid`` in ``principal_id = tid:oid``)."""
    tid, sep, oid = envelope.principal_id.partition(":")
    tenant = {envelope.tenant_id, tid} if sep else {envelope.tenant_id}
    principal = {envelope.principal_id, oid} if sep and oid else {envelope.principal_id}
    return {"tenant_id": frozenset(tenant), "app_id": frozenset({envelope.app_id}),
            "principal_id": frozenset(principal)}


def check_request(
    envelope: IdentityEnvelope,
    *,
    body: Any = None,
    query: Mapping[str, Iterable[Any]] | None = None,
    path: NormalizedPath | None = None,
    headers: Mapping[str, Iterable[Any]] | None = None,
    keys: IdentityKeys = DEFAULT_KEYS,
) -> None:
    """Raise :class:`TenantSpoofError` at the first identity value that is not the caller's.

    ``query`` and ``headers`` map a name to every value it was sent with.
    """
    expected = accepted_values(envelope)
    for location, mapping in (("header", headers), ("query", query)):
        for name, values in (mapping or {}).items():
            field = keys.field_of(name)
            if field is not None and any(not _is_caller(expected[field], v) for v in values):
                raise TenantSpoofError(f"{location} names another {field}", location=location, field=field)
    _check_cookies(expected, headers or {}, keys)
    if path is not None:
        _check_path(expected, path, keys)
    _check_body(expected, body, keys)


def _check_cookies(expected: dict[str, frozenset[str]], headers: Mapping[str, Iterable[Any]],
                   keys: IdentityKeys) -> None:
    """A cookie is a name and a value inside a header value: ``Cookie: tenant_id=globex``."""
    for name, values in headers.items():
        if not (isinstance(name, str) and name.strip().lower() == "cookie"):
            continue
        for value in values:
            for pair in str(value).split(";"):
                cookie, sep, cookie_value = pair.partition("=")
                field = keys.field_of(cookie.strip()) if sep else None
                if field is not None and cookie_value.strip() not in expected[field]:
                    raise TenantSpoofError(f"cookie names another {field}", location="cookie", field=field)


def _is_caller(accepted: frozenset[str], value: Any) -> bool:
    return isinstance(value, str) and value in accepted


def _check_path(expected: dict[str, frozenset[str]], path: NormalizedPath, keys: IdentityKeys) -> None:
    segments = path.segments
    for index, segment in enumerate(segments):
        field = keys.field_of(segment)
        if field is not None and index + 1 < len(segments) and segments[index + 1] not in expected[field]:
            raise TenantSpoofError(f"path names another {field}", location="path", field=field)
        if "=" in segment:  # matrix-style parameters: /v1/sessions;tenant_id=globex
            for part in segment.replace("&", ";").split(";"):
                name, _, value = part.partition("=")
                field = keys.field_of(name)
                if field is not None and value not in expected[field]:
                    raise TenantSpoofError(f"path names another {field}", location="path", field=field)


def _check_body(expected: dict[str, frozenset[str]], body: Any, keys: IdentityKeys) -> None:
    stack = [body]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for name, value in node.items():
                field = keys.field_of(name)
                if field is not None and not _is_caller(expected[field], value):
                    raise TenantSpoofError(f"body names another {field}", location="body", field=field)
                if isinstance(value, dict | list):
                    stack.append(value)
        elif isinstance(node, list):
            stack.extend(item for item in node if isinstance(item, dict | list))


def request_values(single: Mapping[str, Any] | None, multi: Mapping[str, Any] | None) -> dict[str, list[Any]]:
    """Every value each name was sent with, from a REST event's single- and multi-value maps."""
    values: dict[str, list[Any]] = {}
    for source in (single, multi):
        if not isinstance(source, Mapping):
            continue
        for name, value in source.items():
            bucket = values.setdefault(str(name), [])
            bucket.extend(value if isinstance(value, list) else [value])
    return values
