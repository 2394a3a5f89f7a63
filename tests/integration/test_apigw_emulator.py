"""The local API Gateway emulator behaves as a REST API where the stack depends on it: gateway
responses from the template, every value of repeated headers and query parameters, OPTIONS and
HEAD reaching ANY, unknown routes, and the authorizer event's resource template."""

from __future__ import annotations

import base64
import http.client
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tenantkit_local import PROJECT_ROOT
from tenantkit_local.apigw import LocalApiGateway
from tenantkit_local.runner import Invocation

pytestmark = pytest.mark.integration
TEMPLATE = PROJECT_ROOT / "template.yaml"


class FakeFunction:
    """Records events; answers with ``behaviour(event)`` (a response, or an exception to raise)."""

    def __init__(self, name: str, behaviour: Callable[[dict[str, Any]], Any]) -> None:
        self.name, self.behaviour, self.events = name, behaviour, []

    def invoke(self, event: dict[str, Any], environ: dict[str, str] | None = None) -> Invocation:
        self.events.append(event)
        try:
            return Invocation(self.name, self.behaviour(event), None, None, [], 0.0)
        except Exception as error:
            return Invocation(self.name, None, type(error).__name__, str(error), [], 0.0)


def allow(event: dict[str, Any]) -> dict[str, Any]:
    token = event["headers"].get("Authorization", "")
    if token == "Bearer deny":
        effect, context = "Deny", {"reason": "tenant_not_onboarded"}
    elif token == "Bearer crash":
        raise RuntimeError("boom")
    elif token != "Bearer ok":
        raise Exception("Unauthorized")
    else:
        effect, context = "Allow", {"tenant_id": "acme"}
    arn = event["methodArn"].rsplit("/", 2)[0] + "/*"
    return {"principalId": "p", "policyDocument": {"Version": "2012-10-17", "Statement": [
        {"Action": "execute-api:Invoke", "Effect": effect, "Resource": arn}]}, "context": context}


def bff(event: dict[str, Any]) -> dict[str, Any]:
    if event["path"].endswith("/crash"):
        raise RuntimeError("handler bug")
    return {"statusCode": 200, "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
            "body": json.dumps({"method": event["httpMethod"]})}


@pytest.fixture
def gateway_factory():
    started: list[LocalApiGateway] = []

    def start(template: Path = TEMPLATE) -> tuple[LocalApiGateway, FakeFunction, FakeFunction]:
        authorizer, proxy = FakeFunction("AuthorizerFunction", allow), FakeFunction("BffProxyFunction", bff)
        gateway = LocalApiGateway(template, {"AuthorizerFunction": authorizer, "BffProxyFunction": proxy}).start()
        started.append(gateway)
        return gateway, authorizer, proxy

    yield start
    for gateway in started:
        gateway.stop()


