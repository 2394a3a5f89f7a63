"""normalize_claims: client id by token version, scopes/roles parsing, principal type, auth_time, registry."""

from __future__ import annotations

import json
from typing import Any

import pytest

from support.tokens import ACME_TID, ALICE_OID, DROP, GLOBEX_TID, PORTAL_CLIENT, UNKNOWN_TID, WORKER_CLIENT
from tenantkit import exceptions as E
from tenantkit.claims import client_id_claim, normalize_claims, principal_id_of
from tenantkit.registry import TenantRegistry

NOW = 1_700_000_000
CONSOLE_CLIENT = "1d7b2e8f-6c4e-4f3b-8d9c-8e7f6a5b4c3d"
UNREGISTERED_CLIENT = "4a0e5b1c-9f7b-4c6e-8b2d-1b0c9d8e7f6a"
REGISTRY = TenantRegistry.from_json(json.dumps({
    "tenants": {ACME_TID: {"tenant_id": "acme"}, GLOBEX_TID: {"tenant_id": "globex", "status": "suspended"}},
    "apps": {
        PORTAL_CLIENT: {"app_id": "portal", "required_scopes": ["access_as_user"]},
        CONSOLE_CLIENT: {"app_id": "agent-console", "status": "disabled"},
        WORKER_CLIENT: {"app_id": "billing-worker", "required_roles": ["Agents.Invoke", "Reports.Read"]},
    },
}))


def verified(**overrides: Any) -> dict[str, Any]:
    """Claims as the verifier hands them over (v2, delegated, acme, portal)."""
    claims: dict[str, Any] = {
        "iss": f"https://login.microsoftonline.com/{ACME_TID}/v2.0", "aud": "api://tenantkit", "tid": ACME_TID,
        "oid": ALICE_OID, "azp": PORTAL_CLIENT, "scp": "access_as_user", "ver": "2.0", "iat": NOW, "exp": NOW + 60,
        "preferred_username": "alice@acme.example.com", "email": "alice@acme.example.com",
    }
    for name, value in overrides.items():
        if value is DROP:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def normalize(**overrides: Any):  # type: ignore[no-untyped-def]
    return normalize_claims(verified(**overrides), REGISTRY, correlation_id="corr-1")


def rejected(error: type[Exception], **overrides: Any) -> Any:
    with pytest.raises(E.TenantkitError) as caught:
        normalize(**overrides)
    assert type(caught.value) is error, f"{type(caught.value).__name__}: {caught.value}"
    return caught.value


# --- client id claim ------------------------------------------------------------------------

@pytest.mark.parametrize(("claims", "expected"), [
    ({"ver": "1.0", "appid": "a", "azp": "b"}, "appid"),
    ({"ver": "2.0", "appid": "a", "azp": "b"}, "azp"),
    ({"ver": "1.0"}, "appid"),
    ({"ver": "2.0"}, "azp"),
    ({"azp": "b"}, "azp"),
    ({"appid": "a"}, "appid"),
    ({"appid": "a", "azp": "b"}, "azp"),
    ({}, "appid"),
    ({"ver": "3.0", "appid": "a"}, "appid"),
    ({"ver": 2.0, "azp": "b"}, "azp"),
    ({"ver": 1, "appid": "a"}, "appid"),
], ids=["v1_prefers_appid", "v2_prefers_azp", "v1_only_ver", "v2_only_ver", "no_ver_azp", "no_ver_appid",
        "no_ver_both", "no_ver_neither", "unknown_ver_appid", "numeric_ver_azp", "numeric_ver_appid"])
def test_client_id_claim_by_version(claims, expected):
    assert client_id_claim(claims) == expected


def test_v1_token_maps_appid_and_ignores_azp():
    envelope = normalize(ver="1.0", appid=PORTAL_CLIENT, azp=UNREGISTERED_CLIENT)
    assert envelope.app_id == "portal"


def test_v2_token_maps_azp_and_ignores_appid():
    envelope = normalize(ver="2.0", azp=PORTAL_CLIENT, appid=UNREGISTERED_CLIENT)
    assert envelope.app_id == "portal"
    denied = rejected(E.AppNotRegisteredError, ver="2.0", azp=UNREGISTERED_CLIENT, appid=PORTAL_CLIENT)
    assert denied.reason == "app_not_registered"


