"""Canary over every output channel at once: the whole recorded authorizer event set replayed
with event logging on, X-Ray tracing on (real SDK, UDP to a local daemon) and one EMF metric
per invocation. No minted token, token segment, cookie, auth code, STS token or basic-auth
credential may appear in any byte written: init and invocation stdout (log, audit and EMF
lines), responses, error messages, anything else on stdout/stderr, and every trace datagram."""

from __future__ import annotations

import json

import pytest
from xray_capture import (
    XrayDaemon,
    emf_lines,
    function_runner,
    json_lines,
    lambda_tracing,
    meter_each_decision,
    parse_datagram,
    recorded_events,
    subsegments_named,
)

from support.tokens import rsa_key
from tenantkit.observability.contract import REDACTED
from tenantkit_local.events import personas_referenced, render
from tenantkit_local.issuer import LocalIssuer
from tenantkit_local.jwks_server import JwksServer

pytestmark = pytest.mark.e2e

CANARIES = ["CANARY-COOKIE-7f3a9c1e", "CANARY-AUTH-CODE-4d5e6f", "CANARY-STS-SESSION-TOKEN-0b1c2d3e",
            "YWxpY2U6c2VjcmV0"]


@pytest.fixture
def daemon(monkeypatch: pytest.MonkeyPatch):
    daemon = XrayDaemon()
    cleanup = lambda_tracing(monkeypatch, daemon, "AuthorizerFunction")
    yield daemon
    cleanup()
    daemon.close()


def test_no_secret_in_any_output(daemon: XrayDaemon, monkeypatch: pytest.MonkeyPatch, capsys):
    issuer = LocalIssuer(rsa_key(name="canary-issuer"))
    events = recorded_events("authorizer")
    secrets = list(CANARIES)
    emitted: list[str] = []
    with JwksServer(issuer.jwks_bytes()) as server:
        runner = function_runner("AuthorizerFunction", OIDC_JWKS_URI=server.jwks_uri,
                                 POWERTOOLS_LOGGER_LOG_EVENT="true", TENANTKIT_TRACING="xray")
        meter_each_decision(runner, monkeypatch)
        emitted += runner.init_log_lines
        for case, recorded in events:
            event = render(recorded, issuer)
            authorization = event["headers"].get("Authorization", "")
            if personas_referenced(recorded):
                token = authorization.partition(" ")[2]
                assert token.count(".") == 2, case
                secrets += [token, *[s for s in token.split(".") if len(s) > 16]]
            invocation = runner.invoke(event)
            records = json_lines(invocation.log_lines)
            emitted += invocation.log_lines
            emitted += [json.dumps(invocation.response), str(invocation.error_message)]

            # Not vacuous: the event itself was logged (redacted), decided, audited, metered.
            (logged,) = [r["message"] for r in records if isinstance(r.get("message"), dict)]
            assert logged["methodArn"] == event["methodArn"], case
            if authorization:
                assert logged["headers"]["Authorization"] == REDACTED, case
                assert logged["multiValueHeaders"]["Authorization"] == REDACTED, case
            assert len([r for r in records if r.get("record_type") == "audit"]) == 1, case
            assert len(emf_lines(records)) == 1, case
            traced = subsegments_named([parse_datagram(d) for d in daemon.receive()], "## lambda_handler")
            assert len(traced) == 1 and "outcome" in traced[0]["annotations"], case

    captured = capsys.readouterr()
    emitted += [captured.out, captured.err]
    emitted += [datagram.decode("utf-8") for datagram in daemon.datagrams]
    everything = "\n".join(emitted)
    assert len(secrets) >= len(CANARIES) + 2 * 14  # 14 token-bearing events, each token and its long segments
    for secret in secrets:
        assert secret not in everything, f"leaked: {secret[:24]}..."
    assert everything.count(REDACTED) >= len(events)
    assert "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/dev/GET/v1/me" in everything
    assert "ASIACANARYACCESSKEY1" in everything  # an access key id is an identifier, logged as is
