"""parse_jwks: only public RSA >= 2048 and EC P-256 signature keys survive; bad documents raise,
bad single keys are skipped (or remembered as rejected when merely too weak)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from support.tokens import ec_key, jwk_for, jwks_document, rsa_key
from tenantkit.exceptions import JwksUnavailableError
from tenantkit.jwks import KeySet, VerificationKey, parse_jwks


def _doc(*keys: Any) -> bytes:
    return json.dumps({"keys": list(keys)}).encode()


def _public_numbers(key: Any) -> Any:
    return key.public_numbers()


def test_valid_rsa_key_is_loaded_as_public_key():
    keyset = parse_jwks(jwks_document(jwk_for(rsa_key(), "rsa-1")))
    assert isinstance(keyset, KeySet)
    assert list(keyset.keys) == ["rsa-1"]
    key = keyset.keys["rsa-1"]
    assert key.kid == "rsa-1"
    assert key.kty == "RSA"
    assert key.alg is None
    assert isinstance(key.key, rsa.RSAPublicKey)
    assert key.key.public_numbers() == rsa_key().public_key().public_numbers()
    assert keyset.rejected == {}


def test_valid_ec_p256_key_is_loaded_as_public_key():
    keyset = parse_jwks(jwks_document(jwk_for(ec_key(), "ec-1")))
    key = keyset.keys["ec-1"]
    assert key.kty == "EC"
    assert isinstance(key.key, ec.EllipticCurvePublicKey)
    assert key.key.curve.name == "secp256r1"
    assert key.key.public_numbers() == ec_key().public_key().public_numbers()


def test_rsa_and_ec_keys_side_by_side_with_declared_alg():
    keyset = parse_jwks(jwks_document(
        jwk_for(rsa_key(), "rsa-1", alg="RS256"),
        jwk_for(ec_key(), "ec-1", alg="ES256"),
    ))
    assert set(keyset.keys) == {"rsa-1", "ec-1"}
    assert keyset.keys["rsa-1"].alg == "RS256"
    assert keyset.keys["ec-1"].alg == "ES256"


@pytest.mark.parametrize("alg", [None, "HS256"])
def test_symmetric_oct_keys_are_never_loaded(alg):
    oct_jwk = {"kty": "oct", "kid": "sym", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0", "use": "sig"}
    if alg:
        oct_jwk["alg"] = alg
    keyset = parse_jwks(_doc(oct_jwk, jwk_for(rsa_key(), "rsa-1")))
    assert "sym" not in keyset.keys
    assert list(keyset.keys) == ["rsa-1"]
    # Without a declared alg there is nothing to report; HS256 is reported as a foreign alg.
    assert keyset.rejected.get("sym") == (None if alg is None else "key_alg_mismatch")


def test_rsa_1024_is_rejected_as_too_weak_not_loaded():
    keyset = parse_jwks(jwks_document(jwk_for(rsa_key(1024, name="weak"), "weak"), jwk_for(rsa_key(), "strong")))
    assert "weak" not in keyset.keys
    assert keyset.rejected == {"weak": "key_too_weak"}
    assert list(keyset.keys) == ["strong"]


def test_ec_p384_is_skipped():
    p384 = ec.generate_private_key(ec.SECP384R1())
    jwk = {**json.loads(ECAlgorithm.to_jwk(p384.public_key())), "kid": "p384", "use": "sig"}
    assert jwk["crv"] == "P-384"
    keyset = parse_jwks(_doc(jwk))
    assert keyset.keys == {}
    assert keyset.rejected == {}


def test_encryption_keys_are_skipped():
    keyset = parse_jwks(jwks_document(jwk_for(rsa_key(), "enc-key", use="enc"), jwk_for(ec_key(), "ec-enc", use="enc")))
    assert keyset.keys == {}


@pytest.mark.parametrize("alg", ["RS384", "RS512", "PS256", "HS256", "none", "RSA-OAEP", "ES384"])
def test_jwk_declaring_an_unsupported_alg_is_never_loaded(alg):
    keyset = parse_jwks(jwks_document(jwk_for(rsa_key(), "rsa-1", alg=alg), jwk_for(ec_key(), "ec-1", alg=alg),
                                      jwk_for(rsa_key(name="other"), "ok", alg="RS256")))
    assert list(keyset.keys) == ["ok"]
    assert keyset.rejected == {"rsa-1": "key_alg_mismatch", "ec-1": "key_alg_mismatch"}


def test_duplicate_kid_keeps_the_first():
    first, second = rsa_key(), rsa_key(name="second")
    keyset = parse_jwks(jwks_document(jwk_for(first, "dup"), jwk_for(second, "dup")))
    assert list(keyset.keys) == ["dup"]
    assert keyset.keys["dup"].key.public_numbers() == first.public_key().public_numbers()


def test_duplicate_kid_after_a_weak_key_stays_rejected():
    keyset = parse_jwks(jwks_document(jwk_for(rsa_key(1024, name="weak"), "dup"), jwk_for(rsa_key(), "dup")))
    assert "dup" not in keyset.keys
    assert keyset.rejected == {"dup": "key_too_weak"}


@pytest.mark.parametrize("kid", ["<missing>", "", None, 42, ["k"]])
def test_key_without_a_string_kid_is_skipped(kid):
    jwk = jwk_for(rsa_key(), "placeholder")
    if kid == "<missing>":
        del jwk["kid"]
    else:
        jwk["kid"] = kid
    keyset = parse_jwks(_doc(jwk))
    assert keyset.keys == {}
    assert keyset.rejected == {}


@pytest.mark.parametrize("private_key", [rsa_key(), ec_key()], ids=["rsa", "ec"])
def test_a_jwk_with_private_members_is_never_trusted(private_key):
    """A JWKS that publishes a private key lets anyone sign tokens: that key is skipped."""
    if isinstance(private_key, rsa.RSAPrivateKey):
        jwk = json.loads(RSAAlgorithm.to_jwk(private_key))
        assert "d" in jwk and "p" in jwk
    else:
        jwk = json.loads(ECAlgorithm.to_jwk(private_key))
        assert "d" in jwk
    jwk.update(kid="priv", use="sig")
    keyset = parse_jwks(_doc(jwk, jwk_for(rsa_key(), "good")))
    assert list(keyset.keys) == ["good"]


@pytest.mark.parametrize(
    "document",
    [
        b"not json",
        b"",
        b"\xff\xfe\x00garbage",
        b"[]",
        b'[{"keys": []}]',
        b'"keys"',
        b"null",
        b"42",
        b"{}",
        b'{"keys": null}',
        b'{"keys": {"kid": "a"}}',
        b'{"keys": "abc"}',
        b'{"keys": 7}',
        b'{"Keys": []}',
        b"[" * 50_000 + b"]" * 50_000,  # nesting deeper than the JSON decoder's recursion limit
        b'{"keys": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
    ],
    ids=lambda d: d[:24].decode("latin-1"),
)
def test_malformed_documents_raise_jwks_unavailable(document):
    with pytest.raises(JwksUnavailableError):
        parse_jwks(document)


def test_empty_keys_list_is_a_valid_empty_keyset():
    keyset = parse_jwks(b'{"keys": []}')
    assert keyset.keys == {} and keyset.rejected == {}


def _garbage_members() -> list[Any]:
    good = jwk_for(rsa_key(), "g")
    good_ec = jwk_for(ec_key(), "g")
    without_n = {k: v for k, v in good.items() if k != "n"}
    without_e = {k: v for k, v in good.items() if k != "e"}
    off_curve = {**good_ec, "y": good_ec["x"]}
    return [
        1,
        2.5,
        "a string",
        None,
        True,
        [],
        ["nested"],
        {},
        {"kid": "g"},
        {**without_n, "kid": "no-n"},
        {**without_e, "kid": "no-e"},
        {**good, "kid": "n-number", "n": 12345},
        {**good, "kid": "n-not-b64", "n": "!!!not base64!!!"},
        {**good, "kid": "e-zero", "e": "AA"},
        {**good, "kid": "kty-list", "kty": ["RSA"]},
        {**good, "kid": "kty-missing", "kty": None},
        {**good, "kid": "alg-list", "alg": ["RS256"]},
        {**good, "kid": "alg-dict", "alg": {"x": 1}},
        {**good, "kid": "use-list", "use": ["sig"]},
        {**good, "kid": "rsa-oth", "d": "AQAB", "oth": []},
        {k: v for k, v in {**good_ec, "kid": "ec-no-x"}.items() if k != "x"},
        {**good_ec, "kid": "ec-x-number", "x": 7},
        {**good_ec, "kid": "ec-short-x", "x": "AQAB"},
        {**off_curve, "kid": "ec-off-curve"},
        {**good_ec, "kid": "ec-no-crv", "crv": None},
        {"kty": "RSA", "kid": "bare"},
        {"kty": "EC", "kid": "bare-ec", "crv": "P-256"},
    ]


@pytest.mark.parametrize("member", _garbage_members(), ids=lambda m: json.dumps(m)[:40])
def test_garbage_member_is_skipped_without_raising(member):
    keyset = parse_jwks(_doc(member, jwk_for(rsa_key(), "good")))
    assert list(keyset.keys) == ["good"]
    assert keyset.rejected == {}


def test_all_garbage_together_leaves_the_good_keys():
    keyset = parse_jwks(_doc(*_garbage_members(), jwk_for(rsa_key(), "good"), jwk_for(ec_key(), "good-ec")))
    assert set(keyset.keys) == {"good", "good-ec"}


@pytest.mark.parametrize(
    ("kty", "declared", "alg", "fits"),
    [
        ("RSA", None, "RS256", True),
        ("RSA", None, "ES256", False),
        ("RSA", "RS256", "RS256", True),
        ("RSA", "RS256", "ES256", False),
        ("RSA", "ES256", "RS256", False),  # declared alg for another key type: never usable
        ("RSA", "ES256", "ES256", False),
        ("EC", None, "ES256", True),
        ("EC", None, "RS256", False),
        ("EC", "ES256", "ES256", True),
        ("EC", "RS256", "RS256", False),
        ("RSA", None, "HS256", False),
        ("RSA", None, "none", False),
        ("RSA", None, "PS256", False),
        ("EC", None, "ES384", False),
        ("oct", None, "HS256", False),
    ],
)
def test_verification_key_fits(kty, declared, alg, fits):
    key = VerificationKey(kid="k", kty=kty, key=object(), alg=declared)
    assert key.fits(alg) is fits


def test_parsed_keys_fit_only_their_algorithm():
    keyset = parse_jwks(jwks_document(jwk_for(rsa_key(), "rsa-1"), jwk_for(ec_key(), "ec-1")))
    assert keyset.keys["rsa-1"].fits("RS256") and not keyset.keys["rsa-1"].fits("ES256")
    assert keyset.keys["ec-1"].fits("ES256") and not keyset.keys["ec-1"].fits("RS256")
