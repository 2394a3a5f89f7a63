"""The identity envelope: who is calling, for which tenant and app, in which session.

Built only from a verified token plus the tenant registry (see :mod:`tenantkit.claims`).
It flattens to an API Gateway authorizer context (strings, numbers and booleans only) and
back without loss. API Gateway hands a REST integration every context value as a string,
so :meth:`IdentityEnvelope.from_authorizer_context` accepts both the native and the
stringified forms.

Versions: ``"2"`` added ``exp`` (the token's expiry, so a consumer behind a cached authorizer
decision can refuse a token that has expired since). A context of another version is refused,
not read by guesswork.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tenantkit.exceptions import EnvelopeError
from tenantkit.identifiers import ENVELOPE_ID
from tenantkit.observability.redaction import dumps_scalars

__all__ = [
    "ENVELOPE_VERSION",
    "EnvelopeError",
    "IdentityEnvelope",
    "rest_integration_context",
]

ENVELOPE_VERSION: Literal["2"] = "2"

# Identifiers the platform mints (tenant_id, app_id) and ids it propagates downstream.
_IDENT = ENVELOPE_ID

# Context keys that carry lists; everything else in the envelope is a scalar.
_LIST_FIELDS = ("roles", "scopes")
# Context keys that carry integers (a REST integration receives them as decimal strings).
_INT_FIELDS = ("auth_time", "exp")


class IdentityEnvelope(BaseModel):
    """Versioned, immutable identity of one request."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=False)

    envelope_version: Literal["2"] = ENVELOPE_VERSION
    app_id: str = Field(pattern=_IDENT)
    tenant_id: str = Field(pattern=_IDENT)
    principal_id: str = Field(pattern=_IDENT)
    principal_type: Literal["user", "service"]
    session_id: str | None = Field(default=None, pattern=_IDENT)
    correlation_id: str = Field(pattern=_IDENT)
    issuer: str = Field(min_length=1, max_length=512)
    roles: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    auth_time: int | None = Field(default=None, ge=0)
    exp: int | None = Field(default=None, ge=0)  # token expiry (epoch seconds, rounded down)

    @field_validator("roles", "scopes")
    @classmethod
    def _no_empty_entries(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not item for item in value):
            raise ValueError("entries must be non-empty strings")
        return value

    def log_fields(self) -> dict[str, Any]:
        """The envelope's names and values as they appear in every log line."""
        return {
            "app_id": self.app_id,
            "tenant_id": self.tenant_id,
            "principal_id": self.principal_id,
            "principal_type": self.principal_type,
            "session_id": self.session_id,
            "correlation_id": self.correlation_id,
        }

    def to_authorizer_context(self) -> dict[str, str | int | bool]:
        """Flatten to an authorizer ``context``: no nulls, no nested values."""
        context: dict[str, str | int | bool] = {}
        # The validated values in field order: what model_dump() returns for these plain types
        # (a property test holds the two equal), without its per-call serializer pass.
        for name, value in self.__dict__.items():
            if value is None:
                continue  # API Gateway rejects null context values; absence means None
            if name in _LIST_FIELDS:
                context[name] = dumps_scalars(list(value))  # json.dumps(..., separators=(",", ":"))
            else:
                context[name] = value
        return context

    @classmethod
    def from_authorizer_context(cls, context: Any) -> IdentityEnvelope:
        """Rebuild the envelope; unknown keys (``principalId``, ``integrationLatency``) are ignored."""
        if not isinstance(context, dict):
            raise EnvelopeError("authorizer context is not an object")
        data: dict[str, Any] = {}
        for name in cls.model_fields:
            if name not in context or context[name] is None:
                continue
            value = context[name]
            if name in _LIST_FIELDS:
                value = _decode_list(name, value)
            elif name in _INT_FIELDS and isinstance(value, str):
                if not (value.isascii() and value.isdigit()):  # str.isdigit() alone admits "²", "١٢"
                    raise EnvelopeError(f"{name} is not an integer")
                value = int(value)
            data[name] = value
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            fields = sorted({str(err["loc"][0]) for err in exc.errors() if err["loc"]})
            raise EnvelopeError(f"invalid envelope fields: {', '.join(fields)}") from None


def rest_integration_context(context: Mapping[str, Any]) -> dict[str, str]:
    """An authorizer context as API Gateway hands it to a REST integration: every value a
    string, booleans as ``true``/``false`` (the local gateway and the test events use this)."""
    return {key: str(value).lower() if isinstance(value, bool) else str(value) for key, value in context.items()}


def _decode_list(name: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, list | tuple):
        items = value
    elif isinstance(value, str):
        try:
            items = json.loads(value)
        except ValueError:
            raise EnvelopeError(f"{name} is not a JSON list") from None
    else:
        raise EnvelopeError(f"{name} is not a list")
    if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
        raise EnvelopeError(f"{name} must be a list of strings")
    return tuple(items)
