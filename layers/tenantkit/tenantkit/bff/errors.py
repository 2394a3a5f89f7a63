"""Kept so existing imports work: the BFF's errors live in :mod:`tenantkit.bff.exceptions`."""

from __future__ import annotations

from tenantkit.bff.exceptions import (
    AbacDeniedError,
    BadRequestError,
    BffError,
    EnvelopeMissingError,
    PayloadTooLargeError,
    RouteNotFoundError,
    ServiceMisconfiguredError,
    SessionConflictError,
    SessionExpiredError,
    SessionNotFoundError,
    TenantSpoofError,
    UnsupportedMediaTypeError,
    UpstreamFailedError,
    UpstreamTimeoutError,
)

__all__ = [
    "AbacDeniedError",
    "BadRequestError",
    "BffError",
    "EnvelopeMissingError",
    "PayloadTooLargeError",
    "RouteNotFoundError",
    "ServiceMisconfiguredError",
    "SessionConflictError",
    "SessionExpiredError",
    "SessionNotFoundError",
    "TenantSpoofError",
    "UnsupportedMediaTypeError",
    "UpstreamFailedError",
    "UpstreamTimeoutError",
]
