"""Identity-bearing names: which request keys claim a tenant, an app or a principal.

A name matches in any casing and separator style (``tenant_id``, ``tenantId``, ``Tenant-ID``,
``TENANT_ID``, ``tenant.id``), with an ``x-`` prefix (headers), and in the plural
(``tenant_ids``). The default list covers tenantkit's own names, Entra ID claim names and
common SaaS spellings; a deployment extends it (``SPOOF_IDENTITY_KEYS``), it cannot shrink it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from tenantkit.exceptions import ConfigurationError

IDENTITY_FIELDS = ("tenant_id", "app_id", "principal_id")

# Documented in docs/bff.md ("Identity-bearing names"); extend with SPOOF_IDENTITY_KEYS.
DEFAULT_IDENTITY_KEYS: Mapping[str, tuple[str, ...]] = {
    "tenant_id": (
        "tenant", "tenant_id", "tenant_name", "tenant_key", "tid",  # tenantkit, Entra `tid`
        "directory_id",  # Entra tenant = directory
        "org", "org_id", "organization", "organization_id", "organisation", "organisation_id",
        "workspace_id", "company_id",
    ),
    # Entra v1 `appid`, v2 `azp`
    "app_id": ("app", "app_id", "application", "application_id", "appid", "azp", "client_id"),
    "principal_id": (
        "principal", "principal_id", "user", "user_id", "oid", "object_id",  # Entra `oid`
        # Identity headers only a trusted proxy may set (App Service Easy Auth, ALB OIDC).
        "ms_client_principal", "ms_client_principal_id", "ms_client_principal_name",
        "amzn_oidc_identity", "amzn_oidc_data",
    ),
}

_NOT_ALNUM = re.compile(r"[\W_]+")


@lru_cache(maxsize=8192)
def normalize_key(name: str) -> str:
    """``Tenant-ID`` / ``tenantId`` / ``TENANT_ID`` / ``tenant.id`` / fullwidth forms -> ``tenantid``.

    Every character that is not a letter or digit is a separator (zero-width and punctuation
    included), so no spelling of a listed name slips past by decoration alone.
    """
    return _NOT_ALNUM.sub("", unicodedata.normalize("NFKC", name).casefold())


@dataclass(frozen=True)
class IdentityKeys:
    """Normalized identity names -> envelope field."""

    names: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def build(cls, extra: Mapping[str, Iterable[str]] | None = None) -> IdentityKeys:
        names: dict[str, str] = {}
        for source in (DEFAULT_IDENTITY_KEYS, extra or {}):
            for field_name, keys in source.items():
                if field_name not in IDENTITY_FIELDS:
                    raise ValueError(f"unknown identity field {field_name!r}")
                for key in keys:
                    normalized = normalize_key(key)
                    if normalized:
                        names[normalized] = field_name
        return cls(names)

    @classmethod
    def from_setting(cls, value: str, variable: str = "SPOOF_IDENTITY_KEYS") -> IdentityKeys:
        """``tenant_id:team_id,account_id;principal_id:member_id`` extends the defaults."""
        extra: dict[str, list[str]] = {}
        for group in filter(None, (g.strip() for g in value.split(";"))):
            field_name, sep, keys = group.partition(":")
            field_name = field_name.strip()
            if not sep or field_name not in IDENTITY_FIELDS:
                raise ConfigurationError(variable, f"expected '<{'|'.join(IDENTITY_FIELDS)}>:name,name;...'")
            extra.setdefault(field_name, []).extend(k.strip() for k in keys.split(",") if k.strip())
        return cls.build(extra)

    def field_of(self, name: str) -> str | None:
        """The envelope field ``name`` claims, or None. Tries the name as given, without an
        ``x`` prefix (``X-Tenant-Id``) and in the singular (``tenant_ids``)."""
        if not isinstance(name, str):
            return None
        key = normalize_key(name)
        names = self.names
        found = names.get(key)
        if found is None and key.endswith("s"):
            found = names.get(key[:-1])
        if found is None and key.startswith("x"):
            key = key[1:]
            found = names.get(key) or (names.get(key[:-1]) if key.endswith("s") else None)
        return found


DEFAULT_KEYS = IdentityKeys.build()
