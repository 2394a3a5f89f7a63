"""JWT verification: every RFC 8725 / Entra check, in a fixed order, one error per check.

Order: size cap and shape (before any crypto), header (alg allowlist, no ``crit``, ``kid``
only looked up in the pinned JWKS; ``jku``/``x5u``/``jwk``/``x5c`` are never read), signature,
then claims (``iss`` and ``tid``, ``aud``, ``exp``/``nbf``/``iat``, ``oid``).
"""

from __future__ import annotations

import binascii
import json
import math
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from tenantkit.config import TENANT_PLACEHOLDER, AuthorizerConfig
from tenantkit.exceptions import (
    AlgorithmNotAllowedError,
    AudienceMismatchError,
    CriticalHeaderError,
    InvalidArgumentError,
    InvalidClaimError,
    InvalidSignatureError,
    IssuerMismatchError,
    KidMissingError,
    MalformedTokenError,
    MissingClaimError,
    MissingTokenError,
    TenantIdMismatchError,
    TokenExpiredError,
    TokenNotYetValidError,
    TokenTooLargeError,
)
from tenantkit.jwks import JwksCache

__all__ = [
    "GUID",
    "IssuerPolicy",
    "JwtVerifier",
]

GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_GUID_RE = re.compile(f"^{GUID}\\Z")  # \Z, not $: "$" also matches before a trailing newline
_GUID_ANYWHERE = re.compile(GUID, re.IGNORECASE)
_COMPACT_JWS = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\Z")  # empty signature: caught by alg check
_MAX_KID_LENGTH = 256
# The signature maths straight to `cryptography`, as pyjwt's RSAAlgorithm/ECAlgorithm.verify call
# it (the differential test compares with jwt.decode), with padding and hash objects built once;
# the key object was prepared once, at JWKS load. pyjwt itself is not imported: its import (x509
# included) would be paid by every cold start. Each segment is parsed once here, so every check
# below raises its own error class.
_PKCS1V15, _SHA256 = padding.PKCS1v15(), hashes.SHA256()
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())
_P256_BYTES = 32
# A token's header segment is the same for every token an IdP signs with one key: its decoded
# form (a pure function of the segment) is kept, bounded. Only the decoding is skipped: every
# header check below still runs on every token, and only a header under which a signature
# verified is kept (so unsigned tokens cannot fill the cache and keep the IdP's header out).
_MAX_CACHED_HEADERS = 64


class IssuerPolicy:
    """Exact issuers and Entra templates such as ``https://login.microsoftonline.com/{tenantid}/v2.0``.

    A template matches only with the token's own ``tid`` substituted, so a token issued by
    one tenant cannot claim another; an exact issuer that names a tenant GUID pins ``tid``.
    """

    def __init__(self, issuers: Sequence[str]) -> None:
        self._exact: dict[str, str | None] = {}
        self._templates: list[tuple[str, re.Pattern[str]]] = []
        for issuer in issuers:
            if TENANT_PLACEHOLDER in issuer:
                prefix, suffix = issuer.split(TENANT_PLACEHOLDER)
                pattern = re.compile(f"{re.escape(prefix)}({GUID}){re.escape(suffix)}")
                self._templates.append((issuer, pattern))
            else:
                found = _GUID_ANYWHERE.search(issuer)
                self._exact[issuer] = found.group(0).lower() if found else None

    def check(self, iss: str, tid: str) -> None:
        if iss in self._exact:
            pinned = self._exact[iss]
            if pinned is not None and pinned != tid:
                raise TenantIdMismatchError("tid differs from the issuer's tenant")
            return
        for template, pattern in self._templates:
            if template.replace(TENANT_PLACEHOLDER, tid) == iss:
                return
            if pattern.fullmatch(iss):
                raise TenantIdMismatchError("tid differs from the issuer's tenant")
        raise IssuerMismatchError("issuer is not trusted")