def send(gateway: LocalApiGateway, method: str, path: str, headers: list[tuple[str, str]] = (),
         body: bytes = b"") -> tuple[int, list[tuple[str, str]], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
    connection.putrequest(method, path, skip_accept_encoding=True)
    for name, value in headers:
        connection.putheader(name, value)
    connection.putheader("Content-Length", str(len(body)))
    connection.endheaders(body)
    response = connection.getresponse()
    result = response.status, response.getheaders(), response.read()
    connection.close()
    return result


AUTH = [("Authorization", "Bearer ok")]


def test_repeated_headers_and_query_parameters_carry_every_value(gateway_factory):
    gateway, authorizer, proxy = gateway_factory()
    status, _, _ = send(gateway, "GET", "/v1/me?tenant=globex&tenant=acme&x=1",
                        [*AUTH, ("X-Tenant-Id", "globex"), ("x-tenant-id", "acme")])
    assert status == 200
    for event in (authorizer.events[0], proxy.events[0]):
        assert event["multiValueHeaders"]["X-Tenant-Id"] == ["globex", "acme"]
        assert event["headers"]["X-Tenant-Id"] == "acme"  # the last value, as REST APIs do
        assert event["multiValueQueryStringParameters"]["tenant"] == ["globex", "acme"]
        assert event["queryStringParameters"] == {"tenant": "acme", "x": "1"}


def test_the_authorizer_event_resource_is_the_template_not_the_path(gateway_factory):
    gateway, authorizer, proxy = gateway_factory()
    send(gateway, "POST", "/v1/sessions/s_abc/messages", AUTH)
    event = authorizer.events[0]
    assert event["resource"] == "/v1/{proxy+}" and event["path"] == "/v1/sessions/s_abc/messages"
    assert event["type"] == "REQUEST" and event["methodArn"].endswith("/POST/v1/sessions/s_abc/messages")
    assert proxy.events[0]["resource"] == "/v1/{proxy+}"


@pytest.mark.parametrize("method", ["OPTIONS", "HEAD", "PATCH", "PUT", "DELETE"])
def test_every_method_reaches_the_any_proxy(gateway_factory, method):
    gateway, _, proxy = gateway_factory()
    status, headers, body = send(gateway, method, "/v1/me", AUTH)
    assert status == 200 and proxy.events[0]["httpMethod"] == method
    assert [v for k, v in headers if k == "Set-Cookie"] == ["a=1", "b=2"]
    assert body == (b"" if method == "HEAD" else json.dumps({"method": method}).encode())


@pytest.mark.parametrize(("method", "path"), [("GET", "/v2/me"), ("GET", "/"), ("GET", "/V1/me"),
                                              ("POST", "/v1/whoami"), ("GET", "/v1")])
def test_unknown_resource_or_method_is_403_missing_authentication_token(gateway_factory, method, path):
    gateway, authorizer, proxy = gateway_factory()
    status, _, body = send(gateway, method, path, AUTH)
    assert (status, json.loads(body)) == (403, {"message": "Missing Authentication Token"})
    assert authorizer.events == [] and proxy.events == []


def test_deny_is_403_without_a_reason(gateway_factory):
    gateway, _, _ = gateway_factory()
    status, headers, body = send(gateway, "GET", "/v1/me", [("Authorization", "Bearer deny")])
    problem = json.loads(body)
    assert status == 403 and set(problem) == {"title", "status", "correlation_id"}
    assert "tenant_not_onboarded" not in body.decode()
    assert ("Content-Type", "application/problem+json") in headers


@pytest.mark.parametrize(("token", "status"), [("Bearer nope", 401), ("Bearer crash", 500), (None, 401)])
def test_authorizer_failures(gateway_factory, token, status):
    gateway, _, proxy = gateway_factory()
    got, _, _ = send(gateway, "GET", "/v1/me", [("Authorization", token)] if token else [])
    assert got == status and proxy.events == []


def test_gateway_responses_are_read_from_the_template(gateway_factory, tmp_path):
    text = TEMPLATE.read_text()
    marker = "        x-amazon-apigateway-gateway-responses:\n"
    assert marker in text and text.count("statusCode: 401") == 1 and "          DEFAULT_5XX:\n" in text
    text = text.replace(marker, marker + """\
          MISSING_AUTHENTICATION_TOKEN:
            statusCode: 404
            responseParameters:
              gatewayresponse.header.X-Custom: "'yes'"
            responseTemplates:
              application/json: '{"message": $context.error.messageString}'
""").replace("statusCode: 401", "statusCode: 499").replace(
        "          DEFAULT_5XX:\n", "          DEFAULT_5XX:\n            statusCode: 503\n")
    copy = tmp_path / "template.yaml"
    copy.write_text(text)
    gateway, _, _ = gateway_factory(copy)
    status, _, body = send(gateway, "GET", "/v1/me", [("Authorization", "Bearer nope")])
    assert status == 499 and json.loads(body)["title"] == "Unauthorized"
    status, headers, body = send(gateway, "GET", "/nowhere", AUTH)
    assert (status, json.loads(body)) == (404, {"message": "Missing Authentication Token"})
    assert ("X-Custom", "yes") in headers
    status, _, body = send(gateway, "GET", "/v1/crash", AUTH)
    assert status == 503 and json.loads(body)["title"] == "Server error"


def test_a_non_utf8_body_reaches_the_function_as_exact_bytes(gateway_factory):
    gateway, _, proxy = gateway_factory()
    send(gateway, "POST", "/v1/me", [*AUTH, ("Content-Type", "application/json")], b'{"t": "\xff"}')
    event = proxy.events[0]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b'{"t": "\xff"}'
