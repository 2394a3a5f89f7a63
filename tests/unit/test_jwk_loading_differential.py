"""The JWKS loader reads a JWK's public key exactly as pyjwt's ``from_jwk`` does.

``tenantkit.jwks.keys`` builds keys with `cryptography` directly (pyjwt is not imported by the
layer: its import would be paid by every cold start). Over real keys and mutations of their
members (other types, padding, stray characters, truncated or padded bytes, points off the
curve, another curve), the loader accepts a key exactly when pyjwt does (and the project's own
rules hold: RSA >= 2048 bits, EC P-256 only), and then holds the same public numbers.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given, settings
from hypothesis import strategies as st
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from support.tokens import ec_key, jwk_for, rsa_key
from tenantkit.jwks.exceptions import JwkRejectedError
from tenantkit.jwks.keys import MIN_RSA_BITS, _load, parse_jwks

BASE_KEYS = [jwk_for(rsa_key(), "rsa"), jwk_for(rsa_key(1024, name="weak"), "weak"), jwk_for(ec_key(), "ec")]


def _pyjwt(jwk: dict[str, Any]) -> tuple[str, Any] | None:
    """What pyjwt makes of the JWK (public numbers), or None when it refuses it."""
    try:
        if jwk.get("kty") == "RSA":
            key = RSAAlgorithm.from_jwk(jwk)
            return "RSA", getattr(key, "public_key", lambda: key)().public_numbers()
        if jwk.get("kty") == "EC":
            key = ECAlgorithm.from_jwk(jwk)
            return "EC", getattr(key, "public_key", lambda: key)().public_numbers()
    except Exception:
        return None
    return None


def _ours(jwk: dict[str, Any]) -> tuple[str, Any] | str | None:
    try:
        loaded = _load("k", jwk)
    except JwkRejectedError as rejected:
        return rejected.reason
    except (ValueError, TypeError, KeyError):
        return None
    return None if loaded is None else (loaded.kty, loaded.key.public_numbers())


def _mutations(member: str, value: str) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.just(value),
        st.just(value + "=="), st.just(value + "="), st.just(value[:-1]), st.just(value[:-4]),
        st.just("AA" + value), st.just("AAAA" + value), st.just(value + "AAAA"),
        st.just(value.replace("-", "+").replace("_", "/")), st.just(" " + value), st.just(value + "\n"),
        st.just(value + "é"), st.just(""), st.none(), st.integers(), st.lists(st.just(value), max_size=1),
        st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", max_size=90),
    )


@st.composite
def jwks(draw: st.DrawFn) -> dict[str, Any]:
    jwk = dict(draw(st.sampled_from(BASE_KEYS)))
    members = [m for m in ("n", "e", "x", "y", "crv") if m in jwk]
    for member in draw(st.lists(st.sampled_from(members), max_size=2, unique=True)):
        if draw(st.booleans()) and member != "crv":
            jwk[member] = draw(_mutations(member, jwk[member]))
        elif member == "crv":
            jwk["crv"] = draw(st.sampled_from(["P-384", "P-521", "secp256k1", "p-256", "", None]))
        else:
            del jwk[member]
    if draw(st.booleans()) and "x" in jwk and "y" in jwk:  # the other point's y: off the curve
        other = jwk_for(ec_key("other"), "o")
        jwk["y"] = draw(st.sampled_from([other["y"], jwk["y"]]))
    return jwk


@settings(max_examples=300, deadline=None)
@given(jwks())
def test_the_loader_accepts_exactly_what_pyjwt_accepts_with_the_same_public_numbers(jwk):
    ours, theirs = _ours(jwk), _pyjwt(jwk)
    if isinstance(ours, tuple):  # accepted: pyjwt reads the same key
        assert ours == theirs
    elif ours == "key_too_weak":
        assert theirs is not None and theirs[1].n.bit_length() < MIN_RSA_BITS
    else:  # refused: pyjwt refuses too, or it is an EC key on a curve the project does not take
        assert theirs is None or (theirs[0] == "EC" and jwk.get("crv") != "P-256")


@pytest.mark.parametrize("key", [rsa_key(), ec_key()], ids=["RSA", "EC"])
def test_a_jwk_that_publishes_private_members_is_refused_although_pyjwt_would_load_it(key):
    """A JWKS that publishes a private key lets anyone sign: no key of it is trusted."""
    algorithm = RSAAlgorithm if isinstance(key, rsa.RSAPrivateKey) else ECAlgorithm
    private_jwk = {**json.loads(algorithm.to_jwk(key)), "kid": "leaked", "use": "sig"}
    assert _pyjwt(private_jwk) is not None
    assert _ours(private_jwk) is None
    assert list(parse_jwks(json.dumps({"keys": [private_jwk]}).encode()).keys) == []
