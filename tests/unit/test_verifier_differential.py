"""Differential test: JwtVerifier against pyjwt's own ``jwt.decode`` over generated and mutated tokens.

The verifier parses each segment itself, verifies with keys prepared once at JWKS load and runs
its own header and claim checks (so each failure has its own error class), instead of calling
``jwt.decode``. This property holds it to pyjwt: over tokens built and then mutated (alg ``none``,
HS256 signed with the public key, kid confusion, broken base64 and padding, duplicate members,
claims of the wrong type, ``crit``, oversized tokens ...), the verifier accepts exactly when

* ``jwt.decode`` with the same settings (the key the token's ``kid`` names in the same JWKS, the
  same algorithms, audiences and leeway, ``exp`` required) accepts, and
* the stricter rules the project adds on top hold (docs/architecture.md, token verification):
  a compact JWS of base64url characters within the size cap, no duplicate JSON member, no
  ``crit`` and no ``b64`` (RFC 7797 wants it listed in ``crit``), a string ``kid`` of at most
  256 characters whose key fits ``alg``, NumericDate times
  that are JSON numbers, ``tid`` a GUID matching the issuer, ``oid`` a lowercase GUID;

and when both accept, the claims are the same. So the verifier is never more lenient than pyjwt.
"""

from __future__ import annotations

import json
import math
import re
import time
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st
from jwt.algorithms import ECAlgorithm, HMACAlgorithm, RSAAlgorithm

from support.fakes import StaticFetcher
from support.tokens import (
    ACME_TID,
    API_AUDIENCE,
    GLOBEX_TID,
    V1_ISSUER_TEMPLATE,
    V2_ISSUER_TEMPLATE,
    b64url,
    ec_key,
    entra_claims,
    jwk_for,
    jwks_document,
    rsa_key,
)
from tenantkit.exceptions import TokenRejectedError
from tenantkit.jwks import JwksCache
from tenantkit.verifier import JwtVerifier

RSA_KID, EC_KID, OTHER_KID = "rsa-kid", "ec-kid", "unknown-kid"
AUDIENCES = (API_AUDIENCE, "api://tenantkit")
ISSUERS = (V2_ISSUER_TEMPLATE, V1_ISSUER_TEMPLATE)
ALGORITHMS = ("RS256", "ES256")
LEEWAY = 60
MAX_TOKEN_BYTES = 8192
GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
COMPACT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\Z")
PUBLIC_KEYS = {RSA_KID: rsa_key().public_key(), EC_KID: ec_key().public_key()}
KEY_TYPE = {RSA_KID: "RS256", EC_KID: "ES256"}
SIGNERS = {"RS256": RSAAlgorithm(RSAAlgorithm.SHA256), "ES256": ECAlgorithm(ECAlgorithm.SHA256),
           "RS384": RSAAlgorithm(RSAAlgorithm.SHA384), "HS256": HMACAlgorithm(HMACAlgorithm.SHA256)}
FAR = 86_400  # times a day away from every boundary: both sides read their own clock
B64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def make_verifier() -> JwtVerifier:
    document = jwks_document(jwk_for(rsa_key(), RSA_KID), jwk_for(ec_key(), EC_KID))
    return JwtVerifier(issuers=ISSUERS, audiences=AUDIENCES, jwks_uri="https://idp.invalid/keys",
                       jwks_cache=JwksCache(fetcher=StaticFetcher(document)), algorithms=ALGORITHMS,
                       clock_leeway_seconds=LEEWAY, max_token_bytes=MAX_TOKEN_BYTES)


VERIFIER = make_verifier()


# --- the reference: pyjwt, plus the project's stricter rules, written out independently ----------

def _loads_strict(segment: str) -> Any:
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        if len({key for key, _ in pairs}) != len(pairs):
            raise ValueError("duplicate member")
        return dict(pairs)

    raw = jwt.utils.base64url_decode(segment)
    return json.loads(raw.decode("utf-8"), object_pairs_hook=no_duplicates)


