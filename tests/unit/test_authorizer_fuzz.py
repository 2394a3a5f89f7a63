"""Property tests for RequestAuthorizer.handle: only Allow, Deny or Exception("Unauthorized"), ever.

(a) arbitrary events and garbage tokens never yield Allow nor any other exception;
(b) correctly signed tokens with random claims are allowed exactly when an independent oracle
    (written here from the rules, not from the implementation) says every rule holds.
"""

from __future__ import annotations

import functools
import json
import math
import re
import time
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jwt.algorithms import RSAAlgorithm

from support.fakes import StaticFetcher
from support.tokens import (
    ACME_TID,
    ALICE_OID,
    API_AUDIENCE,
    GLOBEX_TID,
    METHOD_ARN,
    PORTAL_CLIENT,
    UNKNOWN_TID,
    WORKER_CLIENT,
    authorizer_event,
    b64url,
    entra_claims,
    jwk_for,
    jwks_document,
    rsa_key,
    sign,
)
from tenantkit.authorizer import RequestAuthorizer
from tenantkit.config import AuthorizerConfig
from tenantkit.jwks import JwksCache

ROOT = Path(__file__).resolve().parents[2]
INITECH_TID = "3f5a7c9e-1b2d-4e6f-8a0c-2e4f6a8c0e1d"
CONSOLE_CLIENT = "1d7b2e8f-6c4e-4f3b-8d9c-8e7f6a5b4c3d"
UNREGISTERED_CLIENT = "4a0e5b1c-9f7b-4c6e-8b2d-1b0c9d8e7f6a"
SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                            HealthCheck.too_slow])

# The rules, restated from DESIGN.md and local/env.json (checked against the file below).
AUDIENCES = {API_AUDIENCE, "api://tenantkit"}
ISSUERS = ("https://login.microsoftonline.com/{}/v2.0", "https://sts.windows.net/{}/")
TENANTS = {ACME_TID: "acme", GLOBEX_TID: "globex", INITECH_TID: "initech"}
APPS = {  # client id: (app_id, required scopes, required roles)
    PORTAL_CLIENT: ("portal", {"access_as_user"}, set()),
    CONSOLE_CLIENT: ("agent-console", {"access_as_user"}, set()),
    WORKER_CLIENT: ("billing-worker", set(), {"Agents.Invoke"}),
}
LEEWAY = 60
_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_RS256 = RSAAlgorithm(RSAAlgorithm.SHA256)


def _env() -> dict[str, str]:
    env = dict(json.loads((ROOT / "local" / "env.json").read_text())["AuthorizerFunction"])
    env["OIDC_JWKS_URI"] = "https://idp.invalid/common/discovery/v2.0/keys"
    return env


@functools.cache
def authorizer() -> RequestAuthorizer:
    cache = JwksCache(fetcher=StaticFetcher(jwks_document(jwk_for(rsa_key(), "test-kid"))))
    return RequestAuthorizer.from_config(AuthorizerConfig.from_env(_env()), jwks_cache=cache)


def test_oracle_tables_match_the_local_registry():
    env = _env()
    registry = json.loads(env["TENANT_REGISTRY"])
    assert {tid: t["tenant_id"] for tid, t in registry["tenants"].items()} == TENANTS
    assert all(t.get("status", "active") == "active" for t in registry["tenants"].values())
    assert {cid: (a["app_id"], set(a.get("required_scopes", ())), set(a.get("required_roles", ())))
            for cid, a in registry["apps"].items()} == APPS
    assert set(env["OIDC_AUDIENCE"].split(",")) == AUDIENCES
    assert env["OIDC_ISSUER"].split(",") == [i.format("{tenantid}") for i in ISSUERS]


def outcome(event: Any) -> dict[str, Any] | None:
    """The policy, or None for Exception("Unauthorized"); anything else fails the test."""
    try:
        return authorizer().handle(event)
    except Exception as exc:
        assert type(exc) is Exception and str(exc) == "Unauthorized", repr(exc)
        return None


# --- (a) arbitrary events ------------------------------------------------------------------

