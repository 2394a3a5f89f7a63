"""Turning a JWKS document into verification keys, refusing anything unsafe.

Only public signature keys survive: RSA of at least 2048 bits and EC P-256. Symmetric
(``oct``) keys are never loaded, so an HMAC-with-the-public-key confusion has nothing to
work with. A key that is present but too weak is remembered as rejected, so a token naming
it fails with a precise reason instead of "unknown kid".
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, rsa

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
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth"})  # RFC 7518 6.2.2 and 6.3.2


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
        except (ValueError, TypeError, KeyError) as exc:
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
    if not _PRIVATE_MEMBERS.isdisjoint(jwk):  # a published private key: anyone could sign with it
        raise ValueError("a JWK in a JWKS carries private key members")
    if kty == "RSA":
        rsa_key = rsa.RSAPublicNumbers(_uint(jwk["e"]), _uint(jwk["n"])).public_key()
        if rsa_key.key_size < MIN_RSA_BITS:
            raise JwkRejectedError("key_too_weak")
        return VerificationKey(kid=kid, kty="RSA", key=rsa_key, alg=alg)
    if kty == "EC":
        if jwk.get("crv") != "P-256":
            return None
        x, y = _b64url(jwk["x"]), _b64url(jwk["y"])
        if not len(x) == len(y) == 32:
            raise ValueError("P-256 coordinates are 32 bytes")
        # public_key() checks that the point is on the curve
        ec_key = ec.EllipticCurvePublicNumbers(int.from_bytes(x, "big"), int.from_bytes(y, "big"),
                                               ec.SECP256R1()).public_key()
        return VerificationKey(kid=kid, kty="EC", key=ec_key, alg=alg)
    return None  # oct and anything else: never


# A JWK's public numbers read as pyjwt's from_jwk reads them (a differential test holds them equal),
# without importing pyjwt, whose import (x509 included) the authorizer's cold start would pay.
def _b64url(value: object) -> bytes:
    if not isinstance(value, str):
        raise TypeError("a JWK member is not a string")
    data = value.encode("utf-8")  # as pyjwt; base64 then discards what is not in its alphabet
    return base64.urlsafe_b64decode(data + b"=" * (-len(data) % 4))


def _uint(value: object) -> int:
    return int.from_bytes(_b64url(value), "big")