def _numeric_date(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _issuer_matches(iss: Any, tid: str) -> bool:
    return isinstance(iss, str) and iss in {template.replace("{tenantid}", tid) for template in ISSUERS}


def project_rules_hold(token: str) -> bool:
    if not token or len(token) > MAX_TOKEN_BYTES or not COMPACT.match(token):
        return False
    header_b64, payload_b64, _ = token.split(".")
    try:
        header, claims = _loads_strict(header_b64), _loads_strict(payload_b64)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return False
    if not isinstance(header, dict) or not isinstance(claims, dict) or "crit" in header or "b64" in header:
        return False
    kid, alg = header.get("kid"), header.get("alg")
    if not isinstance(kid, str) or not 0 < len(kid) <= 256 or KEY_TYPE.get(kid) != alg:
        return False
    tid, oid = claims.get("tid"), claims.get("oid")
    if not isinstance(tid, str) or not GUID.match(tid) or not _issuer_matches(claims.get("iss"), tid):
        return False
    if not isinstance(oid, str) or not GUID.match(oid):
        return False
    return all(_numeric_date(claims[name]) for name in ("exp", "nbf", "iat") if name in claims)


def pyjwt_claims(token: str) -> dict[str, Any] | None:
    try:
        kid = jwt.get_unverified_header(token).get("kid")
        key = PUBLIC_KEYS.get(kid) if isinstance(kid, str) else None
        if key is None:
            return None
        return jwt.decode(token, key, algorithms=list(ALGORITHMS), audience=list(AUDIENCES), leeway=LEEWAY,
                          options={"require": ["exp"]})
    except (jwt.PyJWTError, TypeError):  # TypeError: pyjwt refusing a key of the wrong type for alg
        return None


def fast_claims(token: str) -> dict[str, Any] | None:
    try:
        return VERIFIER.verify(token)
    except TokenRejectedError:
        return None


# --- generated tokens ------------------------------------------------------------------------------

JSON_ODD = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True),
                     st.text(max_size=12), st.lists(st.text(max_size=5), max_size=2), st.just({"a": 1}))
GUIDS = st.sampled_from([ACME_TID, GLOBEX_TID, ACME_TID.upper(), ACME_TID + "\n", "not-a-guid", ""])


def claim_values(now: int) -> dict[str, st.SearchStrategy[Any]]:
    times = st.one_of(st.sampled_from([now - FAR, now + FAR, float(now + FAR), now - FAR + 0.5, str(now + FAR),
                                       True, 2**64, float("inf")]), JSON_ODD)
    return {
        "aud": st.one_of(st.sampled_from([API_AUDIENCE, "api://tenantkit", "api://other", [API_AUDIENCE],
                                          ["api://other", API_AUDIENCE], [], ["api://other"], [API_AUDIENCE, 1]]),
                         JSON_ODD),
        "iss": st.one_of(st.sampled_from([V2_ISSUER_TEMPLATE.replace("{tenantid}", ACME_TID),
                                          V1_ISSUER_TEMPLATE.replace("{tenantid}", ACME_TID),
                                          V2_ISSUER_TEMPLATE.replace("{tenantid}", GLOBEX_TID),
                                          "https://evil.example/v2.0"]), JSON_ODD),
        "tid": st.one_of(GUIDS, JSON_ODD), "oid": st.one_of(GUIDS, JSON_ODD),
        "exp": times, "nbf": times, "iat": times,
        "sub": st.one_of(st.just("s-alice"), JSON_ODD), "jti": st.one_of(st.just("id-1"), JSON_ODD),
    }


