"""Tenant-spoof detection: identity values in the request that contradict the envelope.

The envelope (from the authorizer context) is the only identity the BFF uses. A request that
also names a tenant, app or principal in its body, query string, path or headers is checked:
a different value is an attack or a client bug, answered 403 and audited; it is never used and
never silently overwritten. An equal value is harmless and ignored.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from tenantkit.bff.errors import TenantSpoofError
from tenantkit.envelope import IdentityEnvelope

# Spellings (lowercased, separators and an "x-" prefix removed) -> envelope field.
_IDENTITY_NAMES = {
    "tenantid": "tenant_id",
    "tenant": "tenant_id",
    "appid": "app_id",
    "clientid": "app_id",
    "principalid": "principal_id",
    "userid": "principal_id",
}
# Path segments that introduce an identity value: /v1/tenants/<tenant_id>/...
_PATH_MARKERS = {"tenants": "tenant_id", "tenant": "tenant_id", "apps": "app_id", "principals": "principal_id",
                 "users": "principal_id"}
_MAX_DEPTH = 8


def identity_field(name: str) -> str | None:
    key = name.strip().lower()
    if key.startswith("x-") or key.startswith("x_"):
        key = key[2:]
    return _IDENTITY_NAMES.get(key.replace("-", "").replace("_", ""))


def check_request(
    envelope: IdentityEnvelope,
    *,
    body: Any = None,
    query: Mapping[str, Any] | None = None,
    path: str = "",
    headers: Mapping[str, Any] | None = None,
) -> None:
    """Raise :class:`TenantSpoofError` at the first contradicting identity value."""
    expected = {"tenant_id": envelope.tenant_id, "app_id": envelope.app_id, "principal_id": envelope.principal_id}
    _check_mapping(expected, headers or {}, "header", depth=_MAX_DEPTH - 1)
    _check_mapping(expected, query or {}, "query", depth=_MAX_DEPTH - 1)
    segments = [s for s in path.split("/") if s]
    for marker, value in itertools.pairwise(segments):
        field = _PATH_MARKERS.get(marker.lower())
        if field and value != expected[field]:
            raise TenantSpoofError(f"path names another {field}", location="path", field=field)
    _check_value(expected, body, "body", depth=0)


def _check_mapping(expected: dict[str, str], mapping: Mapping[str, Any], location: str, *, depth: int) -> None:
    for name, value in mapping.items():
        field = identity_field(name) if isinstance(name, str) else None
        if field is not None:
            values = value if isinstance(value, list | tuple) else [value]
            scalars = [v for v in values if isinstance(v, str | int | float) and not isinstance(v, bool)]
            if any(str(v) != expected[field] for v in scalars):
                raise TenantSpoofError(f"{location} names another {field}", location=location, field=field)
        if depth < _MAX_DEPTH:
            _check_value(expected, value, location, depth=depth + 1)


def _check_value(expected: dict[str, str], value: Any, location: str, *, depth: int) -> None:
    if depth >= _MAX_DEPTH:
        return
    if isinstance(value, Mapping):
        _check_mapping(expected, value, location, depth=depth)
    elif isinstance(value, list | tuple):
        for item in value:
            _check_value(expected, item, location, depth=depth + 1)