@pytest.mark.parametrize(("overrides", "claim"), [
    ({"ver": "2.0", "azp": DROP, "appid": PORTAL_CLIENT}, "azp"),
    ({"ver": "1.0", "appid": DROP}, "appid"),
    ({"ver": DROP, "azp": DROP}, "appid"),
    ({"ver": "1.0", "appid": ""}, "appid"),
    ({"ver": "2.0", "azp": 42}, "azp"),
    ({"ver": "2.0", "azp": None}, "azp"),
], ids=["v2_without_azp", "v1_without_appid", "no_ver_no_client", "empty_appid", "azp_not_string", "azp_null"])
def test_missing_client_id_is_a_token_rejection(overrides, claim):
    error = rejected(E.MissingClaimError, **overrides)
    assert error.claim == claim and error.reason == "claim_missing"
    assert isinstance(error, E.TokenRejectedError)


# --- scopes and roles -----------------------------------------------------------------------

@pytest.mark.parametrize(("scp", "expected"), [
    ("access_as_user", ("access_as_user",)),
    ("access_as_user agent.invoke", ("access_as_user", "agent.invoke")),
    ("  access_as_user \t agent.invoke\n", ("access_as_user", "agent.invoke")),
    ("agent.invoke access_as_user", ("agent.invoke", "access_as_user")),
], ids=["single", "two", "extra_whitespace", "order_kept"])
def test_scopes_are_split_on_whitespace(scp, expected):
    envelope = normalize(scp=scp)
    assert envelope.scopes == expected and envelope.principal_type == "user"


@pytest.mark.parametrize("scp", [["access_as_user"], 1, {"access_as_user": True}, True],
                         ids=["list", "integer", "object", "boolean"])
def test_scopes_must_be_a_string(scp):
    error = rejected(E.InvalidClaimError, scp=scp)
    assert error.claim == "scp"


def test_empty_scope_string_means_no_scopes():
    error = rejected(E.MissingScopeError, scp="")
    assert error.identity == {"principal_id": f"{ACME_TID}:{ALICE_OID}", "tenant_id": "acme", "app_id": "portal"}


@pytest.mark.parametrize("roles", ["Agents.Invoke", [1], [""], ["Agents.Invoke", None], {"Agents.Invoke": 1}, True],
                         ids=["string", "integer_item", "empty_item", "null_item", "object", "boolean"])
def test_roles_must_be_a_list_of_non_empty_strings(roles):
    error = rejected(E.InvalidClaimError, roles=roles)
    assert error.claim == "roles" and error.reason == "claim_invalid"


def test_roles_are_carried_into_the_envelope():
    envelope = normalize(roles=["Agents.Invoke", "Reports.Read"])
    assert envelope.roles == ("Agents.Invoke", "Reports.Read") and envelope.principal_type == "user"


# --- principal type -------------------------------------------------------------------------

SERVICE = {"azp": WORKER_CLIENT, "scp": DROP, "roles": ["Agents.Invoke", "Reports.Read"]}


@pytest.mark.parametrize(("overrides", "principal_type"), [
    ({"idtyp": "app", **SERVICE}, "service"),
    ({"idtyp": DROP, **SERVICE}, "service"),
    ({"idtyp": "user"}, "user"),
    ({"idtyp": DROP}, "user"),
], ids=["idtyp_app", "roles_without_scp", "idtyp_user", "scp_without_idtyp"])
def test_principal_type(overrides, principal_type):
    assert normalize(**overrides).principal_type == principal_type


@pytest.mark.parametrize("scp", ["access_as_user", "agent.invoke x"])
def test_app_only_token_with_delegated_scopes_is_rejected(scp):
    error = rejected(E.InvalidClaimError, idtyp="app", **{**SERVICE, "scp": scp})
    assert error.claim == "idtyp"


@pytest.mark.parametrize("idtyp", ["device", "App", "USER", "", 1, ["app"]])
def test_unknown_idtyp_is_rejected(idtyp):
    error = rejected(E.InvalidClaimError, idtyp=idtyp)
    assert error.claim == "idtyp"


def test_user_token_without_scp_but_idtyp_user_needs_the_required_scope():
    rejected(E.MissingScopeError, idtyp="user", scp=DROP)


