"""The error taxonomy: one class per failed check.

Every class carries a stable snake_case ``reason`` used in logs, audit records and the
rejection table in ``docs/rejections.md``. Two families decide the HTTP outcome of the
authorizer:

* :class:`TokenRejectedError` — the token cannot be trusted (401, ``Unauthorized``).
* :class:`AccessDeniedError` — the token is genuine but not allowed here (403, Deny policy).

Messages never contain the token or any claim value that could be secret.
"""

from __future__ import annotations

__all__ = [
    "AccessDeniedError",
    "AlgorithmNotAllowedError",
    "AppDisabledError",
    "AppNotRegisteredError",
    "ArgumentTypeError",
    "AudienceMismatchError",
    "ConfigurationError",
    "CostAttributionError",
    "CriticalHeaderError",
    "EnvelopeError",
    "InvalidArgumentError",
    "InvalidClaimError",
    "InvalidSignatureError",
    "IssuerMismatchError",
    "JwksUnavailableError",
    "KeyAlgorithmMismatchError",
    "KidMissingError",
    "KidNotFoundError",
    "MalformedAuthorizationHeaderError",
    "MalformedPathError",
    "MalformedRequestError",
    "MalformedTokenError",
    "MissingClaimError",
    "MissingRoleError",
    "MissingScopeError",
    "MissingTokenError",
    "RegistryError",
    "ServicePrincipalNotPermittedError",
    "TenantIdMismatchError",
    "TenantNotOnboardedError",
    "TenantSuspendedError",
    "TenantkitError",
    "TokenExpiredError",
    "TokenNotYetValidError",
    "TokenRejectedError",
    "TokenTooLargeError",
    "WeakKeyError",
]


class TenantkitError(Exception):
    """Base class of every error raised by tenantkit."""

    reason: str = "error"


class ConfigurationError(TenantkitError, ValueError):
    """A setting is missing or invalid; ``variable`` names it.

    Also a ``ValueError`` so callers that validated settings before the taxonomy existed
    still catch it.
    """

    reason = "configuration_invalid"

    def __init__(self, variable: str, problem: str) -> None:
        self.variable = variable
        self.problem = problem
        super().__init__(f"{variable}: {problem}")


class RegistryError(TenantkitError):
    """The tenant registry could not be loaded or is malformed."""

    reason = "registry_unavailable"


class InvalidArgumentError(TenantkitError, ValueError):
    """A caller passed a value the API does not accept (a programming error, not bad input)."""

    reason = "argument_invalid"


class ArgumentTypeError(TenantkitError, TypeError):
    """A caller passed an argument the API sets itself or cannot take."""

    reason = "argument_type_invalid"


class EnvelopeError(TenantkitError, ValueError):
    """An authorizer context that does not hold a valid envelope."""

    reason = "envelope_invalid"


class CostAttributionError(TenantkitError, ValueError):
    """A value that cannot go into requestMetadata (shape, length, or it looks like a secret)."""

    reason = "cost_attribution_invalid"


class MalformedPathError(TenantkitError):
    """A request path that cannot be normalized (``tenantkit.paths``; the BFF answers 400
    ``path_malformed``)."""

    reason = "path_malformed"


# --- 401: the token cannot be trusted -------------------------------------------------------


class TokenRejectedError(TenantkitError):
    """The request does not carry a token we can verify (401)."""

    reason = "token_rejected"
    status = 401


class MalformedRequestError(TokenRejectedError):
    """The authorizer event itself is unusable (no ``methodArn``, not an object)."""

    reason = "request_malformed"


class MissingTokenError(TokenRejectedError):
    reason = "token_missing"


class MalformedAuthorizationHeaderError(TokenRejectedError):
    reason = "authorization_header_malformed"


class TokenTooLargeError(TokenRejectedError):
    reason = "token_too_large"


class MalformedTokenError(TokenRejectedError):
    """Not three base64url segments of JSON, or a header of the wrong shape."""

    reason = "token_malformed"


class AlgorithmNotAllowedError(TokenRejectedError):
    reason = "alg_not_allowed"


class CriticalHeaderError(TokenRejectedError):
    """RFC 7515 §4.1.11: we understand no extensions, so any ``crit`` is fatal."""

    reason = "crit_header_present"


class KidMissingError(TokenRejectedError):
    reason = "kid_missing"


class KidNotFoundError(TokenRejectedError):
    reason = "kid_not_found"


class WeakKeyError(TokenRejectedError):
    """The JWKS key for this kid is below the minimum strength (RSA < 2048 bits)."""

    reason = "key_too_weak"


class KeyAlgorithmMismatchError(TokenRejectedError):
    """The JWK's type, curve or declared ``alg`` does not fit the token's ``alg``."""

    reason = "key_alg_mismatch"


class JwksUnavailableError(TokenRejectedError):
    """No usable keys: the JWKS could not be fetched and nothing good is cached."""

    reason = "jwks_unavailable"


class InvalidSignatureError(TokenRejectedError):
    reason = "signature_invalid"


class IssuerMismatchError(TokenRejectedError):
    reason = "issuer_mismatch"


class TenantIdMismatchError(TokenRejectedError):
    """``tid`` is not a GUID, or not the tenant the issuer names."""

    reason = "tid_mismatch"


class AudienceMismatchError(TokenRejectedError):
    reason = "audience_mismatch"


class TokenExpiredError(TokenRejectedError):
    reason = "token_expired"


class TokenNotYetValidError(TokenRejectedError):
    """``nbf`` or ``iat`` lies in the future beyond the leeway."""

    reason = "token_not_yet_valid"


class MissingClaimError(TokenRejectedError):
    reason = "claim_missing"

    def __init__(self, claim: str) -> None:
        self.claim = claim
        super().__init__(f"required claim missing: {claim}")


class InvalidClaimError(TokenRejectedError):
    reason = "claim_invalid"

    def __init__(self, claim: str, problem: str) -> None:
        self.claim = claim
        super().__init__(f"claim {claim}: {problem}")


# --- 403: genuine token, not allowed --------------------------------------------------------


class AccessDeniedError(TenantkitError):
    """A verified token that this platform does not admit (403).

    ``identity`` holds what is already known of the caller (``principal_id``, and
    ``tenant_id``/``app_id`` once resolved) so the denial can be logged and audited.
    """

    reason = "access_denied"
    status = 403

    def __init__(self, message: str, *, identity: dict[str, str] | None = None) -> None:
        self.identity = dict(identity or {})
        super().__init__(message)


class TenantNotOnboardedError(AccessDeniedError):
    reason = "tenant_not_onboarded"


class TenantSuspendedError(AccessDeniedError):
    reason = "tenant_suspended"


class AppNotRegisteredError(AccessDeniedError):
    reason = "app_not_registered"


class AppDisabledError(AccessDeniedError):
    reason = "app_disabled"


class MissingScopeError(AccessDeniedError):
    reason = "scope_missing"


class MissingRoleError(AccessDeniedError):
    reason = "role_missing"


class ServicePrincipalNotPermittedError(AccessDeniedError):
    """App-only tokens are admitted only for apps whose registry entry names required roles."""

    reason = "service_principal_not_permitted"
