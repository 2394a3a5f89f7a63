"""Typed configuration from the environment, validated once at init.

Security settings have no silent defaults: the issuer, JWKS URI, audience and tenant
registry must be set explicitly. Tuning knobs (leeway, size cap, JWKS timings) default to
safe values and are bounded, so a typo cannot switch a check off.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from tenantkit.exceptions import ConfigurationError, RegistryError

__all__ = [
    "SUPPORTED_ALGORITHMS",
    "TENANT_PLACEHOLDER",
    "AuthorizerConfig",
    "JwksSettings",
    "env_number",
    "env_required",
]

TENANT_PLACEHOLDER = "{tenantid}"
SUPPORTED_ALGORITHMS = ("RS256", "ES256")


@dataclass(frozen=True, slots=True)
class JwksSettings:
    fetch_timeout_seconds: float = 1.5
    min_refetch_interval_seconds: float = 10.0
    refresh_after_seconds: float = 3600.0
    stale_max_seconds: float = 86400.0
    max_document_bytes: int = 256 * 1024


@dataclass(frozen=True, slots=True)
class AuthorizerConfig:
    issuers: tuple[str, ...]
    jwks_uri: str
    audiences: tuple[str, ...]
    tenant_registry: str
    algorithms: tuple[str, ...] = ("RS256",)
    clock_leeway_seconds: int = 60
    max_token_bytes: int = 8192
    registry_cache_seconds: int = 300
    jwks: JwksSettings = JwksSettings()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AuthorizerConfig:
        env = os.environ if environ is None else environ
        jwks = JwksSettings(
            fetch_timeout_seconds=env_number(env, "JWKS_FETCH_TIMEOUT_SECONDS", 1.5, 0.05, 1.5),
            min_refetch_interval_seconds=env_number(env, "JWKS_MIN_REFETCH_SECONDS", 10, 1, 3600),
            refresh_after_seconds=env_number(env, "JWKS_REFRESH_AFTER_SECONDS", 3600, 60, 86400),
            stale_max_seconds=env_number(env, "JWKS_STALE_MAX_SECONDS", 86400, 60, 7 * 86400),
        )
        if jwks.stale_max_seconds < jwks.refresh_after_seconds:
            raise ConfigurationError("JWKS_STALE_MAX_SECONDS", "must be at least JWKS_REFRESH_AFTER_SECONDS")
        return cls(
            issuers=_issuers(env),
            jwks_uri=require_https_url("OIDC_JWKS_URI", env_required(env, "OIDC_JWKS_URI")),
            audiences=_csv(env, "OIDC_AUDIENCE", env_required(env, "OIDC_AUDIENCE")),
            tenant_registry=registry_source(env),
            algorithms=_algorithms(env),
            clock_leeway_seconds=int(env_number(env, "OIDC_CLOCK_LEEWAY_SECONDS", 60, 0, 300)),
            max_token_bytes=int(env_number(env, "TOKEN_MAX_BYTES", 8192, 1024, 65536)),
            registry_cache_seconds=int(env_number(env, "TENANT_REGISTRY_CACHE_SECONDS", 300, 0, 86400)),
            jwks=jwks,
        )


def env_required(env: Mapping[str, str], name: str) -> str:
    """The stripped value of ``name``; a missing or blank value is a ConfigurationError."""
    value = env.get(name, "").strip()
    if not value:
        raise ConfigurationError(name, "is required and has no default")
    return value


def _csv(env: Mapping[str, str], name: str, raw: str) -> tuple[str, ...]:
    items = tuple(item.strip() for item in raw.split(","))
    if not items or any(not item for item in items):
        raise ConfigurationError(name, "must be a comma-separated list without empty entries")
    return items


def _url(env: Mapping[str, str], name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(name, f"must be an http(s) URL, got scheme {parts.scheme!r}")
    return value


def _issuers(env: Mapping[str, str]) -> tuple[str, ...]:
    issuers = _csv(env, "OIDC_ISSUER", env_required(env, "OIDC_ISSUER"))
    for issuer in issuers:
        _url(env, "OIDC_ISSUER", issuer)
        if issuer.count(TENANT_PLACEHOLDER) > 1:
            raise ConfigurationError("OIDC_ISSUER", "a template may contain {tenantid} once")
        if "{" in issuer.replace(TENANT_PLACEHOLDER, ""):
            raise ConfigurationError("OIDC_ISSUER", "the only placeholder allowed is {tenantid}")
    return issuers


def is_loopback_host(host: str) -> bool:
    """``localhost`` or a loopback IP literal (127.0.0.0/8, ::1); never a name that merely resolves there."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_https_url(name: str, value: str, *, allow_loopback_http: bool = True) -> str:
    """``value`` if it is an absolute https URL (plain http only to a loopback host, for local
    stacks); anything else is a :class:`ConfigurationError` naming ``name``.

    Plain http to any other host is refused: whoever sits on the path could read or change what
    is fetched or sent (keys, identity headers), so it is never a production setting.
    """
    parts = urlsplit(value)
    try:
        host = parts.hostname
        parts.port  # noqa: B018 - a malformed port raises here, not at the first request
    except ValueError:
        raise ConfigurationError(name, "has a malformed host or port") from None
    if not host:
        raise ConfigurationError(name, f"must be an absolute https URL, got scheme {parts.scheme!r}")
    if "@" in parts.netloc:
        raise ConfigurationError(name, "must not carry credentials in the URL")
    if parts.scheme == "https":
        return value
    if parts.scheme == "http" and allow_loopback_http and is_loopback_host(host):
        return value
    allowed = "https (or http to a loopback host)" if allow_loopback_http else "https"
    raise ConfigurationError(name, f"must be an {allowed} URL, got scheme {parts.scheme!r} for host {host!r}")


def registry_source(env: Mapping[str, str]) -> str:
    """``TENANT_REGISTRY``: JSON text (validated now) or ``ssm:<parameter name>``."""
    value = env_required(env, "TENANT_REGISTRY")
    if value.startswith("ssm:"):
        if len(value) <= len("ssm:"):
            raise ConfigurationError("TENANT_REGISTRY", "ssm: needs a parameter name")
    elif not value.lstrip().startswith("{"):
        raise ConfigurationError("TENANT_REGISTRY", "must be JSON text or ssm:<parameter name>")
    else:
        from tenantkit.registry import TenantRegistry  # inline JSON is checked now, not per request

        try:
            TenantRegistry.from_json(value)
        except RegistryError as exc:
            raise ConfigurationError("TENANT_REGISTRY", str(exc)) from None
    return value


def _algorithms(env: Mapping[str, str]) -> tuple[str, ...]:
    raw = env.get("OIDC_ALGORITHMS", "RS256")
    algorithms = _csv(env, "OIDC_ALGORITHMS", raw)
    for alg in algorithms:
        if alg not in SUPPORTED_ALGORITHMS:
            raise ConfigurationError(
                "OIDC_ALGORITHMS", f"{alg!r} is not allowed; choose from {', '.join(SUPPORTED_ALGORITHMS)}"
            )
    return algorithms


def env_number(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    """``name`` as a number within [low, high], or ``default`` when unset."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return float(default)
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(name, f"must be a number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigurationError(name, f"must be between {low:g} and {high:g}, got {value:g}")
    return value