def mostly(likely: st.SearchStrategy[Any], other: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``likely`` seven times in ten (one_of would flatten nested alternatives and dilute it)."""
    return st.integers(0, 9).flatmap(lambda i: likely if i < 7 else other)


json_leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
json_junk = st.recursive(json_leaf, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c,
                                                                                          max_size=3), max_leaves=6)
any_junk = json_junk | st.binary(max_size=8) | st.frozensets(st.integers(), max_size=2) | st.builds(object)
algs = st.sampled_from(["none", "None", "NONE", "nOnE", "HS256", "ES256", "RS512", "PS256", ""]) | st.just("RS256")
headers_json = st.fixed_dictionaries({"alg": algs | json_junk, "kid": st.just("test-kid") | json_junk}, optional={
    "typ": st.just("JWT"), "crit": json_junk,
    "jku": st.just("https://attacker.invalid/jwks"), "jwk": json_junk, "x5c": json_junk})
claim_names = st.sampled_from(["iss", "aud", "tid", "oid", "azp", "appid", "scp", "roles", "idtyp", "exp", "ver"])
payloads_json = st.dictionaries(claim_names, json_junk, max_size=4).map(lambda o: entra_claims(**o)) | json_junk
segment = st.one_of(headers_json, payloads_json, json_junk).map(lambda v: b64url(json.dumps(v)))
jwt_shaped = st.one_of(
    st.tuples(headers_json.map(lambda v: b64url(json.dumps(v))), payloads_json.map(lambda v: b64url(json.dumps(v))),
              st.binary(max_size=300).map(b64url)).map(".".join),
    st.lists(segment | st.text(alphabet="abcXYZ012-_=+/.", max_size=12), min_size=1, max_size=5).map(".".join),
    st.builds(lambda p: f"{b64url(json.dumps({'alg': 'none', 'kid': 'test-kid'}))}.{p}.", payloads_json.map(
        lambda v: b64url(json.dumps(v)))),
)
auth_values = mostly(jwt_shaped.map(lambda t: "Bearer " + t), st.one_of(
    any_junk, st.text(max_size=40), jwt_shaped,
    st.builds(lambda scheme, tok: f"{scheme} {tok}", st.sampled_from(["Bearer", "bearer", "BEARER", "Basic", ""]),
              jwt_shaped | st.text(max_size=60)),
))
header_names = st.sampled_from(["Authorization", "authorization", "AUTHORIZATION", "Host"]) | st.text(max_size=8)


def _near_valid_event(method_arn: Any, auth: Any, where: str, request_id: Any, drop: set[str]) -> dict[str, Any]:
    event = authorizer_event(None, method_arn=method_arn)
    if where in ("headers", "both"):
        event["headers"]["Authorization"] = auth
    if where in ("multi", "both"):
        event["multiValueHeaders"]["Authorization"] = [auth]
    event["requestContext"]["requestId"] = request_id
    return {k: v for k, v in event.items() if k not in drop}


near_valid_events = st.builds(
    _near_valid_event, mostly(st.just(METHOD_ARN), st.text(max_size=60) | any_junk), auth_values,
    st.sampled_from(["headers", "multi", "both", "none"]), st.sampled_from(["req-1", "req-1\n"]) | any_junk,
    st.sets(st.sampled_from(["headers", "multiValueHeaders", "requestContext", "httpMethod", "resource"]), max_size=2))
events = mostly(near_valid_events, any_junk | st.fixed_dictionaries({}, optional={
    "type": st.just("REQUEST"),
    "methodArn": st.one_of(st.just(METHOD_ARN), st.text(max_size=60), any_junk),
    "headers": any_junk | st.dictionaries(header_names, auth_values, max_size=3),
    "multiValueHeaders": any_junk | st.dictionaries(header_names, st.lists(auth_values, max_size=3) | auth_values,
                                                    max_size=3),
    "requestContext": any_junk | st.fixed_dictionaries({}, optional={
        "requestId": st.sampled_from(["req-1", "req-1\n", "", "r" * 200, "req 1"]) | st.text(max_size=20) | any_junk}),
    "httpMethod": st.sampled_from(["GET", "POST"]) | any_junk,
    "resource": st.text(max_size=300) | any_junk,
}))


@SETTINGS
@given(events)
def test_arbitrary_events_are_unauthorized_or_denied_never_allowed(event):
    policy = outcome(event)
    assert policy is None or policy["policyDocument"]["Statement"][0]["Effect"] == "Deny"


@SETTINGS
@given(auth_values, st.booleans())
def test_garbage_authorization_on_a_well_formed_event_is_never_allowed(value, multi):
    event = authorizer_event(None)
    event["multiValueHeaders" if multi else "headers"]["Authorization"] = [value] if multi else value
    policy = outcome(event)
    assert policy is None or policy["policyDocument"]["Statement"][0]["Effect"] == "Deny"


# --- (b) correctly signed tokens with random claims ------------------------------------------

class Rel(int):
    """A time relative to now, resolved when the token is built."""


MISSING = object()
BASES = {
    "v2_user": {"iss": "V2", "aud": API_AUDIENCE, "ver": "2.0", "azp": PORTAL_CLIENT, "scp": "access_as_user"},
    "v1_user": {"iss": "V1", "aud": "api://tenantkit", "ver": "1.0", "appid": PORTAL_CLIENT, "scp": "access_as_user"},
    "service": {"iss": "V2", "aud": API_AUDIENCE, "ver": "2.0", "azp": WORKER_CLIENT, "idtyp": "app",
                "roles": ["Agents.Invoke"]},
    "guest": {"iss": "V2", "aud": API_AUDIENCE, "ver": "2.0", "azp": CONSOLE_CLIENT, "tid": GLOBEX_TID,
              "scp": "access_as_user agent.invoke", "idp": f"https://sts.windows.net/{UNKNOWN_TID}/"},
}
CLIENTS = [PORTAL_CLIENT, WORKER_CLIENT, CONSOLE_CLIENT, UNREGISTERED_CLIENT, MISSING, "", 5, None]
CHOICES: dict[str, list[Any]] = {
    "tid": [ACME_TID, GLOBEX_TID, INITECH_TID, UNKNOWN_TID, ACME_TID.upper(), "acme", ACME_TID + "\n", 7, MISSING],
    "iss": ["V2", "V1", "V2_OTHER", "V2_SLASH", "HTTP", "EVIL", "V1_NO_SLASH", MISSING],
    "aud": [API_AUDIENCE, "api://tenantkit", "api://other", [API_AUDIENCE, "x"], ["x"], [], 5, [5], None, MISSING],
    "exp": [Rel(3600), Rel(-30), Rel(-3600), "x", True, None, MISSING, 1e300, 10**400],
    "nbf": [Rel(0), Rel(30), Rel(3600), "x", False, MISSING],
    "iat": [Rel(0), Rel(-600), Rel(3600), True, MISSING],
    "oid": [ALICE_OID, ALICE_OID.upper(), "alice", ALICE_OID + "\n", "", 5, MISSING],
    "ver": ["1.0", "2.0", "3.0", 2.0, MISSING],
    "azp": CLIENTS, "appid": CLIENTS,
    "scp": ["access_as_user", "access_as_user agent.invoke", "profile", "", 5, ["access_as_user"], None, MISSING],
    "roles": [["Agents.Invoke"], ["Reports.Read"], ["Agents.Invoke", "Reports.Read"], [], [""], "Agents.Invoke", [1],
              None, MISSING],
    "idtyp": ["app", "user", "device", 1, None, MISSING],
    "auth_time": [Rel(-100), True, -1, "x", MISSING],
}
mutations = st.sampled_from(sorted(CHOICES)).flatmap(lambda f: st.tuples(st.just(f), st.sampled_from(CHOICES[f])))


def build_claims(base: str, changes: list[tuple[str, Any]], now: int) -> dict[str, Any]:
    spec: dict[str, Any] = {"tid": ACME_TID, "oid": ALICE_OID, "exp": Rel(3600), "iat": Rel(0), "nbf": Rel(0),
                            "sub": "s-1", "email": "someone@example.com", **BASES[base]}
    spec.update(changes)
    claims = {k: (now + v if isinstance(v, Rel) else v) for k, v in spec.items() if v is not MISSING}
    tid = claims.get("tid") if isinstance(claims.get("tid"), str) else ACME_TID
    iss = {"V2": ISSUERS[0].format(tid), "V1": ISSUERS[1].format(tid), "V2_OTHER": ISSUERS[0].format(GLOBEX_TID
           if tid != GLOBEX_TID else ACME_TID), "V2_SLASH": ISSUERS[0].format(tid) + "/",
           "HTTP": ISSUERS[0].format(tid).replace("https:", "http:"), "EVIL": f"https://evil.example/{tid}/v2.0",
           "V1_NO_SLASH": ISSUERS[1].format(tid)[:-1]}
    if "iss" in claims:
        claims["iss"] = iss[claims["iss"]]
    return claims


def _number(value: Any) -> bool:
    """A JSON NumericDate: int or float, not a boolean, finite as a float."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def oracle(c: dict[str, Any], now: float) -> tuple[str, str | None]:
    """("allow"|"deny"|"unauthorized", deny reason) from the rules alone."""
    unauthorized = ("unauthorized", None)
    tid = c.get("tid")
    if not isinstance(tid, str) or not _GUID.fullmatch(tid):
        return unauthorized
    if c.get("iss") not in [i.format(tid) for i in ISSUERS]:
        return unauthorized
    aud = c.get("aud", MISSING)
    auds = [aud] if isinstance(aud, str) else aud
    if not isinstance(auds, list) or not auds or not all(isinstance(a, str) for a in auds) or not AUDIENCES & set(auds):
        return unauthorized
    if not _number(c.get("exp")) or now >= c["exp"] + LEEWAY:
        return unauthorized
    for name in ("nbf", "iat"):
        if name in c and (not _number(c[name]) or c[name] > now + LEEWAY):
            return unauthorized
    oid = c.get("oid")
    # lowercase only: Entra issues lowercase GUIDs, and "A..." must not become a second principal
    if not isinstance(oid, str) or not _GUID.fullmatch(oid):
        return unauthorized
    client_claim = {"1.0": "appid", "2.0": "azp"}.get(c.get("ver"), "azp" if "azp" in c else "appid")
    client = c.get(client_claim)
    if not isinstance(client, str) or not client:
        return unauthorized
    scp, roles, idtyp = c.get("scp"), c.get("roles"), c.get("idtyp")
    if scp is not None and not isinstance(scp, str):
        return unauthorized
    scopes = set(scp.split()) if isinstance(scp, str) else set()
    if roles is not None and (not isinstance(roles, list) or not all(isinstance(r, str) and r for r in roles)):
        return unauthorized
    if idtyp == "app":
        if scopes:
            return unauthorized
        service = True
    elif idtyp is None:
        service = "scp" not in c
    elif idtyp == "user":
        service = False
    else:
        return unauthorized
    if tid not in TENANTS:
        return ("deny", "tenant_not_onboarded")
    if client not in APPS:
        return ("deny", "app_not_registered")
    _, required_scopes, required_roles = APPS[client]
    if service and not required_roles:
        return ("deny", "service_principal_not_permitted")
    if service and not required_roles <= set(roles or ()):
        return ("deny", "role_missing")
    if not service and not required_scopes <= scopes:
        return ("deny", "scope_missing")
    return ("allow", None)


@SETTINGS
@given(st.sampled_from(sorted(BASES)), st.lists(mutations, max_size=3))
def test_signed_tokens_with_random_claims_are_allowed_exactly_when_every_rule_holds(base, changes):
    now = int(time.time())
    claims = build_claims(base, changes, now)
    h, p = b64url(json.dumps({"alg": "RS256", "kid": "test-kid", "typ": "JWT"})), b64url(json.dumps(claims))
    token = f"{h}.{p}.{b64url(_RS256.sign(f'{h}.{p}'.encode(), rsa_key()))}"
    expected, reason = oracle(claims, now)
    policy = outcome(authorizer_event("Bearer " + token, request_id="req-fuzz"))
    if expected == "unauthorized":
        assert policy is None, (claims, policy)
        return
    assert policy is not None, claims
    statement = policy["policyDocument"]["Statement"][0]
    assert statement["Effect"] == expected.capitalize(), (claims, policy)
    assert policy["principalId"] == f"{claims['tid']}:{claims['oid']}"
    if expected == "deny":
        assert policy["context"] == {"reason": reason}
        return
    context = policy["context"]
    client = claims["appid"] if claims.get("ver") == "1.0" else claims.get("azp", claims.get("appid"))
    assert (context["tenant_id"], context["app_id"]) == (TENANTS[claims["tid"]], APPS[client][0])
    assert context["principal_type"] in ("user", "service") and token not in json.dumps(policy)


def test_the_claim_generator_reaches_every_outcome():
    """Guard against a vacuous property: the bases are allowed, and single changes reach every outcome."""
    now = int(time.time())
    for base in BASES:
        assert oracle(build_claims(base, [], now), now) == ("allow", None)
        assert outcome(authorizer_event("Bearer " + sign(build_claims(base, [], now))))["context"]["tenant_id"]
    seen = {oracle(build_claims("v2_user", [(f, v)], now), now) for f, values in CHOICES.items() for v in values}
    assert {("unauthorized", None), ("allow", None), ("deny", "tenant_not_onboarded"), ("deny", "app_not_registered"),
            ("deny", "scope_missing"), ("deny", "service_principal_not_permitted")} <= seen
