"""The X-Ray segments the authorizer really emits: the X-Ray SDK in Lambda mode, streaming each
closed subsegment over UDP to a stand-in daemon on 127.0.0.1, read back and inspected."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import textwrap
from types import SimpleNamespace

import pytest
from xray_capture import (
    ROOT,
    TRACE_HEADER,
    TRACE_ROOT,
    XrayDaemon,
    function_runner,
    lambda_tracing,
    parse_datagram,
    subsegments_named,
)

from support.tokens import rsa_key
from tenantkit.audit import emit_audit
from tenantkit.observability import bind_identity
from tenantkit.observability.handler import observe
from tenantkit.observability.tracing import tracing_enabled
from tenantkit_local.events import load_event, render
from tenantkit_local.issuer import LocalIssuer
from tenantkit_local.jwks_server import JwksServer

pytestmark = pytest.mark.integration

EVENTS = ROOT / "events" / "authorizer"
HANDLER_SUBSEGMENT = "## lambda_handler"
COOKIE_CANARY = "CANARY-COOKIE-7f3a9c1e"


@pytest.fixture(scope="module")
def issuer() -> LocalIssuer:
    return LocalIssuer(rsa_key(name="xray-issuer"))


@pytest.fixture(scope="module")
def jwks(issuer: LocalIssuer):
    with JwksServer(issuer.jwks_bytes()) as server:
        yield server


@pytest.fixture
def daemon(monkeypatch: pytest.MonkeyPatch):
    daemon = XrayDaemon()
    cleanup = lambda_tracing(monkeypatch, daemon, "AuthorizerFunction")
    yield daemon
    cleanup()
    daemon.close()


@pytest.fixture
def runner(jwks: JwksServer, daemon: XrayDaemon):
    return function_runner("AuthorizerFunction", OIDC_JWKS_URI=jwks.jwks_uri, TENANTKIT_TRACING="xray")


def replay(runner, issuer: LocalIssuer, daemon: XrayDaemon, case: str):
    event = render(load_event(EVENTS / f"{case}.json"), issuer)
    invocation = runner.invoke(event)
    datagrams = daemon.receive()
    assert datagrams, "the handler subsegment was not sent to the daemon"
    handler_segments = subsegments_named([parse_datagram(d) for d in datagrams], HANDLER_SUBSEGMENT)
    assert len(handler_segments) == 1, [parse_datagram(d).get("name") for d in datagrams]
    return event, invocation, datagrams, handler_segments[0]


def assert_no_secret(datagrams: list[bytes], token: str) -> None:
    text = b"\n".join(datagrams).decode()
    for secret in [token, *[s for s in token.split(".") if len(s) > 16], COOKIE_CANARY, "Bearer"]:
        assert secret not in text


def test_allowed_token_annotates_tenant_app_and_outcome(runner, issuer, daemon):
    event, invocation, datagrams, segment = replay(runner, issuer, daemon, "canary-secrets")
    assert invocation.error_type is None and invocation.response["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    annotations = segment["annotations"]
    assert {k: annotations.get(k) for k in ("tenant_id", "app_id", "outcome")} == {
        "tenant_id": "acme", "app_id": "portal", "outcome": "allow"}
    assert "session_id" not in annotations  # the authorizer never has a session
    assert annotations["Service"] == "tenantkit-authorizer"
    # A child of the Lambda service's segment for this invocation (the trace header).
    assert (segment["trace_id"], segment["parent_id"]) == (TRACE_ROOT, "53995c3f42cd8ad8")
    assert segment["type"] == "subsegment"
    assert "metadata" not in segment and "fault" not in segment and "error" not in segment
    assert_no_secret(datagrams, event["headers"]["Authorization"].partition(" ")[2])


def test_denied_token_annotates_deny_with_known_identity(runner, issuer, daemon):
    event, invocation, datagrams, segment = replay(runner, issuer, daemon, "acme-user-missing-scope")
    assert invocation.response["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert {k: segment["annotations"].get(k) for k in ("tenant_id", "app_id", "outcome")} == {
        "tenant_id": "acme", "app_id": "portal", "outcome": "deny"}
    assert_no_secret(datagrams, event["headers"]["Authorization"].partition(" ")[2])


def test_expired_token_is_an_unauthorized_outcome_not_a_fault(runner, issuer, daemon):
    event, invocation, datagrams, segment = replay(runner, issuer, daemon, "acme-expired")
    assert (invocation.error_type, invocation.error_message) == ("Exception", "Unauthorized")
    annotations = segment["annotations"]
    assert annotations["outcome"] == "unauthorized"
    assert not {"tenant_id", "app_id", "session_id"} & set(annotations)
    # An audited 401 is the authorizer doing its job (docs/observability.md): no fault, no cause.
    assert "fault" not in segment and "cause" not in segment
    assert_no_secret(datagrams, event["headers"]["Authorization"].partition(" ")[2])


def test_crash_is_a_fault_but_its_message_never_reaches_the_trace(daemon):
    leaked = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNlY3JldA"
    error = ValueError(f"upstream rejected Bearer {leaked}")

    @observe
    def crashing(event, context):
        raise error

    with pytest.raises(ValueError) as raised:
        crashing({}, SimpleNamespace(aws_request_id="req-crash"))
    assert raised.value is error  # the caller (the Lambda runtime) still gets the exception
    datagrams = daemon.receive()
    (segment,) = subsegments_named([parse_datagram(d) for d in datagrams], "## crashing")
    assert segment.get("fault") is True
    assert_no_secret(datagrams, leaked)
    assert "upstream rejected" not in b"".join(datagrams).decode()


def test_session_id_annotation_is_the_keyed_hash(daemon, monkeypatch):
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "tenantkit-trace-test")

    @observe
    def bff_like(event, context):
        bind_identity(app_id="portal", tenant_id="acme", session_id="sess-raw-0001")
        emit_audit("session.continued", "allow", "session_valid")
        return {"statusCode": 200}

    bff_like({"requestContext": {"requestId": "req-sess"}}, SimpleNamespace(aws_request_id="req-sess-fn"))
    (segment,) = subsegments_named([parse_datagram(d) for d in daemon.receive()], "## bff_like")
    expected = "h1:" + hmac.new(os.environ["TENANTKIT_LOG_HASH_KEY"].encode(), b"sess-raw-0001",
                                hashlib.sha256).hexdigest()[:32]
    assert segment["annotations"]["session_id"] == expected
    assert segment["annotations"]["outcome"] == "allow"
    assert segment["annotations"]["Service"] == "tenantkit-trace-test"


@pytest.mark.parametrize(("env", "enabled"), [
    ({"_X_AMZN_TRACE_ID": TRACE_HEADER, "AWS_LAMBDA_FUNCTION_NAME": "fn"}, True),
    ({"_X_AMZN_TRACE_ID": TRACE_HEADER, "AWS_LAMBDA_FUNCTION_NAME": "fn", "POWERTOOLS_TRACE_DISABLED": "false"}, True),
    ({"_X_AMZN_TRACE_ID": TRACE_HEADER, "AWS_LAMBDA_FUNCTION_NAME": "fn", "POWERTOOLS_TRACE_DISABLED": "true"}, False),
    ({"_X_AMZN_TRACE_ID": TRACE_HEADER, "AWS_LAMBDA_FUNCTION_NAME": "fn", "POWERTOOLS_TRACE_DISABLED": " ON "}, False),
    ({"_X_AMZN_TRACE_ID": TRACE_HEADER, "AWS_LAMBDA_FUNCTION_NAME": "fn", "POWERTOOLS_TRACE_DISABLED": "1"}, False),
    ({"AWS_LAMBDA_FUNCTION_NAME": "fn"}, False),  # no trace header: not a traced Lambda invocation
    ({"_X_AMZN_TRACE_ID": TRACE_HEADER}, False),  # not in Lambda
    ({"_X_AMZN_TRACE_ID": "", "AWS_LAMBDA_FUNCTION_NAME": "fn"}, False),
])
def test_tracing_enabled_conditions(monkeypatch, env, enabled):
    for name in ("_X_AMZN_TRACE_ID", "AWS_LAMBDA_FUNCTION_NAME", "POWERTOOLS_TRACE_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert tracing_enabled() is enabled


SUBPROCESS = textwrap.dedent("""
    import json, os, sys
    from cryptography.hazmat.primitives.asymmetric import rsa
    from tenantkit_local.events import load_event, render
    from tenantkit_local.issuer import LocalIssuer
    from tenantkit_local.jwks_server import JwksServer
    from xray_capture import ROOT, TRACE_HEADER, function_runner

    issuer = LocalIssuer(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    event = render(load_event(ROOT / "events" / "authorizer" / "acme-user-v2.json"), issuer)
    seen = {}
    with JwksServer(issuer.jwks_bytes()) as server:
        runner = function_runner("AuthorizerFunction", OIDC_JWKS_URI=server.jwks_uri, TENANTKIT_TRACING="xray")
        runner.invoke(event)  # imports the handler module, then one invocation without a trace header
        seen["no_trace_header"] = "aws_xray_sdk" in sys.modules
        os.environ.update({"_X_AMZN_TRACE_ID": TRACE_HEADER, "POWERTOOLS_TRACE_DISABLED": "true",
                           "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:9"})
        runner.invoke(event)
        seen["trace_disabled"] = "aws_xray_sdk" in sys.modules
        del os.environ["POWERTOOLS_TRACE_DISABLED"]
        seen["allowed"] = runner.invoke(event).response["policyDocument"]["Statement"][0]["Effect"]
        seen["traced"] = "aws_xray_sdk" in sys.modules  # control: tracing on does load it
    print(json.dumps(seen))
""")


def test_xray_sdk_is_not_imported_while_tracing_is_off():
    env = {k: v for k, v in os.environ.items()
           if k not in ("_X_AMZN_TRACE_ID", "POWERTOOLS_TRACE_DISABLED", "AWS_LAMBDA_FUNCTION_NAME")}
    env.update(LAMBDA_TASK_ROOT="/var/task", PYTHONPATH=str(ROOT / "tests"))
    result = subprocess.run([sys.executable, "-c", SUBPROCESS], env=env, cwd=ROOT,  # noqa: S603 - our own script
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen == {"no_trace_header": False, "trace_disabled": False, "allowed": "Allow", "traced": True}