class JwtVerifier:
    def __init__(
        self,
        *,
        issuers: Sequence[str],
        audiences: Sequence[str],
        jwks_uri: str,
        jwks_cache: JwksCache,
        algorithms: Sequence[str] = ("RS256",),
        clock_leeway_seconds: int = 60,
        max_token_bytes: int = 8192,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not audiences:
            raise InvalidArgumentError("at least one audience is required")
        self._issuers = IssuerPolicy(issuers)
        self._audiences = frozenset(audiences)
        self._jwks_uri = jwks_uri
        self._jwks_cache = jwks_cache
        self._algorithms = frozenset(algorithms)
        self._leeway = clock_leeway_seconds
        self._max_token_bytes = max_token_bytes
        self._clock = clock
        self._headers: dict[str, dict[str, Any]] = {}  # header segment -> its decoded JSON object (read-only)

    @classmethod
    def from_config(cls, config: AuthorizerConfig, jwks_cache: JwksCache | None = None) -> JwtVerifier:
        return cls(
            issuers=config.issuers,
            audiences=config.audiences,
            jwks_uri=config.jwks_uri,
            jwks_cache=jwks_cache or JwksCache(settings=config.jwks),
            algorithms=config.algorithms,
            clock_leeway_seconds=config.clock_leeway_seconds,
            max_token_bytes=config.max_token_bytes,
        )

    @property
    def jwks_uri(self) -> str:
        return self._jwks_uri

    def verify(self, token: str) -> dict[str, Any]:
        """Return the verified claims or raise a :class:`TokenRejectedError` subclass."""
        if not isinstance(token, str) or not token:
            raise MissingTokenError("no token")
        if len(token) > self._max_token_bytes:
            raise TokenTooLargeError("token exceeds the size limit")
        if not _COMPACT_JWS.match(token):
            raise MalformedTokenError("not a compact JWS")
        header_b64, payload_b64, signature_b64 = token.split(".")
        header = self._headers.get(header_b64)
        known_header = header is not None
        if header is None:
            header = _decode_json_segment(header_b64, "header")
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self._algorithms:
            raise AlgorithmNotAllowedError("alg is not allowed")
        if "crit" in header:
            raise CriticalHeaderError("crit header present")
        if "b64" in header:  # RFC 7797 §6: "b64" must be listed in "crit", which is refused above
            raise CriticalHeaderError("b64 header present")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid or len(kid) > _MAX_KID_LENGTH:
            raise KidMissingError("kid missing or invalid")
        signature = _b64decode(signature_b64, "signature")  # a malformed one costs no key lookup
        key = self._jwks_cache.get_key(self._jwks_uri, kid, alg)
        signing_input = f"{header_b64}.{payload_b64}".encode("ascii")
        if not _signature_verifies(alg, key.key, signing_input, signature):
            raise InvalidSignatureError("signature does not verify")
        if not known_header and len(self._headers) < _MAX_CACHED_HEADERS:
            # kept only once a signature under it verified: unsigned junk headers cannot fill the cache
            self._headers[header_b64] = header
        claims = _decode_json_segment(payload_b64, "payload")
        self._check_claims(claims)
        return claims

    def _check_claims(self, claims: dict[str, Any]) -> None:
        tid = _required_str(claims, "tid")
        if not _GUID_RE.match(tid):
            raise TenantIdMismatchError("tid is not a GUID")
        self._issuers.check(_required_str(claims, "iss"), tid)
        self._check_audience(claims)
        now = self._clock()
        exp = _numeric(claims, "exp", required=True)
        # Whole seconds, as pyjwt reads exp (int(exp)): a fractional exp must not outlive pyjwt's.
        if exp is not None and now >= math.floor(exp) + self._leeway:
            raise TokenExpiredError("token expired")
        for name in ("nbf", "iat"):
            value = _numeric(claims, name, required=False)
            if value is not None and value > now + self._leeway:
                raise TokenNotYetValidError(f"{name} is in the future")
        oid = _required_str(claims, "oid")
        if not _GUID_RE.match(oid):  # lowercase only: "A" and "a" must not be two principals
            raise InvalidClaimError("oid", "not a lowercase GUID")
        for name in ("sub", "jti"):  # optional, but strings when present (RFC 7519 §4.1.2, §4.1.7; as pyjwt)
            if name in claims and not isinstance(claims[name], str):
                raise InvalidClaimError(name, "must be a string")

    def _check_audience(self, claims: dict[str, Any]) -> None:
        if "aud" not in claims:
            raise MissingClaimError("aud")
        aud = claims["aud"]
        values = [aud] if isinstance(aud, str) else aud
        if not isinstance(values, list) or not values or not all(isinstance(a, str) for a in values):
            raise AudienceMismatchError("aud has the wrong type")
        if self._audiences.isdisjoint(values):
            raise AudienceMismatchError("aud is not an accepted audience")


def _signature_verifies(alg: str, key: Any, signing_input: bytes, signature: bytes) -> bool:
    try:
        if alg == "RS256" and isinstance(key, RSAPublicKey):
            key.verify(signature, signing_input, _PKCS1V15, _SHA256)
            return True
        if alg == "ES256" and isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1":
            if len(signature) != 2 * _P256_BYTES:  # JWS ECDSA signatures are R || S, fixed width (RFC 7518 3.4)
                return False
            r = int.from_bytes(signature[:_P256_BYTES], "big")
            s = int.from_bytes(signature[_P256_BYTES:], "big")
            key.verify(encode_dss_signature(r, s), signing_input, _ECDSA_SHA256)
            return True
    except InvalidSignature:
        return False
    return False  # a key of another type than the algorithm: never verifies


_URLSAFE_TO_STANDARD = bytes.maketrans(b"-_", b"+/")
# RFC 4648 §3.5 canonical encoding: the bits of the last character past the data are zero. By the
# segment's length mod 4: 2 characters carry 1 byte (4 spare bits), 3 carry 2 bytes (2 spare bits).
# Otherwise "...g" and "...h" decode to the same bytes: two spellings of one token, and pyjwt
# refuses the non-canonical one.
_B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_CANONICAL_LAST = {2: frozenset(_B64URL[::16]), 3: frozenset(_B64URL[::4])}


def _b64decode(segment: str, part: str) -> bytes:
    """``base64.urlsafe_b64decode`` of the padded segment, without its per-call wrapping: the
    segment is ASCII base64url already (the compact-JWS check ran first). Non-canonical trailing
    bits are refused."""
    canonical_last = _CANONICAL_LAST.get(len(segment) % 4)
    if canonical_last is not None and segment[-1] not in canonical_last:
        raise MalformedTokenError(f"{part} is not canonical base64url")
    try:
        padded = (segment + "=" * (-len(segment) % 4)).encode("ascii")
        return binascii.a2b_base64(padded.translate(_URLSAFE_TO_STANDARD))
    except (binascii.Error, ValueError):
        raise MalformedTokenError(f"{part} is not base64url") from None


def _decode_json_segment(segment: str, part: str) -> dict[str, Any]:
    try:
        # RFC 7515 §5.2: UTF-8 only (json.loads on bytes would also sniff UTF-16/32 and skip a BOM)
        value = _JSON_DECODER.decode(_b64decode(segment, part).decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nesting deeper than the decoder allows
        raise MalformedTokenError(f"{part} is not JSON") from None
    if not isinstance(value, dict):
        raise MalformedTokenError(f"{part} is not a JSON object")
    return value


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise MalformedTokenError("duplicate JSON member")  # RFC 7515 §4 / RFC 7519 §4: ambiguous, refuse
        result[key] = value
    return result


# json.loads(text, object_pairs_hook=...) builds this decoder on every call.
_JSON_DECODER = json.JSONDecoder(object_pairs_hook=_reject_duplicates)


def _required_str(claims: dict[str, Any], name: str) -> str:
    value = claims.get(name)
    if value is None:
        raise MissingClaimError(name)
    if not isinstance(value, str) or not value:
        raise InvalidClaimError(name, "must be a non-empty string")
    return value


def _numeric(claims: dict[str, Any], name: str, *, required: bool) -> float | None:
    if name not in claims:
        if required:
            raise MissingClaimError(name)
        return None
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidClaimError(name, "must be a NumericDate")
    try:
        number = float(value)
    except OverflowError:
        raise InvalidClaimError(name, "must be a NumericDate") from None
    if not math.isfinite(number):  # NaN compares false with everything: it would never expire
        raise InvalidClaimError(name, "must be a NumericDate")
    return number
