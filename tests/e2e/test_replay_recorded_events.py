"""Every recorded authorizer event, replayed through template.yaml's function like
`sam local invoke`, gives the decision its persona calls for, and no secret reaches a log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.tokens import rsa_key
from tenantkit_local.events import event_files, load_event, personas_referenced, render
from tenantkit_local.issuer import LocalIssuer
from tenantkit_local.jwks_server import JwksServer
from tenantkit_local.replay import authorizer_outcome
from tenantkit_local.runner import FunctionRunner
from tenantkit_local.template import function_spec, load_env_vars

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events" / "authorizer"
COOKIE_CANARY = "CANARY-COOKIE-7f3a9c1e"

# What each case must produce, reasoned from the persona, not copied from output.
EXPECTED = {
    "acme-user-v2": ("Allow", 200, "verified", "acme", "portal"),
    "acme-user-v1": ("Allow", 200, "verified", "acme", "portal"),
    "canary-secrets": ("Allow", 200, "verified", "acme", "portal"),
    "acme-service": ("Allow", 200, "verified", "acme", "billing-worker"),
    "globex-b2b-guest": ("Allow", 200, "verified", "globex", "agent-console"),
    "initech-user-v2": ("Allow", 200, "verified", "initech", "agent-console"),
    "not-onboarded-user": ("Deny", 403, "tenant_not_onboarded", "-", "-"),
    "acme-unregistered-app": ("Deny", 403, "app_not_registered", "acme", "-"),
    "acme-user-missing-scope": ("Deny", 403, "scope_missing", "acme", "portal"),
    "acme-service-missing-role": ("Deny", 403, "role_missing", "acme", "billing-worker"),
    "acme-expired": ("Unauthorized", 401, "token_expired", "-", "-"),
    "acme-wrong-audience": ("Unauthorized", 401, "audience_mismatch", "-", "-"),
    "forged-alg-none": ("Unauthorized", 401, "alg_not_allowed", "-", "-"),
    "forged-foreign-key": ("Unauthorized", 401, "signature_invalid", "-", "-"),
    "garbage-token": ("Unauthorized", 401, "token_malformed", "-", "-"),
    "basic-auth": ("Unauthorized", 401, "authorization_header_malformed", "-", "-"),
    "no-token": ("Unauthorized", 401, "token_missing", "-", "-"),
}


@pytest.fixture(scope="module")
def issuer() -> LocalIssuer:
    return LocalIssuer(rsa_key(name="local-issuer"))


@pytest.fixture(scope="module")
def runner(issuer: LocalIssuer):
    with JwksServer(issuer.jwks_bytes()) as server:
        env_vars = load_env_vars(ROOT / "local" / "env.json")
        env_vars["AuthorizerFunction"]["OIDC_JWKS_URI"] = server.jwks_uri
        yield FunctionRunner(function_spec(ROOT / "template.yaml", "AuthorizerFunction", env_vars=env_vars))


def test_every_recorded_event_has_an_expectation():
    assert {p.stem for p in event_files([EVENTS])} == set(EXPECTED)


@pytest.mark.e2e
@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_recorded_event_decision(case: str, runner: FunctionRunner, issuer: LocalIssuer):
    event = load_event(EVENTS / f"{case}.json")
    assert "Bearer ey" not in json.dumps(event), "recorded events reference personas, never tokens"
    invocation = runner.invoke(render(event, issuer))
    outcome = authorizer_outcome(case, invocation)
    assert (outcome.decision, outcome.status, outcome.reason, outcome.tenant_id, outcome.app_id) == EXPECTED[case]
    if outcome.decision == "Unauthorized":
        assert (invocation.error_type, invocation.error_message) == ("Exception", "Unauthorized")


@pytest.mark.e2e
def test_no_token_or_cookie_reaches_any_output(runner: FunctionRunner, issuer: LocalIssuer):
    """Canary: the minted tokens (and each of their segments) and the cookie never appear in
    init logs, invocation logs or responses, whatever the decision."""
    seen_tokens = 0
    for path in event_files([EVENTS]):
        event = render(load_event(path), issuer)
        invocation = runner.invoke(event)
        emitted = "\n".join(runner.init_log_lines + invocation.log_lines) + json.dumps(invocation.response)
        emitted += str(invocation.error_message)
        auth = event["headers"].get("Authorization", "")
        token = auth.partition(" ")[2]
        if personas_referenced(load_event(path)):
            seen_tokens += 1
            for secret in [token, *[s for s in token.split(".") if len(s) > 16]]:
                assert secret not in emitted, f"{path.stem}: token material leaked"
        assert COOKIE_CANARY not in emitted
        assert "Basic YWxpY2U6c2VjcmV0" not in emitted
    assert seen_tokens == 14
