"""The tenant registry: which IdP tenants are onboarded and which client apps are registered.

Source is JSON text or ``ssm:<parameter name>`` (read through Powertools Parameters, which
caches for ``max_age`` seconds). Shape::

    {"tenants": {"<IdP tenant id>": {"tenant_id": "acme", "status": "active"}},
     "apps":    {"<client id>": {"app_id": "portal", "required_scopes": ["agent.invoke"],
                                 "required_roles": ["Agents.Invoke"]}}}

``required_roles`` also admits app-only (service) tokens for that app: an app without it
accepts user tokens only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tenantkit.exceptions import RegistryError
from tenantkit.identifiers import REGISTRY_ID
from tenantkit.observability import get_logger

__all__ = [
    "AppEntry",
    "RegistryProvider",
    "TenantEntry",
    "TenantRegistry",
]

_ID = REGISTRY_ID


class TenantEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")

    tenant_id: str = Field(pattern=_ID)
    status: Literal["active", "suspended"] = "active"


class AppEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")

    app_id: str = Field(pattern=_ID)
    status: Literal["active", "disabled"] = "active"
    required_scopes: tuple[str, ...] = ()
    required_roles: tuple[str, ...] = ()


class TenantRegistry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")

    tenants: dict[str, TenantEntry]
    apps: dict[str, AppEntry]

    @classmethod
    def from_json(cls, text: str) -> TenantRegistry:
        try:
            return cls.model_validate_json(text)
        except ValidationError as exc:
            where = sorted({".".join(str(p) for p in err["loc"]) for err in exc.errors()})
            raise RegistryError(f"tenant registry is invalid at: {', '.join(where[:5])}") from None


def _ssm_reader(name: str, max_age: int) -> str:
    from aws_lambda_powertools.utilities.parameters import get_parameter  # lazy: pulls boto3

    return get_parameter(name, decrypt=True, max_age=max_age)


class RegistryProvider:
    """Hands out the current registry; re-parses only when the source text changes.

    When a refresh from SSM fails, the last good registry keeps serving (an SSM outage must
    not lock every tenant out); with nothing good loaded yet, :class:`RegistryError` is raised.
    """

    def __init__(
        self,
        source: str,
        *,
        cache_seconds: int = 300,
        ssm_reader: Callable[[str, int], str] = _ssm_reader,
    ) -> None:
        self._source = source
        self._cache_seconds = cache_seconds
        self._ssm_reader = ssm_reader
        self._text: str | None = None
        self._registry: TenantRegistry | None = None

    @property
    def source_kind(self) -> str:
        return "ssm" if self._source.startswith("ssm:") else "inline"

    def get(self) -> TenantRegistry:
        try:
            text = self._read()
        except RegistryError:
            raise
        except Exception as exc:  # boto/parameters errors: keep the last good registry
            if self._registry is not None:
                get_logger().warning("tenant registry refresh failed; serving last good copy: %s", type(exc).__name__)
                return self._registry
            raise RegistryError(f"tenant registry could not be read: {type(exc).__name__}") from None
        if text != self._text or self._registry is None:
            try:
                self._registry = TenantRegistry.from_json(text)
            except RegistryError:
                if self._registry is None:
                    raise
                get_logger().warning("tenant registry update is invalid; serving last good copy")
                return self._registry
            self._text = text
        return self._registry

    def _read(self) -> str:
        if self._source.startswith("ssm:"):
            return self._ssm_reader(self._source[len("ssm:"):], self._cache_seconds)
        return self._source
