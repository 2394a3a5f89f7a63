"""Registry edits as pure functions: validate the input, return the new document and the change.

Nothing here talks to AWS. Each operation works on a deep copy, so a refused edit leaves the
document untouched, and the result is validated with the authorizer's own model
(:class:`tenantkit.registry.TenantRegistry`) before anyone writes it: the tool cannot store a
registry the authorizer would refuse to load.

Status values are the ones the authorizer and the BFF honour (registry.py): tenants
``active`` | ``suspended``, apps ``active`` | ``disabled``.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any

from tenantkit.exceptions import RegistryError
from tenantkit.registry import TenantRegistry
from tenantkit_local.tenants import InvalidInputError, RegistryUnavailableError

_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.ASCII)
_INTERNAL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", re.ASCII)  # registry.py _ID
_SCOPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}", re.ASCII)
_DISPLAY = re.compile(r"[^\x00-\x1f\x7f]{1,128}")

NIL_GUID = "00000000-0000-0000-0000-000000000000"
# Entra's tenant of personal Microsoft accounts: onboarding it admits every consumer account.
MSA_CONSUMERS_TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"


def entra_guid(kind: str, value: str) -> str:
    """A canonical (lowercase) Entra GUID, or a precise refusal. Look-alikes are not normalized."""
    if not value.isascii():
        raise InvalidInputError(f"{kind} {value!r}: non-ASCII characters (look-alike digits are refused)")
    canonical = value.lower()  # Entra issues lowercase ids; the registry keys are compared exactly
    if not _GUID.fullmatch(canonical):
        raise InvalidInputError(f"{kind} {value!r}: not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, hex digits); "
                                "Entra tenant and application (client) ids are GUIDs, never domain names "
                                "or 'common'/'organizations'")
    if canonical == NIL_GUID:
        raise InvalidInputError(f"{kind} {value!r}: the nil GUID is not an Entra id")
    if kind == "Entra tenant id" and canonical == MSA_CONSUMERS_TENANT:
        raise InvalidInputError(f"{kind} {value!r}: the personal Microsoft accounts tenant would admit every "
                                "consumer account; it cannot be onboarded as a customer tenant")
    return canonical


def internal_id(kind: str, value: str) -> str:
    if not _INTERNAL_ID.fullmatch(value):
        raise InvalidInputError(f"{kind} {value!r}: 1-64 of A-Z a-z 0-9 . _ - starting with a letter or digit")
    return value


def _scopes(kind: str, values: list[str]) -> list[str]:
    for value in values:
        if not _SCOPE.fullmatch(value):
            raise InvalidInputError(f"{kind} {value!r}: 1-128 of A-Z a-z 0-9 . _ : / - starting with a letter or digit")
    if len(set(values)) != len(values):
        raise InvalidInputError(f"{kind}: listed twice")
    return list(values)


@dataclass(frozen=True, slots=True)
class Change:
    """What an operation did, for the diff line and the audit record."""

    event_type: str  # audit EventType
    summary: str
    tenant_id: str | None = None
    app_id: str | None = None


def parse_document(text: str) -> dict[str, Any]:
    """The stored registry as a dict, refused when the authorizer could not load it either."""
    try:
        TenantRegistry.from_json(text)
    except RegistryError as exc:
        raise RegistryUnavailableError(f"the stored registry is invalid ({exc}); fix it before editing") from None
    document: dict[str, Any] = json.loads(text)
    return document


def render_document(document: dict[str, Any]) -> str:
    """Canonical text: sorted keys, two-space indent, so diffs show only real changes."""
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=True) + "\n"
    try:
        TenantRegistry.from_json(text)
    except RegistryError as exc:  # a bug in an operation, never written
        raise InvalidInputError(f"the edited registry would be invalid ({exc}); nothing written") from None
    return text


def _tenant(document: dict[str, Any], tid: str) -> dict[str, Any]:
    entry = document["tenants"].get(tid)
    if entry is None:
        raise InvalidInputError(f"Entra tenant {tid} is not onboarded")
    return entry  # type: ignore[no-any-return]


def _app(document: dict[str, Any], client_id: str) -> dict[str, Any]:
    entry = document["apps"].get(client_id)
    if entry is None:
        raise InvalidInputError(f"application {client_id} is not registered")
    return entry  # type: ignore[no-any-return]


def onboard(document: dict[str, Any], tid: str, tenant_id: str,
            display_name: str | None = None) -> tuple[dict[str, Any], Change]:
    tid, tenant_id = entra_guid("Entra tenant id", tid), internal_id("tenant_id", tenant_id)
    if display_name is not None and not _DISPLAY.fullmatch(display_name):
        raise InvalidInputError("display name: 1-128 printable characters")
    new = copy.deepcopy(document)
    if tid in new["tenants"]:
        entry = new["tenants"][tid]
        raise InvalidInputError(f"Entra tenant {tid} is already onboarded as {entry.get('tenant_id')!r} "
                                f"(status {entry.get('status', 'active')})")
    # One tenant_id per IdP tenant: two Entra tenants sharing one would share every tenant's data.
    for other, entry in new["tenants"].items():
        if entry.get("tenant_id") == tenant_id:
            raise InvalidInputError(f"tenant_id {tenant_id!r} already belongs to Entra tenant {other}")
    new["tenants"][tid] = {"tenant_id": tenant_id, "status": "active",
                           **({"display_name": display_name} if display_name else {})}
    return new, Change("tenant.onboarded", f"onboarded {tid} as {tenant_id}", tenant_id=tenant_id)


def _set_tenant_status(document: dict[str, Any], tid: str, status: str, event_type: str,
                       verb: str) -> tuple[dict[str, Any], Change]:
    tid = entra_guid("Entra tenant id", tid)
    new = copy.deepcopy(document)
    entry = _tenant(new, tid)
    current = entry.get("status", "active")
    if current == status:
        raise InvalidInputError(f"Entra tenant {tid} ({entry['tenant_id']}) is already {status}")
    entry["status"] = status
    return new, Change(event_type, f"{verb} {tid} ({entry['tenant_id']})", tenant_id=entry["tenant_id"])


def suspend(document: dict[str, Any], tid: str) -> tuple[dict[str, Any], Change]:
    return _set_tenant_status(document, tid, "suspended", "tenant.suspended", "suspended")


def resume(document: dict[str, Any], tid: str) -> tuple[dict[str, Any], Change]:
    return _set_tenant_status(document, tid, "active", "tenant.resumed", "resumed")


def offboard(document: dict[str, Any], tid: str, *, force: bool = False) -> tuple[dict[str, Any], Change]:
    """Remove the tenant. An active tenant must be suspended first (or ``force``): offboarding is
    the irreversible step, suspension the one that takes effect within the cache bounds."""
    tid = entra_guid("Entra tenant id", tid)
    new = copy.deepcopy(document)
    entry = _tenant(new, tid)
    if entry.get("status", "active") == "active" and not force:
        raise InvalidInputError(f"Entra tenant {tid} ({entry['tenant_id']}) is active; suspend it first "
                                "(or pass --force)")
    del new["tenants"][tid]
    return new, Change("tenant.offboarded", f"offboarded {tid} ({entry['tenant_id']})", tenant_id=entry["tenant_id"])


def register_app(document: dict[str, Any], client_id: str, app_id: str, *, scopes: list[str],
                 roles: list[str]) -> tuple[dict[str, Any], Change]:
    client_id, app_id = entra_guid("application (client) id", client_id), internal_id("app_id", app_id)
    scopes, roles = _scopes("scope", scopes), _scopes("role", roles)
    if not scopes and not roles:
        raise InvalidInputError("give at least one --scope (user tokens) or --role (service tokens): "
                                "an app without either would admit any token issued to it")
    new = copy.deepcopy(document)
    if client_id in new["apps"]:
        raise InvalidInputError(f"application {client_id} is already registered as "
                                f"{new['apps'][client_id].get('app_id')!r}")
    entry: dict[str, Any] = {"app_id": app_id, "status": "active"}
    if scopes:
        entry["required_scopes"] = scopes
    if roles:
        entry["required_roles"] = roles
    new["apps"][client_id] = entry
    return new, Change("app.registered", f"registered {client_id} as {app_id}", app_id=app_id)


def _set_app_status(document: dict[str, Any], client_id: str, status: str, event_type: str,
                    verb: str) -> tuple[dict[str, Any], Change]:
    client_id = entra_guid("application (client) id", client_id)
    new = copy.deepcopy(document)
    entry = _app(new, client_id)
    if entry.get("status", "active") == status:
        raise InvalidInputError(f"application {client_id} ({entry['app_id']}) is already {status}")
    entry["status"] = status
    return new, Change(event_type, f"{verb} {client_id} ({entry['app_id']})", app_id=entry["app_id"])


def disable_app(document: dict[str, Any], client_id: str) -> tuple[dict[str, Any], Change]:
    return _set_app_status(document, client_id, "disabled", "app.disabled", "disabled")


def enable_app(document: dict[str, Any], client_id: str) -> tuple[dict[str, Any], Change]:
    return _set_app_status(document, client_id, "active", "app.enabled", "enabled")
