"""RequestAuthorizer.handle: Allow / Deny / Unauthorized outcomes, policy shape, context, decision logs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from support.tokens import (
    ACME_TID,
    ALICE_OID,
    DROP,
    GLOBEX_TID,
    METHOD_ARN,
    PORTAL_CLIENT,
    UNKNOWN_TID,
    V1_ISSUER_TEMPLATE,
    V2_ISSUER_TEMPLATE,
    WORKER_CLIENT,
    authorizer_event,
    b64url,
    entra_claims,
    rsa_key,
    sign,
)
from tenantkit.authorizer import FailClosedAuthorizer, RequestAuthorizer, load_authorizer
from tenantkit.config import AuthorizerConfig
from tenantkit.envelope import IdentityEnvelope
from tenantkit.jwks import JwksCache
from tenantkit.verifier import JwtVerifier

CONSOLE_CLIENT = "1d7b2e8f-6c4e-4f3b-8d9c-8e7f6a5b4c3d"
UNREGISTERED_CLIENT = "4a0e5b1c-9f7b-4c6e-8b2d-1b0c9d8e7f6a"
BOB_OID = "a2222222-2222-4222-8222-222222222222"
WORKER_OID = "a3333333-3333-4333-8333-333333333333"
GUS_OID = "b4444444-4444-4444-8444-444444444444"
STAGE_RESOURCE = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/dev/*"
PERSONAL = ("alice@acme.example.com", "bob@acme.example.com", "gus.guest@fabrikam.example", "gus@fabrikam.example")

PERSONAS: dict[str, tuple[dict[str, Any], str, str, str, str]] = {
    # name: (claim overrides, tenant_id, app_id, principal_id, principal_type)
    "v2_user": ({"email": "alice@acme.example.com", "upn": "alice@acme.example.com"}, "acme", "portal",
                f"{ACME_TID}:{ALICE_OID}", "user"),
    "v1_user": ({"iss": V1_ISSUER_TEMPLATE.replace("{tenantid}", ACME_TID), "ver": "1.0", "aud": "api://tenantkit",
                 "appid": PORTAL_CLIENT, "azp": DROP, "oid": BOB_OID, "scp": "access_as_user",
                 "upn": "bob@acme.example.com", "unique_name": "bob@acme.example.com", "preferred_username": DROP},
                "acme", "portal", f"{ACME_TID}:{BOB_OID}", "user"),
    "service": ({"idtyp": "app", "roles": ["Agents.Invoke"], "azp": WORKER_CLIENT, "scp": DROP, "oid": WORKER_OID,
                 "sub": WORKER_OID, "name": DROP, "preferred_username": DROP}, "acme", "billing-worker",
                f"{ACME_TID}:{WORKER_OID}", "service"),
    "b2b_guest": ({"tid": GLOBEX_TID, "iss": V2_ISSUER_TEMPLATE.replace("{tenantid}", GLOBEX_TID), "oid": GUS_OID,
                   "azp": CONSOLE_CLIENT, "idp": "https://sts.windows.net/d1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6/",
                   "email": "gus@fabrikam.example", "preferred_username": "gus.guest@fabrikam.example"},
                  "globex", "agent-console", f"{GLOBEX_TID}:{GUS_OID}", "user"),
}


def token_for(**overrides: Any) -> str:
    return sign(entra_claims(**overrides))


def unauthorized(authorizer: Any, event: Any) -> Exception:
    """handle() must raise exactly Exception("Unauthorized"), with the cause hidden from tracebacks."""
    with pytest.raises(Exception) as caught:
        authorizer.handle(event)
    assert type(caught.value) is Exception and str(caught.value) == "Unauthorized"
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None or caught.value.__suppress_context__
    return caught.value


def audit_lines(text: str) -> list[dict[str, Any]]:
    return [r for r in (json.loads(line) for line in text.splitlines() if line.startswith("{"))
            if r.get("record_type") == "audit"]


def stage_env(authorizer_env: dict[str, str], *, tenant_status: str = "active", app_status: str = "active",
              ) -> dict[str, str]:
    registry = json.loads(authorizer_env["TENANT_REGISTRY"])
    registry["tenants"][ACME_TID]["status"] = tenant_status
    registry["apps"][PORTAL_CLIENT]["status"] = app_status
    return {**authorizer_env, "TENANT_REGISTRY": json.dumps(registry)}


def build(env: dict[str, str], jwks_cache: JwksCache) -> RequestAuthorizer:
    return RequestAuthorizer.from_config(AuthorizerConfig.from_env(env), jwks_cache=jwks_cache)


def api_gateway_strings(context: dict[str, Any]) -> dict[str, str]:
    """What a REST integration receives: every authorizer context value as a string."""
    return {k: ("true" if v is True else "false" if v is False else str(v)) for k, v in context.items()}


@pytest.mark.parametrize("persona", list(PERSONAS))
def test_allow(authorizer, capsys, persona):
    overrides, tenant, app, principal, principal_type = PERSONAS[persona]
    token = token_for(**overrides)
    response = authorizer.handle(authorizer_event("Bearer " + token, request_id=f"req-{persona}"))
    statement = response["policyDocument"]["Statement"]
    assert statement == [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": STAGE_RESOURCE}]
    assert response["principalId"] == principal
    context = response["context"]
    assert (context["tenant_id"], context["app_id"], context["principal_id"]) == (tenant, app, principal)
    assert context["principal_type"] == principal_type and context["correlation_id"] == f"req-{persona}"
    assert json.loads(context["roles" if principal_type == "service" else "scopes"])
    out = capsys.readouterr().out
    dumped = json.dumps(response)
    for value in PERSONAL:  # the principal is (tid, oid), never a mutable, IdP-chosen name
        assert value not in dumped and value not in out
    for part in (token, *token.split(".")):
        assert part not in dumped and part not in out
    [line] = audit_lines(out)
    assert (line["event_type"], line["outcome"], line["reason"], line["status"]) == ("authz.allow", "allow",
                                                                                      "verified", 200)
    assert (line["tenant_id"], line["app_id"], line["principal_id"]) == (tenant, app, principal)
    assert line["correlation_id"] == f"req-{persona}" and line["route"] == "GET /v1/me"


@pytest.mark.parametrize("persona", list(PERSONAS))
def test_context_is_flat_and_round_trips_through_the_envelope(authorizer, persona):
    overrides, *_ = PERSONAS[persona]
    context = authorizer.handle(authorizer_event("Bearer " + token_for(**overrides)))["context"]
    assert context and all(type(v) in (str, int, bool) for v in context.values())
    envelope = IdentityEnvelope.from_authorizer_context(context)
    assert envelope.to_authorizer_context() == context
    assert IdentityEnvelope.from_authorizer_context(api_gateway_strings(context)) == envelope
    assert IdentityEnvelope.from_authorizer_context({**api_gateway_strings(context), "principalId": "x",
                                                     "integrationLatency": "3"}) == envelope


DENIALS: dict[str, tuple[dict[str, Any], dict[str, str], str, dict[str, Any]]] = {
    # name: (claim overrides, registry statuses, reason, identity expected in the decision log)
    "tenant_not_onboarded": ({"tid": UNKNOWN_TID, "iss": V2_ISSUER_TEMPLATE.replace("{tenantid}", UNKNOWN_TID)}, {},
                             "tenant_not_onboarded", {"tenant_id": None, "app_id": None}),
    "app_not_registered": ({"azp": UNREGISTERED_CLIENT}, {}, "app_not_registered",
                           {"tenant_id": "acme", "app_id": None}),
    "scope_missing": ({"scp": "profile"}, {}, "scope_missing", {"tenant_id": "acme", "app_id": "portal"}),
    "service_role_missing": ({"idtyp": "app", "roles": ["Reports.Read"], "azp": WORKER_CLIENT, "scp": DROP}, {},
                             "role_missing", {"tenant_id": "acme", "app_id": "billing-worker"}),
    "service_token_for_user_only_app": ({"idtyp": "app", "roles": ["Agents.Invoke"], "scp": DROP}, {},
                                        "service_principal_not_permitted", {"tenant_id": "acme", "app_id": "portal"}),
    "tenant_suspended": ({}, {"tenant_status": "suspended"}, "tenant_suspended", {"tenant_id": "acme", "app_id": None}),
    "app_disabled": ({}, {"app_status": "disabled"}, "app_disabled", {"tenant_id": "acme", "app_id": "portal"}),
}


@pytest.mark.parametrize("case", list(DENIALS))
def test_verified_but_not_admitted_is_a_deny_policy(authorizer_env, jwks_cache, capsys, case):
    overrides, statuses, reason, identity = DENIALS[case]
    claims = entra_claims(**overrides)
    authorizer, token = build(stage_env(authorizer_env, **statuses), jwks_cache), sign(claims)
    response = authorizer.handle(authorizer_event("Bearer " + token, request_id=f"req-{case}"))
    assert token.split(".")[2] not in json.dumps(response)
    assert response["policyDocument"]["Statement"] == [
        {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": STAGE_RESOURCE}]
    assert response["context"] == {"reason": reason}
    principal = f"{claims['tid']}:{claims['oid']}"
    assert response["principalId"] == principal
    [line] = audit_lines(capsys.readouterr().out)
    expected = {"event_type": "authz.deny", "outcome": "deny", "reason": reason, "status": 403,
                "principal_id": principal, "correlation_id": f"req-{case}", **identity}
    assert {k: line[k] for k in expected} == expected


@pytest.mark.parametrize(("token", "reason"), [
    pytest.param(lambda: token_for(exp=1_000_000), "token_expired", id="expired"),
    pytest.param(lambda: token_for(aud="api://other"), "audience_mismatch", id="wrong_audience"),
    pytest.param(lambda: "eyJhbGciOiJub25lIn0." + token_for().split(".")[1] + ".", "alg_not_allowed", id="alg_none"),
    pytest.param(lambda: sign(entra_claims(), rsa_key(name="foreign")), "signature_invalid", id="foreign_key"),
    pytest.param(lambda: sign(entra_claims(), kid="nope"), "kid_not_found", id="unknown_kid"),
    pytest.param(lambda: "not-a-jwt", "token_malformed", id="garbage"),
    pytest.param(lambda: b64url("[" * 2500 + "]" * 2500) + ".e30.", "token_malformed", id="deeply_nested_header"),
    pytest.param(lambda: token_for(azp=DROP), "claim_missing", id="no_client_id"),
    pytest.param(lambda: token_for(idtyp="app"), "claim_invalid", id="app_token_with_scopes"),
])
def test_token_failures_raise_unauthorized_and_log_the_reason(authorizer, capsys, token, reason):
    unauthorized(authorizer, authorizer_event("Bearer " + token(), request_id="req-bad"))
    [line] = audit_lines(capsys.readouterr().out)
    assert (line["event_type"], line["outcome"], line["reason"], line["status"]) == ("authz.unauthorized",
                                                                                      "unauthorized", reason, 401)
    assert line["correlation_id"] == "req-bad" and line["tenant_id"] is None and line["app_id"] is None


@pytest.mark.parametrize("method_arn", [
    METHOD_ARN,
    "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/dev/POST/v1/sessions/abc/messages",
    "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/dev/DELETE/",
    "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/dev/*/*",
], ids=["get_me", "nested_post", "root_delete", "wildcard_route"])
def test_policy_covers_the_whole_stage_for_any_route(authorizer, method_arn):
    response = authorizer.handle(authorizer_event("Bearer " + token_for(), method_arn=method_arn))
    assert response["policyDocument"]["Statement"][0]["Resource"] == STAGE_RESOURCE


@pytest.mark.parametrize(("method_arn", "resource"), [
    ("arn:aws-cn:execute-api:cn-north-1:123456789012:abcdef1234/v1/GET/x", "arn:aws-cn:execute-api:cn-north-1:"
     "123456789012:abcdef1234/v1/*"),
    ("arn:aws-us-gov:execute-api:us-gov-west-1:123456789012:abcdef1234/prod_2/PUT/", "arn:aws-us-gov:execute-api:"
     "us-gov-west-1:123456789012:abcdef1234/prod_2/*"),
], ids=["china_partition", "govcloud_partition"])
def test_policy_keeps_partition_region_account_api_and_stage(authorizer, method_arn, resource):
    response = authorizer.handle(authorizer_event("Bearer " + token_for(), method_arn=method_arn))
    assert response["policyDocument"]["Statement"][0]["Resource"] == resource


@pytest.mark.parametrize("method_arn", [
    None, "", 42, [METHOD_ARN], "arn:aws:s3:::bucket/key", "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5",
    "arn:aws:execute-api:eu-west-1:12345:a1b2c3d4e5/dev/GET/", "arn:aws:execute-api:eu-west-1:123456789012:*/dev/GET/",
    "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/*/GET/",
    "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5//GET/", "garbage",
], ids=["none", "empty", "integer", "list", "s3_arn", "no_stage", "short_account", "wildcard_api", "wildcard_stage",
        "empty_stage", "garbage"])
def test_missing_or_malformed_method_arn_is_unauthorized(authorizer, method_arn):
    unauthorized(authorizer, authorizer_event("Bearer " + token_for(), method_arn=method_arn))
    event = authorizer_event("Bearer " + token_for())
    del event["methodArn"]
    unauthorized(authorizer, event)


@pytest.mark.parametrize("event", [None, [], "Bearer x", 42, b"{}", ("methodArn", METHOD_ARN)],
                         ids=["none", "list", "string", "integer", "bytes", "tuple"])
def test_event_that_is_not_an_object_is_unauthorized(authorizer, event):
    unauthorized(authorizer, event)


def _with_headers(headers: Any = None, multi: Any = None, *, drop_multi: bool = False) -> dict[str, Any]:
    event = authorizer_event(None)
    if headers is not None:
        event["headers"] = headers
    if multi is not None:
        event["multiValueHeaders"] = multi
    if drop_multi:
        del event["multiValueHeaders"]
    return event


_T = "TOKEN"  # replaced by a valid token in the tests below
HEADER_CASES_DENIED = {
    "missing": _with_headers(),
    "basic_scheme": _with_headers({"Authorization": "Basic dXNlcjpwYXNz"}, drop_multi=True),
    "no_scheme": _with_headers({"Authorization": _T}, drop_multi=True),
    "scheme_only": _with_headers({"Authorization": "Bearer"}, drop_multi=True),
    "empty_value": _with_headers({"Authorization": ""}, drop_multi=True),
    "bearer_two_tokens": _with_headers({"Authorization": f"Bearer {_T} {_T}"}, drop_multi=True),
    "multi_value_two_tokens": _with_headers({"Authorization": f"Bearer {_T}"},
                                            {"Authorization": [f"Bearer {_T}", "Bearer other.token.value"]}),
    "two_header_spellings": _with_headers({"Authorization": f"Bearer {_T}", "authorization": "Bearer x.y.z"},
                                          drop_multi=True),
    "value_not_a_string": _with_headers({"Authorization": 5}, drop_multi=True),
    "headers_not_an_object": _with_headers([["Authorization", f"Bearer {_T}"]], drop_multi=True),
    "multi_headers_not_an_object": _with_headers({"Authorization": f"Bearer {_T}"}, "Authorization"),
}
HEADER_CASES_ALLOWED = {
    "lowercase_bearer": _with_headers({"Authorization": f"bearer {_T}"}, drop_multi=True),
    "uppercase_bearer": _with_headers({"Authorization": f"BEARER {_T}"}, drop_multi=True),
    "lowercase_header_name": _with_headers({"authorization": f"Bearer {_T}"}, drop_multi=True),
    "multi_value_only": _with_headers({}, {"Authorization": [f"Bearer {_T}"]}),
}


def _substitute(value: Any, token: str) -> Any:
    return json.loads(json.dumps(value).replace(_T, token))


@pytest.mark.parametrize("case", list(HEADER_CASES_DENIED))
def test_bad_authorization_headers_are_unauthorized(authorizer, case):
    unauthorized(authorizer, _substitute(HEADER_CASES_DENIED[case], token_for()))


@pytest.mark.parametrize("case", list(HEADER_CASES_ALLOWED))
def test_accepted_authorization_header_forms(authorizer, case):
    response = authorizer.handle(_substitute(HEADER_CASES_ALLOWED[case], token_for()))
    assert response["policyDocument"]["Statement"][0]["Effect"] == "Allow"


class _ExplodingRegistry:
    def __init__(self, secret: str) -> None:
        self.secret = secret

    def get(self) -> Any:
        raise RuntimeError(f"registry exploded while handling {self.secret}")


class _ExplodingVerifier:
    jwks_uri = "https://idp.invalid/keys"

    def __init__(self, error: Exception) -> None:
        self.error = error

    def verify(self, token: str) -> dict[str, Any]:
        raise self.error


@pytest.mark.parametrize("where", ["registry", "verifier_runtime", "verifier_key", "verifier_type"])
def test_unexpected_internal_errors_fail_closed_without_leaking_the_token(authorizer_env, jwks_cache, capsys, where):
    token = token_for()
    config = AuthorizerConfig.from_env(authorizer_env)
    verifier: Any = JwtVerifier.from_config(config, jwks_cache=jwks_cache)
    registry: Any = _ExplodingRegistry(token)
    if where != "registry":
        error = {"verifier_runtime": RuntimeError(f"boom {token}"), "verifier_key": KeyError(token),
                 "verifier_type": TypeError(token)}[where]
        verifier, registry = _ExplodingVerifier(error), object()
    authorizer = RequestAuthorizer(verifier=verifier, registry=registry)
    unauthorized(authorizer, authorizer_event("Bearer " + token, request_id="req-internal"))
    captured = capsys.readouterr()
    for part in token.split("."):
        assert part not in captured.out and part not in captured.err
    [line] = audit_lines(captured.out)
    assert (line["event_type"], line["reason"], line["correlation_id"]) == ("authz.unauthorized", "internal_error",
                                                                           "req-internal")


@pytest.mark.parametrize(("variable", "value"), [
    ("OIDC_AUDIENCE", None), ("OIDC_AUDIENCE", "   "), ("OIDC_AUDIENCE", "a,,b"), ("OIDC_ISSUER", None),
    ("TENANT_REGISTRY", "not json"), ("OIDC_JWKS_URI", "file:///etc/passwd"),
    ("OIDC_JWKS_URI", "http://login.microsoftonline.com/common/discovery/v2.0/keys"),
], ids=["audience_missing", "audience_blank", "audience_empty_entry", "issuer_missing", "registry_not_json",
        "jwks_uri_not_http", "jwks_uri_plain_http_not_loopback"])
def test_misconfiguration_fails_closed_and_names_the_variable(authorizer_env, capsys, variable, value):
    env = {k: v for k, v in authorizer_env.items() if k != variable}
    if value is not None:
        env[variable] = value
    authorizer = load_authorizer(env)
    assert isinstance(authorizer, FailClosedAuthorizer)
    unauthorized(authorizer, authorizer_event("Bearer " + token_for(), request_id="req-misconfigured"))
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    logs = [r for r in records if r.get("record_type") != "audit"]
    assert logs and all(r.get("variable") == variable for r in logs)
    assert any(r.get("level") == "ERROR" for r in logs)
    [line] = audit_lines("\n".join(json.dumps(r) for r in records))
    assert (line["event_type"], line["reason"], line["correlation_id"]) == ("authz.unauthorized",
                                                                           "configuration_invalid",
                                                                           "req-misconfigured")


def test_request_id_with_trailing_newline_does_not_become_a_500(authorizer, capsys):
    response = authorizer.handle(authorizer_event("Bearer " + token_for(), request_id="req-1\n"))
    assert response["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    assert "\n" not in response["context"]["correlation_id"]
    unauthorized(authorizer, authorizer_event("Bearer garbage", request_id="req-1\n"))
    assert len(audit_lines(capsys.readouterr().out)) == 2
