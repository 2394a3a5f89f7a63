"""A local OIDC issuer that mints Entra-shaped tokens for fixture personas.

Its RSA key is generated on first use under ``.tenantkit/issuer/`` (git-ignored) and never
committed. Tokens carry the real Entra issuer strings (``https://login.microsoftonline.com/
<tid>/v2.0``, ``https://sts.windows.net/<tid>/``), so the authorizer runs with production
issuer settings locally; only the JWKS URI points at this machine.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tenantkit_local import state_dir
from tenantkit_local.personas import Persona

V2_ISSUER = "https://login.microsoftonline.com/{tid}/v2.0"
V1_ISSUER = "https://sts.windows.net/{tid}/"


def _b64(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def rsa_public_jwk(public_key: rsa.RSAPublicKey, kid: str | None = None) -> dict[str, str]:
    numbers = public_key.public_numbers()
    jwk = {"kty": "RSA", "e": _b64(numbers.e), "n": _b64(numbers.n)}
    # RFC 7638 thumbprint as kid: stable for a key, unique across keys.
    thumb = hashlib.sha256(json.dumps(jwk, sort_keys=True, separators=(",", ":")).encode()).digest()
    jwk.update({"use": "sig", "kid": kid or base64.urlsafe_b64encode(thumb[:12]).rstrip(b"=").decode()})
    return jwk


def load_or_create_key(path: Path) -> rsa.RSAPrivateKey:
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if isinstance(key, rsa.RSAPrivateKey):
            return key
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return key


class LocalIssuer:
    def __init__(self, key: rsa.RSAPrivateKey | None = None, *, key_path: Path | None = None) -> None:
        if key is None:
            key = load_or_create_key(key_path or state_dir() / "issuer" / "signing-key.pem")
        self._key = key
        self.public_jwk = rsa_public_jwk(key.public_key())
        self.kid = self.public_jwk["kid"]
        self._foreign_key: rsa.RSAPrivateKey | None = None

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.public_jwk]}

    def jwks_bytes(self) -> bytes:
        return json.dumps(self.jwks()).encode()

    def claims_for(self, persona: Persona, now: float | None = None) -> dict[str, Any]:
        now = int(time.time() if now is None else now)
        claims = copy.deepcopy(persona.claims)
        issued = now + persona.issued_offset_seconds
        claims.setdefault("iat", issued)
        claims.setdefault("nbf", issued)
        claims.setdefault("exp", issued + persona.lifetime_seconds)
        template = V1_ISSUER if claims.get("ver") == "1.0" else V2_ISSUER
        claims.setdefault("iss", template.format(tid=claims.get("tid", "")))
        return claims

    def mint(self, persona: Persona, now: float | None = None) -> str:
        claims = self.claims_for(persona, now)
        headers = {"typ": "JWT", "kid": self.kid, **persona.header}
        alg = headers.pop("alg", "RS256")
        if alg == "none":
            # jwt.encode refuses to build unsigned tokens for RS keys; build one by hand.
            segments = [headers | {"alg": "none"}, claims]
            encoded = [base64.urlsafe_b64encode(json.dumps(s).encode()).rstrip(b"=").decode() for s in segments]
            return ".".join([*encoded, ""])
        key = self._key
        if persona.sign_with == "foreign":
            self._foreign_key = self._foreign_key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
            key = self._foreign_key
        return jwt.encode(claims, key, algorithm=alg, headers=headers)
