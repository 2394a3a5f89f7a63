"""Turning a JWKS document into verification keys, refusing anything unsafe.

Only public signature keys survive: RSA of at least 2048 bits and EC P-256. Symmetric
(``oct``) keys are never loaded, so an HMAC-with-the-public-key confusion has nothing to
work with. A key that is present but too weak is remembered as rejected, so a token naming
it fails with a precise reason instead of "unknown kid".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from jwt.exceptions import InvalidKeyError

from tenantkit.exceptions import JwksUnavailableError
from tenantkit.jwks.exceptions import JwkRejectedError
from tenantkit.observability import get_logger

__all__ = [
    "MIN_RSA_BITS",
    "KeySet",
    "VerificationKey",
    "parse_jwks",
]

MIN_RSA_BITS = 2048
_ALG_KTY = {"RS256": "RSA", "ES256": "EC"}


@dataclass(frozen=True, slots=True)
class VerificationKey:
    kid: str
    kty: str
    key: Any  # cryptography public key object
    alg: str | None = None

    def fits(self, alg: str) -> bool:
        if _ALG_KTY.get(alg) != self.kty:
            return False
        return self.alg is None or self.alg == alg


@dataclass(slots=True)
class KeySet:
    keys: dict[str, VerificationKey] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)  # kid -> reason


def parse_jwks(document: bytes) -> KeySet:
    """Parse a JWKS; a document of the wrong shape raises, a bad single key is skipped."""
    try:
        data = json.loads(document)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nesting deeper than the decoder allows
        raise JwksUnavailableError("JWKS document is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise JwksUnavailableError("JWKS document has no 'keys' list")
    keyset = KeySet()
    for jwk in data["keys"]:
        if not isinstance(jwk, dict):
            continue
        kid = jwk.get("kid")
        if not isinstance(kid, str) or not kid or kid in keyset.keys or kid in keyset.rejected:
            continue
        if jwk.get("use", "sig") != "sig":
            continue
        try:
            parsed = _load(kid, jwk)
        except JwkRejectedError as rejected:
            keyset.rejected[kid] = rejected.reason
            continue
        except (InvalidKeyError, ValueError, TypeError, KeyError) as exc:
            get_logger().warning("skipping unparseable JWK kid=%s: %s", kid, type(exc).__name__)
            continue
        if parsed is not None:
            keyset.keys[kid] = parsed
    return keyset


def _load(kid: str, jwk: dict[str, Any]) -> VerificationKey | None:
    kty = jwk.get("kty")
    alg = jwk.get("alg")
    if alg is not None and alg not in _ALG_KTY:
        raise JwkRejectedError("key_alg_mismatch")  # declared for another algorithm: never usable here
    if kty == "RSA":
        rsa_key = RSAAlgorithm.from_jwk(jwk)
        rsa_key = rsa_key.public_key() if hasattr(rsa_key, "public_key") else rsa_key
        if rsa_key.key_size < MIN_RSA_BITS:
            raise JwkRejectedError("key_too_weak")
        return VerificationKey(kid=kid, kty="RSA", key=rsa_key, alg=alg)
    if kty == "EC":
        if jwk.get("crv") != "P-256":
            return None
        ec_key = ECAlgorithm.from_jwk(jwk)
        ec_key = ec_key.public_key() if hasattr(ec_key, "public_key") else ec_key
        return VerificationKey(kid=kid, kty="EC", key=ec_key, alg=alg)
    return None  # oct and anything else: never
