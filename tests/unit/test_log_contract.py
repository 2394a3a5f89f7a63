"""Log lines written during an @observe-wrapped invocation carry the contract fields, and the
request state never outlives its invocation (a warm container's next caller starts clean)."""

from __future__ import annotations

import copy
import json
from types import SimpleNamespace

import pytest

from support.tokens import entra_claims, sign
from tenantkit.observability import bind_identity, current_state, get_logger, state
from tenantkit.observability.contract import IDENTITY_LOG_FIELDS, LOG_FIELDS, REDACTED
from tenantkit.observability.handler import correlation_id_of, observe

SERVICE = "contract-test"


@pytest.fixture(autouse=True)
def _service(monkeypatch):
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", SERVICE)
    monkeypatch.delenv("POWERTOOLS_LOGGER_LOG_EVENT", raising=False)
    monkeypatch.delenv("_X_AMZN_TRACE_ID", raising=False)  # tracing off: these are log tests


def context(request_id: str = "lambda-req-1") -> SimpleNamespace:
    return SimpleNamespace(aws_request_id=request_id, function_name="contract-fn")


def lines(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_every_line_carries_every_contract_field(capsys):
    logger = get_logger()

    @observe
    def handler(event, ctx):
        logger.info("before identity")
        bind_identity(app_id="portal", tenant_id="acme", principal_id="tid-1:oid-1", session_id="sess-42")
        logger.warning("after identity", extra={"detail": 1})
        return "ok"

    assert handler({"requestContext": {"requestId": "apigw-req-1"}}, context()) == "ok"
    before, after = lines(capsys)
    for line in (before, after):
        assert set(LOG_FIELDS) <= set(line)
        assert (line["service"], line["function_request_id"], line["correlation_id"]) == (
            SERVICE, "lambda-req-1", "apigw-req-1")
        assert isinstance(line["cold_start"], bool)
    assert {k: before[k] for k in ("app_id", "tenant_id", "principal_id", "session_id")} == dict.fromkeys(
        ("app_id", "tenant_id", "principal_id", "session_id"))
    assert (after["app_id"], after["tenant_id"], after["principal_id"]) == ("portal", "acme", "tid-1:oid-1")
    assert after["session_id"].startswith("h1:") and "sess-42" not in json.dumps(after)
    assert after["detail"] == 1 and after["message"] == "after identity"


def test_lines_outside_an_invocation_still_carry_the_keys(capsys):
    get_logger().info("at init")
    (line,) = lines(capsys)
    assert set(LOG_FIELDS) <= set(line)
    assert all(line[k] is None for k in (*IDENTITY_LOG_FIELDS, "function_request_id", "cold_start"))


def test_cold_start_is_true_once_then_false(capsys, monkeypatch):
    @observe
    def handler(event, ctx):
        get_logger().info("tick")

    handler({}, context("r1"))
    handler({}, context("r2"))
    assert [line["cold_start"] for line in lines(capsys)][1] is False  # whatever the first saw
    monkeypatch.setitem(state._cold, "start", True)  # a fresh container
    for request_id in ("r3", "r4", "r5"):
        handler({}, context(request_id))
    assert [line["cold_start"] for line in lines(capsys)] == [True, False, False]


def test_state_is_cleared_after_return_and_after_raise(capsys):
    logger = get_logger()

    @observe
    def handler(event, ctx):
        if event.get("tenant"):
            bind_identity(tenant_id=event["tenant"], app_id="portal", session_id="s-1")
        logger.info("handling")
        if event.get("fail"):
            raise RuntimeError("boom")
        return current_state()

    seen = handler({"tenant": "acme"}, context("r1"))
    assert seen is not None and seen.identity["tenant_id"] == "acme"
    assert current_state() is None
    with pytest.raises(RuntimeError):
        handler({"tenant": "globex", "fail": True}, context("r2"))
    assert current_state() is None
    handler({}, context("r3"))  # the next caller, on the same warm container
    first, second, third = lines(capsys)
    assert (first["tenant_id"], second["tenant_id"]) == ("acme", "globex")
    assert (third["tenant_id"], third["app_id"], third["session_id"]) == (None, None, None)
    assert third["function_request_id"] == "r3" and third["correlation_id"] == "r3"
    get_logger().info("after the invocation")
    assert lines(capsys)[0]["tenant_id"] is None


def test_bind_identity_accepts_only_identity_fields():
    @observe
    def handler(event, ctx):
        bind_identity(role="admin")

    with pytest.raises(KeyError):
        handler({}, context())
    assert current_state() is None


@pytest.mark.parametrize(("event", "expected"), [
    ({"requestContext": {"requestId": "apigw-1"}}, "apigw-1"),
    ({"requestContext": {"requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"}}, "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"),
    ({"requestContext": {}}, "lambda-req-1"),
    ({"requestContext": {"requestId": None}}, "lambda-req-1"),
    ({"requestContext": {"requestId": "bad id with spaces"}}, "lambda-req-1"),
    ({"requestContext": {"requestId": "x" * 200}}, "lambda-req-1"),
    ({"requestContext": {"requestId": "apigw-1\n"}}, "lambda-req-1"),
    ({"requestContext": "not a dict"}, "lambda-req-1"),
    ([], "lambda-req-1"),
])
def test_correlation_id_source(event, expected, capsys):
    assert correlation_id_of(event, context()) == expected

    @observe
    def handler(event, ctx):
        get_logger().info("x")

    handler(event, context())
    assert lines(capsys)[0]["correlation_id"] == expected


def test_correlation_id_is_none_without_any_valid_id():
    assert correlation_id_of({}, None) is None
    assert correlation_id_of({}, SimpleNamespace(aws_request_id="has space")) is None


def test_log_event_redacts_authorization_and_cookie(monkeypatch, capsys):
    monkeypatch.setenv("POWERTOOLS_LOGGER_LOG_EVENT", "true")  # read when the handler is decorated
    token = sign(entra_claims())

    @observe
    def handler(event, ctx):
        return "ok"

    event = {
        "methodArn": "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/dev/GET/v1/me",
        "headers": {"Authorization": f"Bearer {token}", "Cookie": "portal_session=abc123", "Accept": "*/*"},
        "multiValueHeaders": {"authorization": [f"Bearer {token}"], "cookie": ["portal_session=abc123"]},
        "queryStringParameters": {"code": "auth-code-9", "view": "full"},
        "requestContext": {"requestId": "apigw-log-1"},
    }
    before = copy.deepcopy(event)
    handler(event, context())
    output = capsys.readouterr().out
    (line,) = [json.loads(text) for text in output.splitlines()]
    logged = line["message"]
    assert logged["methodArn"] == event["methodArn"] and logged["headers"]["Accept"] == "*/*"
    assert logged["headers"]["Authorization"] == logged["headers"]["Cookie"] == REDACTED
    assert logged["multiValueHeaders"] == {"authorization": REDACTED, "cookie": REDACTED}
    assert logged["queryStringParameters"] == {"code": REDACTED, "view": "full"}
    assert line["correlation_id"] == "apigw-log-1" and set(LOG_FIELDS) <= set(line)
    for secret in (token, *token.split("."), "portal_session=abc123", "auth-code-9"):
        assert secret not in output
    assert event == before  # the handler still gets the event as it came


@pytest.mark.parametrize("value", ["false", "", "0", "no"])
def test_events_are_not_logged_unless_asked(monkeypatch, capsys, value):
    monkeypatch.setenv("POWERTOOLS_LOGGER_LOG_EVENT", value)

    @observe
    def handler(event, ctx):
        return "ok"

    handler({"methodArn": "arn:x"}, context())
    assert capsys.readouterr().out == ""