def test_service_principal_needs_every_required_role():
    denied = rejected(E.MissingRoleError, idtyp="app", **{**SERVICE, "roles": ["Agents.Invoke"]})
    assert denied.identity["app_id"] == "billing-worker"
    rejected(E.MissingRoleError, idtyp="app", **{**SERVICE, "roles": DROP})


def test_service_token_for_app_without_required_roles_is_not_permitted():
    rejected(E.ServicePrincipalNotPermittedError, idtyp="app", scp=DROP, roles=["Agents.Invoke"])


def test_user_token_for_an_app_without_required_scopes_is_allowed():
    assert normalize(azp=WORKER_CLIENT, scp="anything").app_id == "billing-worker"  # the app requires no scopes


# --- auth_time ------------------------------------------------------------------------------

@pytest.mark.parametrize(("overrides", "expected"), [
    ({"auth_time": NOW - 300}, NOW - 300),
    ({"auth_time": DROP}, NOW),
    ({"auth_time": True}, NOW),
    ({"auth_time": -5}, NOW),
    ({"auth_time": "1699999000"}, NOW),
    ({"auth_time": float(NOW - 300)}, NOW),
    ({"auth_time": DROP, "iat": DROP}, None),
    ({"auth_time": "x", "iat": False}, None),
    ({"auth_time": 0}, 0),
], ids=["auth_time", "falls_back_to_iat", "boolean_auth_time", "negative_auth_time", "string_auth_time",
        "float_auth_time", "neither", "neither_valid", "zero_auth_time"])
def test_auth_time_comes_from_auth_time_else_iat(overrides, expected):
    assert normalize(**overrides).auth_time == expected


@pytest.mark.parametrize(("exp", "expected"), [(NOW + 60, NOW + 60), (NOW + 60.9, NOW + 60), (0, 0)],
                         ids=["integer", "fraction-rounds-down", "zero"])
def test_envelope_carries_the_token_expiry_rounded_down(exp, expected):
    assert normalize(exp=exp).exp == expected


# --- registry and envelope ------------------------------------------------------------------

def test_envelope_from_verified_claims():
    envelope = normalize(auth_time=NOW - 10)
    assert envelope.model_dump() == {
        "envelope_version": "2", "app_id": "portal", "tenant_id": "acme", "principal_id": f"{ACME_TID}:{ALICE_OID}",
        "principal_type": "user", "session_id": None, "correlation_id": "corr-1",
        "issuer": f"https://login.microsoftonline.com/{ACME_TID}/v2.0", "roles": (),
        "scopes": ("access_as_user",), "auth_time": NOW - 10, "exp": NOW + 60,
    }
    assert "alice@acme.example.com" not in envelope.model_dump_json()


def test_principal_is_tid_and_oid_never_a_username():
    claims = verified(preferred_username="mallory@evil.example", email="mallory@evil.example", upn="m", sub="s")
    assert principal_id_of(claims) == f"{ACME_TID}:{ALICE_OID}"
    assert normalize_claims(claims, REGISTRY, correlation_id="c").principal_id == f"{ACME_TID}:{ALICE_OID}"


@pytest.mark.parametrize(("overrides", "error", "identity"), [
    ({"tid": UNKNOWN_TID}, E.TenantNotOnboardedError, {}),
    ({"tid": GLOBEX_TID}, E.TenantSuspendedError, {"tenant_id": "globex"}),
    ({"azp": UNREGISTERED_CLIENT}, E.AppNotRegisteredError, {"tenant_id": "acme"}),
    ({"azp": CONSOLE_CLIENT}, E.AppDisabledError, {"tenant_id": "acme", "app_id": "agent-console"}),
    ({"scp": "profile"}, E.MissingScopeError, {"tenant_id": "acme", "app_id": "portal"}),
], ids=["tenant_not_onboarded", "tenant_suspended", "app_not_registered", "app_disabled", "scope_missing"])
def test_denials_carry_what_is_known_of_the_caller(overrides, error, identity):
    denied = rejected(error, **overrides)
    assert isinstance(denied, E.AccessDeniedError) and denied.status == 403
    assert denied.identity == {"principal_id": f"{overrides.get('tid', ACME_TID)}:{ALICE_OID}", **identity}
