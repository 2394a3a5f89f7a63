"""BFF errors: each maps to one HTTP status, one problem type and one audit event.

The reason codes are stable (dashboards and the rejection table use them).
"""

from __future__ import annotations

from tenantkit.audit.schema import EventType, Outcome
from tenantkit.exceptions import TenantkitError

__all__ = [
    "AbacDeniedError",
    "AccessRevokedError",
    "BadRequestError",
    "BffError",
    "EnvelopeMissingError",
    "MalformedJsonError",
    "PayloadTooLargeError",
    "RegistryUnavailableError",
    "RouteNotFoundError",
    "ServiceMisconfiguredError",
    "SessionConflictError",
    "SessionExpiredError",
    "SessionNotFoundError",
    "SessionStoreUnavailableError",
    "TenantCredentialsUnavailableError",
    "TenantSpoofError",
    "TokenExpiredAtBffError",
    "UnsupportedMediaTypeError",
    "UpstreamFailedError",
    "UpstreamRedirectError",
    "UpstreamTimeoutError",
]


class BffError(TenantkitError):
    status = 500
    title = "Internal error"
    reason = "internal_error"
    audit_event: EventType | None = None  # the audit event_type written for this rejection
    audit_outcome: Outcome = "error"

    def __init__(self, detail: str = "", *, reason: str | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        if reason is not None:
            self.reason = reason

    @property
    def public_reason(self) -> str:
        """The reason shown to the client (the audit record always has the precise one)."""
        return self.reason


class EnvelopeMissingError(BffError):
    """No valid envelope in the authorizer context: the BFF is not behind the authorizer."""

    status, title, reason = 401, "Unauthorized", "envelope_missing"
    audit_event, audit_outcome = "request.rejected", "unauthorized"


class BadRequestError(BffError):
    status, title, reason = 400, "Bad request", "bad_request"
    audit_event, audit_outcome = "request.rejected", "rejected"


class UnsupportedMediaTypeError(BffError):
    status, title, reason = 415, "Unsupported media type", "unsupported_media_type"
    audit_event, audit_outcome = "request.rejected", "rejected"


class RouteNotFoundError(BffError):
    status, title, reason = 404, "Not found", "route_not_found"


class ServiceMisconfiguredError(BffError):
    status, title, reason = 503, "Service unavailable", "service_misconfigured"


class PayloadTooLargeError(BffError):
    status, title, reason = 413, "Payload too large", "payload_too_large"
    audit_event, audit_outcome = "request.rejected", "rejected"


class TenantSpoofError(BffError):
    """An identity value in the request differs from the verified envelope."""

    status, title, reason = 403, "Forbidden", "tenant_spoof"
    audit_event, audit_outcome = "tenant.spoof_rejected", "deny"

    def __init__(self, detail: str, *, location: str, field: str) -> None:
        super().__init__(detail)
        self.location = location
        self.field = field


class AbacDeniedError(BffError):
    status, title, reason = 403, "Forbidden", "abac_denied"
    audit_event, audit_outcome = "abac.deny", "deny"


class SessionNotFoundError(BffError):
    """Unknown, foreign (other tenant/app/principal) or expired: all answered alike."""

    status, title, reason = 404, "Not found", "session_not_found"
    audit_event: EventType | None = "session.rejected"  # annotated: SessionExpiredError overrides it
    audit_outcome = "deny"

    @property
    def public_reason(self) -> str:
        return "session_not_found"  # never reveal that the id exists for someone else


class SessionExpiredError(SessionNotFoundError):
    """Only the owner gets here (ownership is checked first), so saying "expired" is safe."""

    reason = "session_expired"
    audit_event = "session.expired"

    @property
    def public_reason(self) -> str:
        return "session_expired"


class UpstreamTimeoutError(BffError):
    status, title, reason = 504, "Upstream timeout", "upstream_timeout"
    audit_event, audit_outcome = "upstream.error", "error"


class UpstreamFailedError(BffError):
    status, title, reason = 502, "Bad gateway", "upstream_failed"
    audit_event, audit_outcome = "upstream.error", "error"


class TokenExpiredAtBffError(BffError):
    """The token behind a cached authorizer Allow has expired (or its expiry is unknown)."""

    status, title, reason = 401, "Unauthorized", "token_expired"
    audit_event, audit_outcome = "authz.unauthorized", "unauthorized"


class AccessRevokedError(BffError):
    """The tenant registry no longer admits the caller's tenant or app (suspended, disabled,
    removed). The audit record has the registry reason; the client sees ``access_revoked``."""

    status, title, reason = 403, "Forbidden", "access_revoked"
    audit_event, audit_outcome = "authz.deny", "deny"

    @property
    def public_reason(self) -> str:
        return "access_revoked"


class RegistryUnavailableError(BffError):
    """The tenant registry could not be read within the revocation bound: fail closed."""

    status, title, reason = 503, "Service unavailable", "registry_unavailable"
    audit_event, audit_outcome = "request.rejected", "error"


class TenantCredentialsUnavailableError(BffError):
    """STS did not issue tenant-scoped credentials: the request fails closed (never falls back
    to the BFF's own, broader credentials)."""

    status, title, reason = 503, "Service unavailable", "tenant_credentials_unavailable"
    audit_event, audit_outcome = "upstream.error", "error"


class SessionStoreUnavailableError(BffError):
    """A sessions-table call failed (throttled, unavailable, or refused by IAM: with tenant-scoped
    credentials an ``AccessDeniedException`` means the BFF asked for a key outside the caller's
    tenant, so it is audited under its own reason)."""

    status, title, reason = 503, "Service unavailable", "session_store_unavailable"
    audit_event, audit_outcome = "upstream.error", "error"

    @property
    def public_reason(self) -> str:
        return "session_store_unavailable"  # the audit record has the precise reason


class UpstreamRedirectError(UpstreamFailedError):
    """The upstream answered 3xx: never followed (identity headers and SigV4 stay with the
    configured host)."""

    reason = "upstream_redirect"


class MalformedJsonError(TenantkitError):
    """A request body that is not strict RFC 8259 JSON (``tenantkit.bff.strict_json``); the API
    answers it as a 400 ``BadRequestError`` with this reason."""

    reason = "body_malformed"


class SessionConflictError(TenantkitError):
    """The session id is already bound (the conditional write lost)."""

    reason = "session_conflict"
