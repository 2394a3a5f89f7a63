"""Negative suite for JwtVerifier: RFC 8725, aws-jwt-verify and Entra cases, one exact error class each."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
from typing import Any

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from support.fakes import FakeClock, StaticFetcher
from support.tokens import (
    ACME_TID,
    API_AUDIENCE,
    DROP,
    GLOBEX_TID,
    V1_ISSUER_TEMPLATE,
    V2_ISSUER_TEMPLATE,
    b64url,
    ec_key,
    entra_claims,
    jwk_for,
    jwks_document,
    raw_token,
    rsa_key,
    sign,
)
from tenantkit import exceptions as E
from tenantkit.jwks import JwksCache
from tenantkit.verifier import JwtVerifier

NOW = 1_700_000_000.0
KID = "test-kid"
JWKS_URI = "https://idp.invalid/common/discovery/v2.0/keys"
ACME_V2 = V2_ISSUER_TEMPLATE.replace("{tenantid}", ACME_TID)
ACME_V1 = V1_ISSUER_TEMPLATE.replace("{tenantid}", ACME_TID)
GLOBEX_V2 = V2_ISSUER_TEMPLATE.replace("{tenantid}", GLOBEX_TID)
OTHER_OID = "b4444444-4444-4444-8444-444444444444"
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_SIGNERS = {"RS256": RSAAlgorithm(RSAAlgorithm.SHA256), "ES256": ECAlgorithm(ECAlgorithm.SHA256)}
# The stable reason codes (docs, logs and audit records depend on these exact strings).
REASONS = {
    E.AlgorithmNotAllowedError: "alg_not_allowed", E.InvalidSignatureError: "signature_invalid",
    E.IssuerMismatchError: "issuer_mismatch", E.TenantIdMismatchError: "tid_mismatch",
    E.AudienceMismatchError: "audience_mismatch", E.TokenExpiredError: "token_expired",
    E.TokenNotYetValidError: "token_not_yet_valid", E.MissingClaimError: "claim_missing",
    E.InvalidClaimError: "claim_invalid", E.KidMissingError: "kid_missing", E.KidNotFoundError: "kid_not_found",
    E.CriticalHeaderError: "crit_header_present", E.MalformedTokenError: "token_malformed",
    E.TokenTooLargeError: "token_too_large", E.WeakKeyError: "key_too_weak",
    E.KeyAlgorithmMismatchError: "key_alg_mismatch", E.MissingTokenError: "token_missing",
}


def cases(table: dict[str, Any]) -> list[Any]:
    """Parametrize from {case name: value or tuple of values}; the name becomes the test id."""
    return [pytest.param(*(v if isinstance(v, tuple) else (v,)), id=k) for k, v in table.items()]


class RecordingFetcher(StaticFetcher):
    """StaticFetcher that also records every URI it was asked for."""

    def __init__(self, document: bytes) -> None:
        super().__init__(document)
        self.uris: list[str] = []

    def fetch(self, uri: str) -> bytes:
        self.uris.append(uri)
        return super().fetch(uri)


def make_verifier(*jwks: dict[str, Any], issuers: tuple[str, ...] = (V2_ISSUER_TEMPLATE, V1_ISSUER_TEMPLATE),
                  algorithms: tuple[str, ...] = ("RS256",), max_token_bytes: int = 8192,
                  ) -> tuple[JwtVerifier, RecordingFetcher]:
    fetcher = RecordingFetcher(jwks_document(*(jwks or (jwk_for(rsa_key(), KID),))))
    clock = FakeClock(NOW)
    verifier = JwtVerifier(issuers=issuers, audiences=(API_AUDIENCE, "api://tenantkit"), jwks_uri=JWKS_URI,
                           jwks_cache=JwksCache(fetcher=fetcher, clock=clock), algorithms=algorithms,
                           clock_leeway_seconds=60, max_token_bytes=max_token_bytes, clock=clock)
    return verifier, fetcher


def claims(**overrides: Any) -> dict[str, Any]:
    return entra_claims(now=NOW, **overrides)


def signed_raw(header: dict[str, Any] | str, payload: dict[str, Any] | str, key: Any = None, alg: str = "RS256") -> str:
    """Sign exactly the given header/payload (no library checks or normalisation)."""
    h = header if isinstance(header, str) else b64url(json.dumps(header))
    p = payload if isinstance(payload, str) else b64url(json.dumps(payload))
    return raw_token(h, p, _SIGNERS[alg].sign(f"{h}.{p}".encode(), key if key is not None else rsa_key()))


def assert_rejected(verifier: JwtVerifier, token: Any, error: type[E.TokenRejectedError]) -> Any:
    with pytest.raises(E.TokenRejectedError) as caught:
        verifier.verify(token)
    assert type(caught.value) is error, f"{type(caught.value).__name__}: {caught.value}"
    assert caught.value.reason == REASONS[error]
    assert not isinstance(token, str) or not token or token not in str(caught.value)
    return caught.value


def test_positive_control_valid_token_is_verified():
    verifier, fetcher = make_verifier()
    assert verifier.verify(sign(claims())) == claims()
    assert fetcher.uris == [JWKS_URI]


# --- algorithms -----------------------------------------------------------------------------
@pytest.mark.parametrize("signature", [b"", b"not-a-signature"], ids=["empty_sig", "nonempty_sig"])
@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_alg_none_variants_are_rejected_before_any_key_lookup(alg, signature):
    verifier, fetcher = make_verifier()
    assert_rejected(verifier, raw_token({"alg": alg, "kid": KID, "typ": "JWT"}, claims(), signature),
                    E.AlgorithmNotAllowedError)
    assert fetcher.calls == 0


def _public_secret(form: str) -> bytes:
    enc, fmt = serialization.Encoding, serialization.PublicFormat
    if form == "jwk_json":
        return json.dumps(jwk_for(rsa_key(), KID)).encode()
    encoding = {"spki_pem": (enc.PEM, fmt.SubjectPublicKeyInfo), "pkcs1_pem": (enc.PEM, fmt.PKCS1),
                "spki_der": (enc.DER, fmt.SubjectPublicKeyInfo)}[form]
    return rsa_key().public_key().public_bytes(*encoding)


@pytest.mark.parametrize("algorithms", [("RS256",), ("RS256", "ES256")], ids=["rs256_only", "rs256_es256"])
@pytest.mark.parametrize("hs", ["HS256", "HS384", "HS512"])
@pytest.mark.parametrize("secret", ["spki_pem", "pkcs1_pem", "spki_der", "jwk_json"])
def test_hmac_signed_with_the_public_key_is_rejected(secret, hs, algorithms):
    verifier, fetcher = make_verifier(algorithms=algorithms)
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[hs]
    h, p = b64url(json.dumps({"alg": hs, "kid": KID, "typ": "JWT"})), b64url(json.dumps(claims()))
    mac = hmac.new(_public_secret(secret), f"{h}.{p}".encode(), digest).digest()
    assert_rejected(verifier, raw_token(h, p, mac), E.AlgorithmNotAllowedError)
    assert fetcher.calls == 0


@pytest.mark.parametrize("alg", ["RS384", "RS512", "PS256", "PS384", "PS512"])
def test_rsa_algorithms_outside_the_allowlist_are_rejected(alg):
    verifier, _ = make_verifier()
    token = jwt.encode(claims(), rsa_key(), algorithm=alg, headers={"kid": KID})
    assert_rejected(verifier, token, E.AlgorithmNotAllowedError)


def test_es256_is_accepted_only_when_configured():
    token = sign(claims(), ec_key(), kid="ec-kid", alg="ES256")
    allowed, _ = make_verifier(jwk_for(rsa_key(), KID), jwk_for(ec_key(), "ec-kid"), algorithms=("RS256", "ES256"))
    assert allowed.verify(token) == claims()
    default, fetcher = make_verifier(jwk_for(rsa_key(), KID), jwk_for(ec_key(), "ec-kid"))
    assert_rejected(default, token, E.AlgorithmNotAllowedError)
    assert fetcher.calls == 0


@pytest.mark.parametrize("signature", cases({
    "psychic_all_zero": bytes(64), "r_s_equal_curve_order": P256_ORDER.to_bytes(32, "big") * 2,
    "empty": b"", "zero_r_s_one": bytes(63) + b"\x01", "der_length_garbage": b"\x30\x06\x02\x01\x00\x02\x01\x00",
}))
def test_es256_degenerate_signatures_are_rejected(signature):
    verifier, _ = make_verifier(jwk_for(ec_key(), "ec-kid"), algorithms=("RS256", "ES256"))
    token = raw_token({"alg": "ES256", "kid": "ec-kid", "typ": "JWT"}, claims(), signature)
    assert_rejected(verifier, token, E.InvalidSignatureError)


# --- issuer and tenant ----------------------------------------------------------------------
@pytest.mark.parametrize("iss", cases({
    "wrong_host": f"https://evil.example.com/{ACME_TID}/v2.0",
    "prefix_no_version": f"https://login.microsoftonline.com/{ACME_TID}",
    "prefix_host_only": "https://login.microsoftonline.com/",
    "suffix_host": f"{ACME_V2}.evil.example.com",
    "suffix_path": f"{ACME_V2}/extra",
    "lookalike_host": f"https://login.microsoftonline.com.evil.example.com/{ACME_TID}/v2.0",
    "substring_in_query": f"https://evil.example.com/?{ACME_V2}",
    "trailing_fragment": f"{ACME_V2}#",
    "http_scheme": f"http://login.microsoftonline.com/{ACME_TID}/v2.0",
    "v2_trailing_slash": f"{ACME_V2}/",
    "v1_without_slash": ACME_V1.rstrip("/"),
    "uppercase_host": f"https://LOGIN.microsoftonline.com/{ACME_TID}/v2.0",
    "uppercase_tid_in_iss": f"https://login.microsoftonline.com/{ACME_TID.upper()}/v2.0",
    "literal_template": V2_ISSUER_TEMPLATE,
}))
def test_untrusted_issuers_are_rejected(iss):
    verifier, _ = make_verifier()
    assert_rejected(verifier, sign(claims(iss=iss)), E.IssuerMismatchError)


def test_v1_issuer_is_rejected_when_only_v2_template_is_configured():
    verifier, _ = make_verifier(issuers=(V2_ISSUER_TEMPLATE,))
    assert_rejected(verifier, sign(claims(iss=ACME_V1, ver="1.0")), E.IssuerMismatchError)
    both, _ = make_verifier()
    assert both.verify(sign(claims(iss=ACME_V1, ver="1.0")))["iss"] == ACME_V1


def _iss_for(tid: str) -> str:
    return f"https://login.microsoftonline.com/{tid}/v2.0"


@pytest.mark.parametrize(("tid", "iss"), cases({
    "tid_differs_from_v2_issuer": (ACME_TID, GLOBEX_V2),
    "issuer_names_other_tenant": (GLOBEX_TID, ACME_V2),
    "v1_issuer_names_other_tenant": (GLOBEX_TID, ACME_V1),
    "tid_not_guid": ("acme", _iss_for("acme")),
    "tid_uppercase": (ACME_TID.upper(), _iss_for(ACME_TID.upper())),
    "tid_without_hyphens": (ACME_TID.replace("-", ""), _iss_for(ACME_TID.replace("-", ""))),
    "tid_braced": (f"{{{ACME_TID}}}", _iss_for(f"{{{ACME_TID}}}")),
    "tid_trailing_newline": (ACME_TID + "\n", _iss_for(ACME_TID + "\n")),
}))
def test_tid_that_does_not_match_the_issuer_tenant_is_rejected(tid, iss):
    verifier, _ = make_verifier()
    assert_rejected(verifier, sign(claims(tid=tid, iss=iss)), E.TenantIdMismatchError)


@pytest.mark.parametrize("pinned", [ACME_TID, ACME_TID.upper()], ids=["lowercase_guid", "uppercase_guid"])
def test_exact_issuer_naming_a_guid_pins_tid(pinned):
    verifier, _ = make_verifier(issuers=(_iss_for(pinned),))
    assert_rejected(verifier, sign(claims(iss=_iss_for(pinned), tid=GLOBEX_TID)), E.TenantIdMismatchError)
    assert verifier.verify(sign(claims(iss=_iss_for(pinned), tid=ACME_TID)))["tid"] == ACME_TID


def test_exact_issuer_without_guid_accepts_any_guid_tid():
    verifier, _ = make_verifier(issuers=("https://issuer.example.com",))
    assert verifier.verify(sign(claims(iss="https://issuer.example.com", tid=GLOBEX_TID)))["tid"] == GLOBEX_TID


# --- audience -------------------------------------------------------------------------------
@pytest.mark.parametrize("aud", cases({
    "wrong_aud": "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d", "empty_string": "", "case_variant": API_AUDIENCE.upper(),
    "trailing_space": API_AUDIENCE + " ", "trailing_slash": "api://tenantkit/",
    "list_without_match": ["7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d", "api://other"], "empty_list": [],
    "integer": 12345, "null": None, "object": {"aud": API_AUDIENCE}, "list_with_non_string": [API_AUDIENCE, 5],
    "boolean": True, "nested_list": [[API_AUDIENCE]],
}))
def test_audience_mismatch_is_rejected(aud):
    verifier, _ = make_verifier()
    assert_rejected(verifier, signed_raw({"alg": "RS256", "kid": KID}, claims(aud=aud)), E.AudienceMismatchError)


@pytest.mark.parametrize("aud", cases({
    "list_with_one_match": ["api://other", API_AUDIENCE], "single_item_list": ["api://tenantkit"],
    "app_id_uri": "api://tenantkit",
}))
def test_audience_with_a_match_is_accepted(aud):
    verifier, _ = make_verifier()
    assert verifier.verify(sign(claims(aud=aud)))["aud"] == aud


# --- time and required claims ---------------------------------------------------------------
@pytest.mark.parametrize(("overrides", "error"), cases({
    "expired_just_beyond_leeway": ({"exp": NOW - 61}, E.TokenExpiredError),
    "expired_an_hour": ({"exp": NOW - 3600}, E.TokenExpiredError),
    "expired_exactly_at_leeway": ({"exp": NOW - 60}, E.TokenExpiredError),
    "nbf_future": ({"nbf": NOW + 120}, E.TokenNotYetValidError),
    "iat_future": ({"iat": NOW + 120}, E.TokenNotYetValidError),
    "exp_numeric_string": ({"exp": "1800000000"}, E.InvalidClaimError),
    "exp_word": ({"exp": "soon"}, E.InvalidClaimError),
    "exp_boolean": ({"exp": True}, E.InvalidClaimError),
    "exp_null": ({"exp": None}, E.InvalidClaimError),
    "exp_list": ({"exp": [NOW + 3600]}, E.InvalidClaimError),
    "exp_nan": ({"exp": float("nan")}, E.InvalidClaimError),
    "exp_infinity": ({"exp": float("inf")}, E.InvalidClaimError),
    "exp_too_large_for_float": ({"exp": 10**400}, E.InvalidClaimError),
    "nbf_boolean": ({"nbf": False}, E.InvalidClaimError),
    "nbf_nan": ({"nbf": float("nan")}, E.InvalidClaimError),
    "iat_string": ({"iat": "yesterday"}, E.InvalidClaimError),
    "missing_exp": ({"exp": DROP}, E.MissingClaimError),
    "missing_tid": ({"tid": DROP}, E.MissingClaimError),
    "missing_oid": ({"oid": DROP}, E.MissingClaimError),
    "missing_iss": ({"iss": DROP}, E.MissingClaimError),
    "missing_aud": ({"aud": DROP}, E.MissingClaimError),
    "oid_not_guid": ({"oid": "alice"}, E.InvalidClaimError),
    "oid_empty": ({"oid": ""}, E.InvalidClaimError),
    "oid_integer": ({"oid": 42}, E.InvalidClaimError),
    "oid_trailing_newline": ({"oid": "a1111111-1111-4111-8111-111111111111\n"}, E.InvalidClaimError),
    "oid_too_long": ({"oid": "a1111111-1111-4111-8111-1111111111112"}, E.InvalidClaimError),
    "tid_integer": ({"tid": 7}, E.InvalidClaimError),
    "iss_list": ({"iss": [ACME_V2]}, E.InvalidClaimError),
}))
def test_claim_failures(overrides, error):
    verifier, _ = make_verifier()
    exc = assert_rejected(verifier, signed_raw({"alg": "RS256", "kid": KID}, claims(**overrides)), error)
    if isinstance(exc, E.MissingClaimError | E.InvalidClaimError):
        assert exc.claim in overrides


@pytest.mark.parametrize("overrides", cases({
    "expired_within_leeway": {"exp": NOW - 30}, "nbf_within_leeway": {"nbf": NOW + 30},
    "iat_within_leeway": {"iat": NOW + 59}, "no_nbf_no_iat": {"nbf": DROP, "iat": DROP},
    "fractional_exp": {"exp": NOW + 0.5},
}))
def test_time_claims_within_leeway_are_accepted(overrides):
    verifier, _ = make_verifier()
    assert verifier.verify(sign(claims(**overrides)))["tid"] == ACME_TID


# --- kid and header -------------------------------------------------------------------------
def test_unknown_kid_is_rejected_after_one_refetch_of_the_pinned_uri():
    verifier, fetcher = make_verifier()
    assert_rejected(verifier, sign(claims(), kid="other-kid"), E.KidNotFoundError)
    assert fetcher.uris == [JWKS_URI]


@pytest.mark.parametrize("kid", cases({
    "missing": DROP, "null": None, "integer": 123, "list": [KID], "object": {"kid": KID}, "empty": "",
    "too_long": "k" * 257, "boolean": True,
}))
def test_missing_or_invalid_kid_is_rejected(kid):
    verifier, fetcher = make_verifier()
    header = {"alg": "RS256", "typ": "JWT"} | ({} if kid is DROP else {"kid": kid})
    assert_rejected(verifier, signed_raw(header, claims()), E.KidMissingError)
    assert fetcher.calls == 0


def _attacker_cert_b64() -> str:
    key = rsa_key(name="attacker")
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "login.microsoftonline.com")])
    start = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(start).not_valid_after(start + datetime.timedelta(days=3650))
            .sign(key, hashes.SHA256()))
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


@pytest.mark.parametrize(("kid", "error"), cases({
    "legitimate_kid": (KID, E.InvalidSignatureError), "attacker_kid": ("attacker-kid", E.KidNotFoundError),
}))
@pytest.mark.parametrize("member", ["jwk", "jku", "x5u", "x5c", "all"])
def test_header_key_injection_is_ignored(member, kid, error):
    attacker = rsa_key(name="attacker")
    injected = {"jwk": jwk_for(attacker, kid), "jku": "https://attacker.invalid/jwks.json",
                "x5u": "https://attacker.invalid/cert.pem", "x5c": [_attacker_cert_b64()]}
    extra = injected if member == "all" else {member: injected[member]}
    verifier, fetcher = make_verifier()
    assert_rejected(verifier, signed_raw({"alg": "RS256", "kid": kid, "typ": "JWT", **extra}, claims(), attacker),
                    error)
    assert fetcher.uris == [JWKS_URI]  # the pinned URI only: jku/x5u are never followed


@pytest.mark.parametrize("crit", [["exp"], [], ["b64"], "exp"], ids=["crit_exp", "crit_empty", "crit_b64", "crit_str"])
def test_crit_header_is_rejected(crit):
    verifier, _ = make_verifier()
    token = signed_raw({"alg": "RS256", "kid": KID, "crit": crit, "exp": NOW + 10, "b64": True}, claims())
    assert_rejected(verifier, token, E.CriticalHeaderError)


@pytest.mark.parametrize("b64", [False, True, 0, None], ids=["false", "true", "zero", "null"])
def test_an_unencoded_payload_header_is_rejected_without_crit(b64):
    """RFC 7797 §6: ``b64`` must be listed in ``crit`` (refused above); pyjwt refuses b64=false
    without it, so a signed token carrying it is never read as an ordinary one."""
    verifier, _ = make_verifier()
    token = signed_raw({"alg": "RS256", "kid": KID, "b64": b64}, claims())
    assert_rejected(verifier, token, E.CriticalHeaderError)


@pytest.mark.parametrize("header", cases({
    "alg_then_none": '{"alg":"RS256","kid":"test-kid","alg":"none"}',
    "none_then_alg": '{"alg":"none","kid":"test-kid","alg":"RS256"}',
    "two_kids": '{"alg":"RS256","kid":"other","kid":"test-kid"}',
    "same_kid_twice": '{"alg":"RS256","kid":"test-kid","kid":"test-kid"}',
}))
def test_duplicate_header_members_are_rejected(header):
    verifier, fetcher = make_verifier()
    assert_rejected(verifier, signed_raw(b64url(header), claims()), E.MalformedTokenError)
    assert fetcher.calls == 0


def test_duplicate_payload_members_with_valid_signature_are_rejected():
    verifier, _ = make_verifier()
    body = json.dumps(claims())[:-1] + f', "tid": "{GLOBEX_TID}"}}'
    assert_rejected(verifier, signed_raw({"alg": "RS256", "kid": KID}, b64url(body)), E.MalformedTokenError)


@pytest.mark.parametrize("limit", [8192, 1024])
def test_oversized_token_is_rejected_before_any_key_lookup(limit):
    verifier, fetcher = make_verifier(max_token_bytes=limit)
    token = sign(claims(pad="x" * limit))
    assert len(token) > limit
    assert_rejected(verifier, token, E.TokenTooLargeError)
    assert_rejected(verifier, "x" * (limit + 1), E.TokenTooLargeError)
    assert_rejected(verifier, "\u00e9" * (limit + 1), E.TokenTooLargeError)
    assert fetcher.calls == 0 and fetcher.uris == []


def test_token_just_under_the_size_limit_is_accepted():
    verifier, _ = make_verifier(max_token_bytes=2048)
    start = (2044 - len(sign(claims(pad="")))) * 3 // 4 - 8
    token = next(t for n in range(start, 2048) if len(t := sign(claims(pad="x" * n))) > 2044)
    assert 2044 < len(token) <= 2048
    assert verifier.verify(token)["pad"]


# --- shape ------------------------------------------------------------------------------------
_UTF16_HEADER = b64url(json.dumps({"alg": "RS256", "kid": KID}).encode("utf-16"))
_BOM_HEADER = b64url(b"\xef\xbb\xbf" + json.dumps({"alg": "RS256", "kid": KID}).encode())
_SHAPES = {
    "header_bad_base64_length": lambda h, p, s: f"abcde.{p}.{s}",
    "header_padded": lambda h, p, s: f"{h}=.{p}.{s}",
    "header_not_json": lambda h, p, s: f"{b64url('not json')}.{p}.{s}",
    "header_json_array": lambda h, p, s: f"{b64url(json.dumps(['alg', 'RS256']))}.{p}.{s}",
    "header_json_string": lambda h, p, s: f"{b64url(json.dumps('RS256'))}.{p}.{s}",
    "header_not_utf8": lambda h, p, s: f"{b64url(bytes([0xC3, 0x28]) + b'{}')}.{p}.{s}",
    "header_utf8_bom": lambda h, p, s: f"{_BOM_HEADER}.{p}.{s}",
    "two_segments": lambda h, p, s: f"{h}.{p}",
    "four_segments": lambda h, p, s: f"{h}.{p}.{s}.{s}",
    "empty_payload": lambda h, p, s: f"{h}..{s}",
    "empty_header": lambda h, p, s: f".{p}.{s}",
    "trailing_newline": lambda h, p, s: f"{h}.{p}.{s}" + "\n",
    "leading_space": lambda h, p, s: f" {h}.{p}.{s}",
    "non_ascii_signature": lambda h, p, s: f"{h}.{p}.{s[:-1]}" + "\u00e9",
    "non_ascii_header": lambda h, p, s: f"{h[:5]}" + "\u00e9" + f"{h[5:]}.{p}.{s}",
    "fullwidth_chars": lambda h, p, s: f"{h}.{p}.{s[:-2]}" + "\uff21\uff21",
    "standard_base64_alphabet": lambda h, p, s: f"{h}.{p[:10]}+/{p[12:]}.{s}",
    "header_deeply_nested": lambda h, p, s: f"{b64url('[' * 2500 + ']' * 2500)}.{p}.{s}",
    "signature_spare_bits_set": lambda h, p, s: f"{h}.{p}.{_noncanonical(s)}",
}


def _noncanonical(segment: str) -> str:
    """The same bytes spelled with a spare bit of the last character set (RFC 4648 §3.5)."""
    assert len(segment) % 4 in (2, 3)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    spelled = segment[:-1] + alphabet[alphabet.index(segment[-1]) + 1]
    assert jwt.utils.base64url_decode(spelled) == jwt.utils.base64url_decode(segment)
    return spelled


def test_a_signed_token_spelled_non_canonically_is_malformed():
    """pyjwt refuses non-canonical base64url in every segment; so does the verifier, even when
    the signature covers the very spelling (the header and payload as sent are signed)."""
    verifier, _ = make_verifier()
    header = _noncanonical(b64url(json.dumps({"alg": "RS256", "kid": KID, "typ": "JWT"})))
    payload = _noncanonical(b64url(json.dumps(claims(x="ab"))))
    for token in (signed_raw(header, b64url(json.dumps(claims()))), signed_raw({"alg": "RS256", "kid": KID}, payload)):
        with pytest.raises(jwt.PyJWTError):
            jwt.decode(token, rsa_key().public_key(), algorithms=["RS256"], options={"verify_aud": False})
        assert_rejected(verifier, token, E.MalformedTokenError)


@pytest.mark.parametrize("shape", list(_SHAPES))
def test_malformed_tokens_are_rejected_before_any_key_lookup(shape):
    verifier, fetcher = make_verifier()
    assert_rejected(verifier, _SHAPES[shape](*sign(claims()).split(".")), E.MalformedTokenError)
    assert fetcher.calls == 0


@pytest.mark.parametrize(("header", "payload"), cases({
    "header_utf16": (_UTF16_HEADER, b64url(json.dumps(claims()))),
    "payload_utf16": (None, b64url(json.dumps(claims()).encode("utf-16"))),
    "payload_not_json": (None, b64url("not json")),
    "payload_json_array": (None, b64url(json.dumps([1, 2]))),
    "payload_json_null": (None, b64url("null")),
    "payload_not_utf8": (None, b64url(bytes([0xFF, 0xFE]))),
    "payload_bad_base64_length": (None, "abcde"),
    "payload_truncated_json": (None, b64url(json.dumps(claims())[:-1])),
    "payload_deeply_nested": (None, b64url("[" * 2500 + "]" * 2500)),
}))
def test_segments_that_are_not_utf8_json_objects_are_rejected_even_when_signed(header, payload):
    verifier, _ = make_verifier()
    token = signed_raw(header or {"alg": "RS256", "kid": KID}, payload)
    assert_rejected(verifier, token, E.MalformedTokenError)


@pytest.mark.parametrize("token", ["", None, 42, b"a.b.c"], ids=["empty", "none", "int", "bytes"])
def test_no_token_is_rejected_as_missing(token):
    verifier, _ = make_verifier()
    assert_rejected(verifier, token, E.MissingTokenError)


# --- keys and signatures --------------------------------------------------------------------
def test_weak_rsa_key_in_jwks_is_rejected():
    weak = rsa_key(1024, name="weak")
    verifier, _ = make_verifier(jwk_for(rsa_key(), "good-kid"), jwk_for(weak, KID))
    assert_rejected(verifier, signed_raw({"alg": "RS256", "kid": KID}, claims(), weak), E.WeakKeyError)


_MISFITS = {  # name: (JWK under KID, token alg, signing key)
    "rsa_jwk_declares_rs512": (lambda: jwk_for(rsa_key(), KID, alg="RS512"), "RS256", rsa_key),
    "rsa_jwk_declares_es256": (lambda: jwk_for(rsa_key(), KID, alg="ES256"), "RS256", rsa_key),
    "es256_token_rsa_key": (lambda: jwk_for(rsa_key(), KID), "ES256", ec_key),
    "rs256_token_ec_key": (lambda: jwk_for(ec_key(), KID), "RS256", rsa_key),
    "ec_jwk_declares_rs256": (lambda: jwk_for(ec_key(), KID, alg="RS256"), "ES256", ec_key),
}


@pytest.mark.parametrize("case", list(_MISFITS))
def test_key_that_does_not_fit_the_token_alg_is_rejected(case):
    jwk, alg, key = _MISFITS[case]
    verifier, _ = make_verifier(jwk(), algorithms=("RS256", "ES256"))
    assert_rejected(verifier, sign(claims(), key(), kid=KID, alg=alg), E.KeyAlgorithmMismatchError)


def _payload(**overrides: Any) -> str:
    return b64url(json.dumps(claims(**overrides)))


_TAMPERED = {
    "tampered_tenant": lambda h, p, s: f"{h}.{_payload(tid=GLOBEX_TID, iss=GLOBEX_V2)}.{s}",
    "tampered_oid": lambda h, p, s: f"{h}.{_payload(oid=OTHER_OID)}.{s}",
    "tampered_exp": lambda h, p, s: f"{h}.{_payload(exp=NOW + 10**6)}.{s}",
    "tampered_header": lambda h, p, s: f"{b64url(json.dumps({'alg': 'RS256', 'kid': KID, 'typ': 'at+jwt'}))}.{p}.{s}",
    "signature_of_other_token": lambda h, p, s: f"{h}.{p}.{sign(claims(oid=OTHER_OID)).split('.')[2]}",
    "truncated_signature": lambda h, p, s: f"{h}.{p}.{b64url(jwt.utils.base64url_decode(s)[:-3])}",
    "empty_signature": lambda h, p, s: f"{h}.{p}.",
    "signed_by_foreign_key": lambda h, p, s: f"{h}.{p}.{sign(claims(), rsa_key(name='foreign')).split('.')[2]}",
}


@pytest.mark.parametrize("case", list(_TAMPERED))
def test_tampered_tokens_fail_signature_verification(case):
    verifier, _ = make_verifier()
    assert_rejected(verifier, _TAMPERED[case](*sign(claims()).split(".")), E.InvalidSignatureError)
