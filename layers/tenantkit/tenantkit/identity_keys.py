"""Identity-bearing names: which request keys claim a tenant, an app or a principal.

A name matches in any casing and separator style (``tenant_id``, ``tenantId``, ``Tenant-ID``,
``TENANT_ID``, ``tenant.id``), with an ``x-`` prefix (headers), in the plural (``tenant_ids``),
percent-encoded (``tenant%5Fid``, at most three times over, as paths), as the member a nested
key ends with (``filter[tenant_id]``, ``where.tenant_id``) and written with letters of another script that
look like the Latin ones (Cyrillic U+0435 for ``e``: Unicode's confusables data, UTS #39).
The default list covers tenantkit's own names, Entra ID claim names and common SaaS spellings;
a deployment extends it (``SPOOF_IDENTITY_KEYS``), it cannot shrink it.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from urllib.parse import unquote

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
# filter[tenant_id], where.tenant_id, a[b][c]; with every character NFKC folds into '.', '[' or ']'
_NESTED_KEY = re.compile("[\\[\\].\u2024\ufe47\ufe48\ufe52\uff0e\uff3b\uff3d]+")
_DECODE_ROUNDS = 3  # as tenantkit.paths.MAX_DECODE_ROUNDS
_MAX_RUN = 4  # components one name may span (``ms.client.principal.name``)
_MAX_READ_LENGTH = 64  # longer than any listed name in any decoration: read as written
_MAX_CACHED_NAME = 256
_MAX_SPELLINGS = 32  # look-alike combinations tried per name (a name has few ambiguous letters)


@lru_cache(maxsize=8192)
def normalize_key(name: str) -> str:
    """``Tenant-ID`` / ``tenantId`` / ``TENANT_ID`` / ``tenant.id`` / fullwidth forms -> ``tenantid``.

    Every character that is not a letter or digit is a separator (zero-width and punctuation
    included), so no spelling of a listed name slips past by decoration alone.
    """
    return _NOT_ALNUM.sub("", unicodedata.normalize("NFKC", name).casefold())


def spellings(name: str) -> tuple[str, ...]:
    """Every normalized form ``name`` may stand for: the name percent-decoded, then each part of
    a nested key, each with look-alike letters read as the Latin letters they imitate.

    Names up to ``_MAX_CACHED_NAME`` characters are cached; a longer one (no header or field name
    of a real client is) is computed each time, so hostile names cannot fill memory."""
    return _cached_spellings(name) if len(name) <= _MAX_CACHED_NAME else _spellings(name)


def spellings_cache_size() -> int:
    return _cached_spellings.cache_info().currsize


def _spellings(name: str) -> tuple[str, ...]:
    decoded = name
    for _ in range(_DECODE_ROUNDS):
        if "%" not in decoded:
            break
        decoded = unquote(decoded, errors="replace")
    found: dict[str, None] = {}
    for text in _member_texts(decoded):
        plain = _NOT_ALNUM.sub("", unicodedata.normalize("NFKC", text).casefold())
        if plain:
            found[plain] = None
        # Look-alikes are read before NFKC (which turns U+03F2 into U+03C2) and after it (fullwidth),
        # in the letters alone: padding of separators or invisible characters cannot hide them.
        readings: dict[str, None] = {}
        for variant in _latin_readings("".join(c for c in text if _is_significant(c))):
            for reading in _latin_readings(unicodedata.normalize("NFKC", variant)):
                readings[reading] = None
        for reading in itertools.islice(readings, _MAX_SPELLINGS):
            key = _NOT_ALNUM.sub("", reading.casefold())
            if key:
                found[key] = None
    return tuple(found)


_cached_spellings = lru_cache(maxsize=8192)(_spellings)


def _member_texts(name: str) -> list[str]:
    """The name, then each trailing run of up to ``_MAX_RUN`` of its nested-key components: the
    member a nested key finally names (``filter[tenant_id]`` -> ``tenant_id``; ``where.org.id``
    -> ``id``, ``org.id``, ...), never a container (``app.version`` names no app). Components are
    split on the characters NFKC folds into separators too (fullwidth brackets and dots), before
    NFKC, which would also fold look-alikes out of reach."""
    texts = {name: None}
    components = [c for c in _NESTED_KEY.split(name) if c]
    for n in range(1, min(_MAX_RUN, len(components)) + 1):
        texts[".".join(components[-n:])] = None
    return list(texts)


def _latin_readings(text: str) -> list[str]:
    """``text`` with each non-ASCII letter replaced by the ASCII letters or digits it is
    confusable with (all combinations, bounded); ``text`` itself when it is ASCII."""
    if text.isascii() or len(text) > _MAX_READ_LENGTH:
        return [text]
    options = [_ascii_look_alikes(c) or (c,) for c in text]
    readings = [text]
    for combination in itertools.islice(itertools.product(*options), _MAX_SPELLINGS):
        readings.append("".join(combination))
    return readings


@lru_cache(maxsize=4096)
def _is_significant(char: str) -> bool:
    """Whether ``char`` can be part of a name: it is, or NFKC makes it, a letter or digit."""
    return bool(_NOT_ALNUM.sub("", unicodedata.normalize("NFKC", char)))


@lru_cache(maxsize=4096)
def _ascii_look_alikes(char: str) -> tuple[str, ...]:
    if char.isascii() or not char.isalnum():
        return ()
    glyphs = _confusables().get(char) or ()
    return tuple(sorted({g["c"].lower() for g in glyphs
                         if len(g.get("c", "")) == 1 and g["c"].isascii() and g["c"].isalnum()}))


@cache
def _confusables() -> Mapping[str, list[dict[str, str]]]:
    """UTS #39 confusables (loaded on the first non-ASCII name only: ~1 MB of JSON)."""
    from confusable_homoglyphs.confusables import confusables_data  # type: ignore[import-untyped]

    data: Mapping[str, list[dict[str, str]]] = confusables_data  # the package ships no type information
    return data


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
        """The envelope field ``name`` claims, or None. Tries each of its :func:`spellings` as
        given, without an ``x`` prefix (``X-Tenant-Id``) and in the singular (``tenant_ids``)."""
        if not isinstance(name, str):
            return None
        for key in spellings(name):
            found = self._field_of_key(key)
            if found is not None:
                return found
        return None

    def _field_of_key(self, key: str) -> str | None:
        names = self.names
        found = names.get(key)
        if found is None and key.endswith("s"):
            found = names.get(key[:-1])
        if found is None and key.startswith("x"):
            key = key[1:]
            found = names.get(key) or (names.get(key[:-1]) if key.endswith("s") else None)
        return found


DEFAULT_KEYS = IdentityKeys.build()