@st.composite
def tokens(draw: Any) -> str:
    """Half the tokens are well formed and signed right (one claim in two of those is off); the
    other half also get a hostile header, signature or encoding."""
    now = int(time.time())
    hostile = draw(st.booleans())
    claims: dict[str, Any] = entra_claims(now=now)
    claims["exp"] = now + FAR
    values = claim_values(now)
    off = draw(st.sets(st.sampled_from(sorted(values)), max_size=3)) if hostile else \
        draw(st.sets(st.sampled_from(sorted(values)), max_size=1)) if draw(st.booleans()) else set()
    for name in off:
        if draw(st.integers(0, 3)) == 0:
            claims.pop(name, None)
        else:
            claims[name] = draw(values[name])
    alg = draw(st.sampled_from(["RS256", "ES256", "HS256", "none", "RS384", "rs256"])) if hostile \
        else draw(st.sampled_from(["RS256", "ES256"]))
    kid = draw(st.one_of(st.sampled_from([RSA_KID, EC_KID, OTHER_KID, "", "k" * 257]), JSON_ODD)) if hostile \
        else (RSA_KID if alg == "RS256" else EC_KID)
    header: dict[str, Any] = {"alg": alg, "typ": "JWT"}
    if not hostile or draw(st.integers(0, 9)):
        header["kid"] = kid
    if hostile and not draw(st.integers(0, 6)):
        header["crit"] = draw(st.sampled_from([["exp"], [], "b64"]))
    if hostile and not draw(st.integers(0, 6)):
        header["jku"] = "https://evil.example/keys"
    if hostile and not draw(st.integers(0, 6)):  # RFC 7797 unencoded payload, with or without crit
        header["b64"] = draw(st.sampled_from([False, True, 0, None]))
    header_json, claims_json = json.dumps(header), json.dumps(claims)
    duplicate = draw(st.sampled_from([None, None, None, "header", "payload"])) if hostile else None
    if duplicate == "header":
        header_json = header_json[:-1] + ', "alg": "none"}'
    elif duplicate == "payload":
        claims_json = claims_json[:-1] + f', "tid": "{GLOBEX_TID}"}}'
    if hostile and not draw(st.integers(0, 9)):
        claims_json = claims_json[:-1] + ', "pad": "' + "x" * 7000 + '"}'  # over the size cap once encoded
    h, p = b64url(header_json), b64url(claims_json)
    signing_input = f"{h}.{p}".encode()
    signer = draw(st.sampled_from(["right", "right", "other_rsa", "public_as_hmac", "empty"])) if hostile else "right"
    if signer == "empty" or alg in ("none", "rs256"):
        signature = b""
    elif signer == "public_as_hmac" or alg == "HS256":
        pem = rsa_key().public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
        signature = SIGNERS["HS256"].sign(signing_input, pem)
    elif signer == "other_rsa":
        signature = SIGNERS["RS256"].sign(signing_input, rsa_key(name="other"))
    elif alg == "ES256":
        signature = SIGNERS["ES256"].sign(signing_input, ec_key())
    else:
        signature = SIGNERS[alg].sign(signing_input, rsa_key())
    token = f"{h}.{p}.{b64url(signature)}"
    return draw(mutated(token)) if hostile else token


@st.composite
def mutated(draw: Any, token: str) -> str:
    how = draw(st.sampled_from(["none"] * 6 + ["flip", "tail", "pad", "junk", "truncate", "segments", "space",
                                              "case"]))
    if how == "none":
        return token
    position = draw(st.integers(0, len(token) - 1))
    if how == "flip":
        replacement = draw(st.sampled_from(list("AQgw_-.=+/")))
        return token[:position] + replacement + token[position + 1:]
    if how == "tail":  # any last character: non-canonical spare bits spell the same bytes another way
        pieces = token.split(".")
        part = draw(st.sampled_from([i for i, piece in enumerate(pieces) if piece]))
        pieces[part] = pieces[part][:-1] + draw(st.sampled_from(B64URL_ALPHABET))
        return ".".join(pieces)
    if how == "pad":
        part = draw(st.integers(0, 2))
        pieces = token.split(".")
        pieces[part] += draw(st.sampled_from(["=", "==", "===", "A", "AA"]))
        return ".".join(pieces)
    if how == "junk":
        return token[:position] + draw(st.sampled_from(["!", " ", "\n", "é", "%2E", "\x00"])) + token[position:]
    if how == "truncate":
        return token[:position]
    if how == "segments":
        return draw(st.sampled_from([token + ".", token + ".e30", "." + token, token.replace(".", "..", 1)]))
    if how == "space":
        return draw(st.sampled_from([" " + token, token + " ", token + "\n"]))
    return token.swapcase() if draw(st.booleans()) else token[:position] + token[position:].upper()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tokens())
def test_the_verifier_accepts_exactly_what_pyjwt_and_the_project_rules_accept(token):
    reference = pyjwt_claims(token)
    expected = reference if reference is not None and project_rules_hold(token) else None
    assert fast_claims(token) == expected


@settings(max_examples=150, deadline=None)
@given(tokens())
def test_the_verifier_is_never_more_lenient_than_pyjwt(token):
    accepted = fast_claims(token)
    if accepted is not None:
        assert pyjwt_claims(token) == accepted


