"""Entra ID claims -> identity envelope, through the tenant registry.

* principal = (``tid``, ``oid``): stable, unique, never ``email``/``upn``/``preferred_username``
  (mutable and, for guests, chosen by another tenant).
* app = ``azp`` in v2 tokens, ``appid`` in v1 tokens, mapped through the registry.
* app-only tokens (``idtyp=app``, or ``roles`` without ``scp``) are ``service`` principals;
  delegated tokens (``scp``) are ``user`` principals.
* B2B guests: ``tid`` is the resource tenant that issued the token, so the guest acts in that
  tenant; its home tenant (``idp``) is never used for tenancy.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from tenantkit.envelope import IdentityEnvelope
from tenantkit.exceptions import (
    AppDisabledError,
    AppNotRegisteredError,
    InvalidClaimError,
    MissingClaimError,
    MissingRoleError,
    MissingScopeError,
    ServicePrincipalNotPermittedError,
    TenantNotOnboardedError,
    TenantSuspendedError,
)
from tenantkit.registry import TenantRegistry

__all__ = [
    "client_id_claim",
    "normalize_claims",
    "principal_id_of",
]


def client_id_claim(claims: dict[str, Any]) -> str:
    """The claim that names the calling client application for this token version."""
    version = claims.get("ver")
    if version == "1.0":
        return "appid"
    if version == "2.0":
        return "azp"
    return "azp" if "azp" in claims else "appid"


def principal_id_of(claims: dict[str, Any]) -> str:
    return f"{claims['tid']}:{claims['oid']}"


def normalize_claims(
    claims: dict[str, Any], registry: TenantRegistry, *, correlation_id: str
) -> IdentityEnvelope:
    """Build the envelope from verified claims or raise an :class:`AccessDeniedError`."""
    client_claim = client_id_claim(claims)
    client_id = claims.get(client_claim)
    if not isinstance(client_id, str) or not client_id:
        raise MissingClaimError(client_claim)
    scopes = _scopes(claims)
    roles = _roles(claims)
    principal_type = _principal_type(claims, scopes)
    principal_id = principal_id_of(claims)
    identity: dict[str, str] = {"principal_id": principal_id}

    tenant = registry.tenants.get(claims["tid"])
    if tenant is None:
        raise TenantNotOnboardedError("IdP tenant is not onboarded", identity=identity)
    identity["tenant_id"] = tenant.tenant_id
    if tenant.status != "active":
        raise TenantSuspendedError("tenant is suspended", identity=identity)

    app = registry.apps.get(client_id)
    if app is None:
        raise AppNotRegisteredError("client app is not registered", identity=identity)
    identity["app_id"] = app.app_id
    if app.status != "active":
        raise AppDisabledError("app is disabled", identity=identity)

    if principal_type == "service":
        if not app.required_roles:
            raise ServicePrincipalNotPermittedError("app admits no app-only tokens", identity=identity)
        if not set(app.required_roles) <= set(roles):
            raise MissingRoleError("required app role missing", identity=identity)
    elif not set(app.required_scopes) <= set(scopes):
        raise MissingScopeError("required scope missing", identity=identity)

    return IdentityEnvelope(
        app_id=app.app_id,
        tenant_id=tenant.tenant_id,
        principal_id=principal_id,
        principal_type=principal_type,
        correlation_id=correlation_id,
        issuer=claims["iss"],
        roles=roles,
        scopes=scopes,
        auth_time=_auth_time(claims),
        exp=_expiry(claims),
    )


def _scopes(claims: dict[str, Any]) -> tuple[str, ...]:
    scp = claims.get("scp")
    if scp is None:
        return ()
    if not isinstance(scp, str):
        raise InvalidClaimError("scp", "must be a space-separated string")
    return tuple(scp.split())


def _roles(claims: dict[str, Any]) -> tuple[str, ...]:
    roles = claims.get("roles")
    if roles is None:
        return ()
    if not isinstance(roles, list) or not all(isinstance(r, str) and r for r in roles):
        raise InvalidClaimError("roles", "must be a list of strings")
    return tuple(roles)


def _principal_type(claims: dict[str, Any], scopes: tuple[str, ...]) -> Literal["user", "service"]:
    idtyp = claims.get("idtyp")
    if idtyp == "app":
        if scopes:
            raise InvalidClaimError("idtyp", "app-only token carries delegated scopes")
        return "service"
    if idtyp == "user":
        return "user"
    if idtyp is not None:
        raise InvalidClaimError("idtyp", "unknown token type")
    return "user" if "scp" in claims else "service"


def _auth_time(claims: dict[str, Any]) -> int | None:
    for name in ("auth_time", "iat"):
        value = claims.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    return None


def _expiry(claims: dict[str, Any]) -> int | None:
    """``exp`` rounded down: a consumer comparing whole seconds never accepts past the real expiry."""
    value = claims.get("exp")
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value >= 0:
        return math.floor(value)
    return None
