"""AgentCore mode with botocore Stubber: parameters exactly as InvokeAgentRuntime expects."""

from __future__ import annotations

import io

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from support.bff import envelope
from tenantkit.bff.errors import UpstreamFailedError, UpstreamTimeoutError
from tenantkit.bff.outbound import AgentCoreUpstream, UpstreamRequest, baggage, identity_headers, traceparent

ARN = "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/support_agent-AbCdEf1234"
SESSION = "s_" + "k" * 43
ALICE = envelope()


@pytest.fixture
def client():
    return boto3.client("bedrock-agentcore", region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing")


def request(payload: bytes = b'{"prompt":"hello"}') -> UpstreamRequest:
    return UpstreamRequest(envelope=ALICE, session_id=SESSION, correlation_id="req-1", payload=payload)


def test_invoke_agent_runtime_parameters_and_response(client, monkeypatch):
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
    body = b'{"result":"hi","usage":{"input_tokens":11,"output_tokens":5}}'
    with Stubber(client) as stub:
        stub.add_response(
            "invoke_agent_runtime",
            {"runtimeSessionId": SESSION, "contentType": "application/json", "statusCode": 200,
             "response": StreamingBody(io.BytesIO(body), len(body))},
            expected_params={
                "agentRuntimeArn": ARN,
                "qualifier": "prod",
                "runtimeSessionId": SESSION,
                "runtimeUserId": ALICE.principal_id,
                "contentType": "application/json",
                "accept": "application/json",
                "payload": b'{"prompt":"hello"}',
                "traceParent": ANY,
                "baggage": "tenant_id=acme,app_id=portal",
            },
        )
        upstream = AgentCoreUpstream(ARN, qualifier="prod", client_factory=lambda: client)
        params = upstream.parameters(request())
        response = upstream.invoke(request())
        stub.assert_no_pending_responses()
    assert params["traceParent"].startswith("00-5759e988bd862e3fe1be46a994272793-")
    assert len(params["runtimeSessionId"]) >= 33
    assert response.status == 200 and response.body == body
    assert response.usage == {"input_tokens": 11, "output_tokens": 5}


def test_no_inbound_credentials_in_any_parameter(client):
    upstream = AgentCoreUpstream(ARN, client_factory=lambda: client)
    text = repr(upstream.parameters(request()))
    assert "Bearer" not in text and "Authorization" not in text and "Cookie" not in text
    assert "qualifier" not in upstream.parameters(request())


def test_client_error_is_502(client):
    with Stubber(client) as stub:
        stub.add_client_error("invoke_agent_runtime", service_error_code="ThrottlingException", http_status_code=429)
        with pytest.raises(UpstreamFailedError) as raised:
            AgentCoreUpstream(ARN, client_factory=lambda: client).invoke(request())
    assert raised.value.status == 502 and raised.value.reason == "upstream_agentcore_error"


def test_read_timeout_is_504():
    class TimingOutClient:
        def invoke_agent_runtime(self, **_: object) -> None:
            raise ReadTimeoutError(endpoint_url="https://bedrock-agentcore.us-east-1.amazonaws.com")

    with pytest.raises(UpstreamTimeoutError) as raised:
        AgentCoreUpstream(ARN, client_factory=TimingOutClient).invoke(request())
    assert raised.value.status == 504


def test_http_identity_headers_and_trace_context():
    headers = identity_headers(request())
    assert headers["X-Tenant-Id"] == "acme" and headers["X-Session-Id"] == SESSION
    assert headers["X-Principal-Id"] == ALICE.principal_id and headers["X-Correlation-Id"] == "req-1"
    assert headers["baggage"] == baggage(ALICE)
    assert not {"Authorization", "Cookie"} & set(headers)
    version, trace_id, span_id, flags = traceparent().split("-")
    assert (version, flags, len(trace_id), len(span_id)) == ("00", "01", 32, 16)
    assert traceparent("Root=1-5759e988-bd862e3fe1be46a994272793").split("-")[1] == "5759e988bd862e3fe1be46a994272793"
    assert traceparent("garbage").split("-")[1] != "garbage"
