"""Errors of JWKS key handling."""

from __future__ import annotations

from tenantkit.exceptions import TenantkitError

__all__ = [
    "JwkRejectedError",
]


class JwkRejectedError(TenantkitError):
    """One JWK is unusable for a stated reason (too weak, declared for another algorithm).

    Raised and caught inside key loading: the key set records ``reason`` for the kid, and a
    token naming that kid is rejected with the matching authorizer error."""

    reason = "jwk_rejected"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