def test_the_generator_reaches_both_outcomes():
    """The property above is only as good as its inputs: valid tokens must be among them."""
    assert fast_claims(find(tokens(), lambda token: fast_claims(token) is not None)) is not None
    assert pyjwt_claims(find(tokens(), lambda token: pyjwt_claims(token) is None)) is None
    now = int(time.time())
    claims = {**entra_claims(now=now), "exp": now + FAR}
    token = jwt.encode(claims, rsa_key(), algorithm="RS256", headers={"kid": RSA_KID})
    assert fast_claims(token) == pyjwt_claims(token) == claims
    es = jwt.encode(claims, ec_key(), algorithm="ES256", headers={"kid": EC_KID})
    assert fast_claims(es) == pyjwt_claims(es) == claims
    assert fast_claims(token[:-2]) is None and pyjwt_claims(token[:-2]) is None


def test_sub_and_jti_must_be_strings_as_pyjwt_says():
    now = int(time.time())
    for extra in ({"sub": 5}, {"jti": ["a"]}, {"sub": None}):
        claims = {**entra_claims(now=now), "exp": now + FAR, **extra}
        token = jwt.encode(claims, rsa_key(), algorithm="RS256", headers={"kid": RSA_KID})
        assert fast_claims(token) is None and pyjwt_claims(token) is None


# --- time claims at their boundaries, both sides reading one frozen clock --------------------------

