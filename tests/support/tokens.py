"""Token and event builders for tests. Keys are generated at test time, never committed."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tenantkit_local.issuer import rsa_public_jwk

ACME_TID = "6e1c3a4b-2f7d-4c1e-9a8b-0d5f3e2a1b7c"
GLOBEX_TID = "9b2d4f6a-8c1e-4a3b-b5d7-e9f1a2c3d4e5"
UNKNOWN_TID = "c0ffee00-1234-4abc-8def-0123456789ab"
PORTAL_CLIENT = "0c6a1f7e-5b3d-4e2a-9c8b-7d6e5f4a3b2c"
WORKER_CLIENT = "2e8c3f9a-7d5f-4a4c-9eab-9f8a7b6c5d4e"
API_AUDIENCE = "5f1d2c3b-4a59-4e68-9d7c-6b5a4f3e2d1c"
ALICE_OID = "a1111111-1111-4111-8111-111111111111"
V2_ISSUER_TEMPLATE = "https://login.microsoftonline.com/{tenantid}/v2.0"
V1_ISSUER_TEMPLATE = "https://sts.windows.net/{tenantid}/"
METHOD_ARN = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/dev/GET/v1/me"

_KEY_CACHE: dict[tuple[str, int], Any] = {}


def rsa_key(bits: int = 2048, name: str = "primary") -> rsa.RSAPrivateKey:
    """A test-time RSA key, generated once per process per (name, size)."""
    cache_key = (name, bits)
    if cache_key not in _KEY_CACHE:
        _KEY_CACHE[cache_key] = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return _KEY_CACHE[cache_key]


def ec_key(name: str = "ec") -> ec.EllipticCurvePrivateKey:
    cache_key = (name, 256)
    if cache_key not in _KEY_CACHE:
        _KEY_CACHE[cache_key] = ec.generate_private_key(ec.SECP256R1())
    return _KEY_CACHE[cache_key]


def jwk_for(key: Any, kid: str, **extra: Any) -> dict[str, Any]:
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        public = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
        return {**rsa_public_jwk(public, kid=kid), **extra}
    public = key.public_key()
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(public))
    return {**jwk, "kid": kid, "use": "sig", **extra}


def jwks_document(*jwks: dict[str, Any]) -> bytes:
    return json.dumps({"keys": list(jwks)}).encode()


def entra_claims(now: float | None = None, **overrides: Any) -> dict[str, Any]:
    """Valid v2 delegated-user claims for alice@acme through the portal app."""
    now = int(time.time() if now is None else now)
    claims: dict[str, Any] = {
        "aud": API_AUDIENCE,
        "iss": f"https://login.microsoftonline.com/{ACME_TID}/v2.0",
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "tid": ACME_TID,
        "oid": ALICE_OID,
        "sub": "s-alice",
        "azp": PORTAL_CLIENT,
        "scp": "access_as_user agent.invoke",
        "ver": "2.0",
        "name": "Alice Acme",
        "preferred_username": "alice@acme.example.com",
    }
    for name, value in overrides.items():
        if value is _DROP:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


class _Drop:
    def __repr__(self) -> str:
        return "DROP"


_DROP = _Drop()
DROP: Any = _DROP  # entra_claims(tid=DROP) removes the claim


def sign(claims: dict[str, Any], key: Any = None, *, kid: str = "test-kid", alg: str = "RS256",
         headers: dict[str, Any] | None = None) -> str:
    key = key if key is not None else rsa_key()
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid, **(headers or {})})


def b64url(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def raw_token(header: dict[str, Any] | str, claims: dict[str, Any] | str, signature: bytes | str = b"") -> str:
    """Assemble a compact JWS by hand (for alg=none, tampering, malformed parts)."""
    h = header if isinstance(header, str) else b64url(json.dumps(header))
    c = claims if isinstance(claims, str) else b64url(json.dumps(claims))
    s = signature if isinstance(signature, str) else b64url(signature)
    return f"{h}.{c}.{s}"


def authorizer_event(authorization: str | None, *, method_arn: str = METHOD_ARN, request_id: str = "req-1",
                     extra_headers: dict[str, str] | None = None) -> dict[str, Any]:
    headers = {"Host": "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com", **(extra_headers or {})}
    if authorization is not None:
        headers["Authorization"] = authorization
    return {
        "type": "REQUEST",
        "methodArn": method_arn,
        "resource": "/v1/me",
        "path": "/v1/me",
        "httpMethod": "GET",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "requestContext": {"requestId": request_id, "stage": "dev", "apiId": "a1b2c3d4e5"},
    }
