"""Bounded revocation: a cached authorizer Allow must not outlive its token or its tenant.

API Gateway replays an authorizer decision for ``AuthorizerCacheTtl`` seconds without calling
the authorizer again. Two things can change in that window, and the BFF re-checks both on
every request, before anything else runs:

* the token expires: the envelope carries the token's ``exp``; once ``now >= exp + leeway``
  (the authorizer's own leeway, ``OIDC_CLOCK_LEEWAY_SECONDS``) the request is 401
  ``token_expired``. An envelope without ``exp`` cannot be bounded and is refused the same way
  (``token_expiry_missing``);
* the tenant is suspended or the app disabled in the tenant registry: the BFF reads the
  registry itself (:class:`RegistryStatus`) and answers 403 with the registry reason
  (``tenant_suspended``, ``app_disabled``, ``tenant_not_onboarded``, ``app_not_registered``).

A registry copy is refreshed once it is half the bound old and never used once it is the
bound old (``TENANT_REGISTRY_CACHE_SECONDS``, at most 60): a change in the registry reaches
every warm BFF container within the bound. A refresh that fails keeps the copy only while it is
younger than the bound; after that, or with nothing loaded, the request is 503
``registry_unavailable`` (fail closed: an unknown status is never an allow).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from tenantkit.bff.exceptions import AccessRevokedError, RegistryUnavailableError, TokenExpiredAtBffError
from tenantkit.envelope import IdentityEnvelope
from tenantkit.exceptions import RegistryError
from tenantkit.observability import get_logger
from tenantkit.registry import TenantRegistry

MAX_REGISTRY_BOUND_SECONDS = 60
RETRY_COOLDOWN_SECONDS = 1.0  # after a failed read, requests are answered without re-reading for this long


def _ssm_reader(name: str) -> str:
    from aws_lambda_powertools.utilities.parameters import get_parameter  # lazy: pulls boto3

    # Our own cache decides when to read; Powertools' cache would add its max_age to the bound.
    return get_parameter(name, decrypt=True, force_fetch=True)


@dataclass(frozen=True, slots=True)
class StatusIndex:
    """The registry by platform ids. Several IdP tenants (or client ids) may map to one
    ``tenant_id`` (``app_id``): the id is active only while every entry naming it is active."""

    tenants: dict[str, str]
    apps: dict[str, str]

    @classmethod
    def of(cls, registry: TenantRegistry) -> StatusIndex:
        tenants: dict[str, str] = {}
        for tenant in registry.tenants.values():
            if tenants.get(tenant.tenant_id, "active") == "active":
                tenants[tenant.tenant_id] = tenant.status
        apps: dict[str, str] = {}
        for app in registry.apps.values():
            if apps.get(app.app_id, "active") == "active":
                apps[app.app_id] = app.status
        return cls(tenants=tenants, apps=apps)

    def denial(self, tenant_id: str, app_id: str) -> str | None:
        """The registry reason that refuses this (tenant, app), or None when both are active."""
        tenant = self.tenants.get(tenant_id)
        if tenant is None:
            return "tenant_not_onboarded"
        if tenant != "active":
            return "tenant_suspended"
        app = self.apps.get(app_id)
        if app is None:
            return "app_not_registered"
        if app != "active":
            return "app_disabled"
        return None


class RegistryStatus:
    """The tenant registry's statuses, never older than ``bound_seconds``."""

    def __init__(
        self,
        source: str,
        *,
        bound_seconds: float = 30.0,
        ssm_reader: Callable[[str], str] = _ssm_reader,
        clock: Callable[[], float] = time.monotonic,
        retry_cooldown_seconds: float = RETRY_COOLDOWN_SECONDS,
    ) -> None:
        if not 0 < bound_seconds <= MAX_REGISTRY_BOUND_SECONDS:
            raise ValueError(f"bound_seconds must be within (0, {MAX_REGISTRY_BOUND_SECONDS}]")
        self._source = source
        self.bound_seconds = bound_seconds
        self._ssm_reader = ssm_reader
        self._clock = clock
        self._cooldown = retry_cooldown_seconds
        self._text: str | None = None
        self._index: StatusIndex | None = None
        self._loaded_at = float("-inf")
        self._retry_not_before = float("-inf")

    def index(self) -> StatusIndex:
        """The current statuses, or :class:`RegistryUnavailableError` (503, fail closed)."""
        now = self._clock()
        age = now - self._loaded_at
        if self._index is not None and age < self.bound_seconds / 2:
            return self._index
        if now >= self._retry_not_before:
            try:
                return self._reload(now)
            except RegistryError as exc:
                self._retry_not_before = now + self._cooldown
                get_logger().warning("tenant registry refresh failed", extra={"reason": exc.reason,
                                                                               "age_seconds": round(age, 3)})
        if self._index is not None and age < self.bound_seconds:
            return self._index  # stale within the bound: an SSM blip is not an outage
        raise RegistryUnavailableError("tenant status is unknown")

    def _reload(self, now: float) -> StatusIndex:
        try:
            text = self._ssm_reader(self._source[len("ssm:"):]) if self._source.startswith("ssm:") else self._source
        except Exception as exc:  # boto/parameters errors of any kind: the status is unknown
            raise RegistryError(f"tenant registry could not be read: {type(exc).__name__}") from None
        if text != self._text or self._index is None:
            # An invalid update raises here: the previous copy keeps its age and ages out at the bound.
            self._index = StatusIndex.of(TenantRegistry.from_json(text))
            self._text = text
        self._loaded_at = now
        return self._index


class AccessGuard:
    """Token expiry and registry status, checked on every request before any route runs."""

    def __init__(self, *, leeway_seconds: float, registry: RegistryStatus | None,
                 clock: Callable[[], float] = time.time) -> None:
        self._leeway = leeway_seconds
        self._registry = registry
        self._clock = clock

    def check(self, envelope: IdentityEnvelope) -> None:
        if envelope.exp is None:
            raise TokenExpiredAtBffError("the token's expiry is unknown", reason="token_expiry_missing")
        if self._clock() >= envelope.exp + self._leeway:
            raise TokenExpiredAtBffError("the token has expired")
        if self._registry is not None:
            reason = self._registry.index().denial(envelope.tenant_id, envelope.app_id)
            if reason is not None:
                raise AccessRevokedError("access is no longer granted", reason=reason)