def _frozen_pyjwt_clock(monkeypatch: Any, now: float) -> None:
    """pyjwt reads ``datetime.now(tz=timezone.utc).timestamp()``: make it read ``now``."""
    frozen = datetime.fromtimestamp(now, tz=UTC)

    class FrozenDatetime(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # pyjwt passes tz=utc
            return frozen

    monkeypatch.setattr(jwt.api_jwt, "datetime", FrozenDatetime)


@st.composite
def boundary_times(draw: Any) -> tuple[float, dict[str, Any]]:
    """A clock with microseconds and exp/nbf/iat within a couple of seconds of their edges."""
    base = 1_790_000_000 + draw(st.integers(0, 10**6))
    now = datetime.fromtimestamp(base, tz=UTC).timestamp() + draw(st.integers(0, 999_999)) / 1_000_000
    now = datetime.fromtimestamp(now, tz=UTC).timestamp()  # what pyjwt will read back, to the microsecond
    offsets = st.one_of(st.integers(-3, 3), st.floats(-3, 3), st.sampled_from([0.5, -0.5, 0.999999, -0.000001]))
    times: dict[str, Any] = {"exp": draw(st.sampled_from([math.floor, math.ceil, lambda x: x]))(
        now - LEEWAY + draw(offsets))}
    for name in ("nbf", "iat"):
        if draw(st.booleans()):
            edge = now + LEEWAY + draw(offsets)
            times[name] = draw(st.sampled_from([math.floor(edge), math.ceil(edge), edge]))
    return now, times


@settings(max_examples=200, deadline=None)
@given(boundary_times())
def test_at_the_time_boundaries_the_verifier_is_never_more_lenient_than_pyjwt(case):
    """A fractional exp counts in whole seconds as pyjwt counts it (int(exp)); nbf and iat may
    be stricter (the verifier compares them unrounded), never more lenient. With whole-second
    nbf and iat the two agree exactly."""
    now, times = case
    claims = {**entra_claims(now=int(now)), **times}
    for name in ("nbf", "iat"):
        if name not in times:
            claims.pop(name, None)
    token = jwt.encode(claims, rsa_key(), algorithm="RS256", headers={"kid": RSA_KID})
    verifier = make_verifier()
    verifier._clock = lambda: now  # the verifier's injected clock (the constructor's ``clock``)
    with pytest.MonkeyPatch.context() as monkeypatch:
        _frozen_pyjwt_clock(monkeypatch, now)
        reference = pyjwt_claims(token)
    try:
        accepted: dict[str, Any] | None = verifier.verify(token)
    except TokenRejectedError:
        accepted = None
    if accepted is not None:
        assert reference == accepted
    if all(isinstance(times.get(name, 0), int) for name in ("nbf", "iat")):
        assert accepted == reference


def test_the_header_cache_keeps_only_headers_under_a_verified_signature(monkeypatch):
    """Tokens with junk headers and no valid signature cannot fill the decoded-header cache and
    keep the IdP's own header decoding on every request."""
    import tenantkit.verifier as verifier_module

    verifier = make_verifier()
    decoded: list[str] = []
    decode = verifier_module._decode_json_segment

    def counting(segment: str, part: str) -> dict[str, Any]:
        if part == "header":
            decoded.append(segment)
        return decode(segment, part)

    monkeypatch.setattr(verifier_module, "_decode_json_segment", counting)
    now = int(time.time())
    claims = {**entra_claims(now=now), "exp": now + FAR}
    for n in range(200):  # junk headers well past the cache's bound, each under a wrong signature
        junk = jwt.encode(claims, rsa_key(name="other"), algorithm="RS256", headers={"kid": RSA_KID, "n": n})
        with pytest.raises(TokenRejectedError):
            verifier.verify(junk)
    token = jwt.encode(claims, rsa_key(), algorithm="RS256", headers={"kid": RSA_KID})
    decoded.clear()
    for _ in range(3):
        assert verifier.verify(token) == claims
    assert decoded == [token.split(".")[0]]  # decoded once, then kept


# --- signatures mutated in their structure, not their text ---------------------------------------
# Text mutations of a token almost never spell an ES256 signature whose R or S is zero, the curve
# order, past it or its high-S twin, nor an RS256 signature one byte short or long of the modulus:
# the maths the verifier hands to `cryptography` must refuse (and accept) exactly what pyjwt does.
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
ES256_SHAPES = ["as_signed", "high_s", "r_zero", "s_zero", "r_order", "s_order", "r_plus_order",
                "s_plus_order", "swap", "der", "short", "long", "all_ff"]
RS256_SHAPES = ["as_signed", "leading_zero", "drop_first", "append_zero", "all_ff", "zero", "modulus"]


def _es256_signature(raw: bytes, shape: str) -> bytes:
    r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    variants = {"as_signed": (r, s), "high_s": (r, P256_ORDER - s), "r_zero": (0, s), "s_zero": (r, 0),
                "r_order": (P256_ORDER, s), "s_order": (r, P256_ORDER), "swap": (s, r),
                "r_plus_order": (r + P256_ORDER, s), "s_plus_order": (r, s + P256_ORDER)}
    if shape in variants:
        new_r, new_s = variants[shape]
        top = (1 << 256) - 1  # past 32 bytes: the largest value that fits, still past the order
        new_r, new_s = min(new_r, top), min(new_s, top)
        return new_r.to_bytes(32, "big") + new_s.to_bytes(32, "big")
    return {"der": encode_dss_signature(r, s), "short": raw[:-1], "long": raw + b"\x00",
            "all_ff": b"\xff" * 64}[shape]


def _rs256_signature(raw: bytes, shape: str) -> bytes:
    modulus = PUBLIC_KEYS[RSA_KID].public_numbers().n
    return {"as_signed": raw, "leading_zero": b"\x00" + raw, "drop_first": raw[1:], "append_zero": raw + b"\x00",
            "all_ff": b"\xff" * len(raw), "zero": b"\x00" * len(raw),
            "modulus": modulus.to_bytes(len(raw), "big")}[shape]


@settings(max_examples=60, deadline=None)
@given(alg=st.sampled_from(["RS256", "ES256"]), data=st.data())
def test_a_signature_mutated_in_its_structure_is_judged_as_pyjwt_judges_it(alg, data):
    now = int(time.time())
    claims = {**entra_claims(now=now), "exp": now + FAR}
    kid, key = (EC_KID, ec_key()) if alg == "ES256" else (RSA_KID, rsa_key())
    token = jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})
    head, raw = token.rsplit(".", 1)[0], jwt.utils.base64url_decode(token.rsplit(".", 1)[1])
    if alg == "ES256":
        shape = data.draw(st.sampled_from(ES256_SHAPES))
        signature = _es256_signature(raw, shape)
    else:
        shape = data.draw(st.sampled_from(RS256_SHAPES))
        signature = _rs256_signature(raw, shape)
    mutated_token = f"{head}.{b64url(signature)}"
    expected = pyjwt_claims(mutated_token)
    assert fast_claims(mutated_token) == expected
    assert (expected is not None) == (shape in ("as_signed", "high_s"))  # ECDSA accepts both S; no other
