"""The OpenTelemetry adapter against a real OTLP/HTTP receiver on 127.0.0.1: context
continuation, sampling, exception hygiene, a broken collector, and the port switch."""

from __future__ import annotations

import socket

import pytest

from tenantkit.audit import emit_audit
from tenantkit.observability import bind_identity, otel, tracing
from tenantkit.observability.handler import observe
from tenantkit.observability.otel_export import ExportSettings
from tenantkit.observability.otlp_http import MAX_IN_FLIGHT
from tenantkit_local.otlp_receiver import OtlpReceiver
from tenantkit_local.runner import LocalLambdaContext

pytestmark = pytest.mark.integration

XRAY_ROOT = "1-5759e988-bd862e3fe1be46a994272793"
SECRET_TEXT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl Bearer abc cookie=CANARY-9a7"


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch):
    with OtlpReceiver() as server:
        use_endpoint(monkeypatch, server.endpoint)
        yield server
    otel.reset()


def use_endpoint(monkeypatch: pytest.MonkeyPatch, endpoint: str, timeout_ms: str = "2000") -> None:
    otel.reset()
    monkeypatch.setenv("TENANTKIT_TRACING", "otel")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", endpoint)
    monkeypatch.setenv("TENANTKIT_TRACING_FLUSH_TIMEOUT_MS", timeout_ms)
    monkeypatch.delenv("_X_AMZN_TRACE_ID", raising=False)


@observe
def handler(event: dict, context: object) -> dict:
    bind_identity(tenant_id="acme", app_id="portal")
    if event.get("raise"):
        raise ValueError(SECRET_TEXT)
    if event.get("deny"):
        emit_audit("authz.unauthorized", "unauthorized", "token_expired", route="GET /v1/me", status=401)
        raise Exception("Unauthorized")
    emit_audit("request.completed", "success", "http_200", route="GET /v1/users/u-123/profile", status=200)
    return {"statusCode": 200}


def invoke(event: dict) -> object:
    return handler(event, LocalLambdaContext(function_name="fn"))


def test_lambda_trace_header_is_continued(receiver, monkeypatch, capsys):
    monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={XRAY_ROOT};Parent=53995c3f42cd8ad8;Sampled=1")
    invoke({"headers": {"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01"}})
    (span,) = receiver.wait_for(1)
    assert span["trace_id"] == XRAY_ROOT[2:].replace("-", "")
    assert span["parent_span_id"] == "53995c3f42cd8ad8"
    # never the raw path: the one normalizer's template (tenantkit.paths)
    assert span["attributes"]["http.route"] == "/v1/principals/{principal_id}/{segment}"
    assert span["name"] == "GET /v1/principals/{principal_id}/{segment}"


@pytest.mark.parametrize("header", ["traceparent", "X-Amzn-Trace-Id"])
def test_event_headers_are_continued_without_a_lambda_header(receiver, capsys, header):
    value = ("00-" + "c" * 32 + "-" + "d" * 16 + "-01" if header == "traceparent"
             else f"Root=1-{'c' * 8}-{'c' * 24};Parent={'d' * 16};Sampled=1")
    invoke({"headers": {header: value}})
    (span,) = receiver.wait_for(1)
    assert (span["trace_id"], span["parent_span_id"]) == ("c" * 32, "d" * 16)


def test_unsampled_parent_exports_nothing(receiver, monkeypatch, capsys):
    monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={XRAY_ROOT};Parent=53995c3f42cd8ad8;Sampled=0")
    assert invoke({}) == {"statusCode": 200}
    assert receiver.requests == 0


def test_root_trace_ids_are_valid_xray_ids(receiver, capsys):
    invoke({})
    (span,) = receiver.wait_for(1)
    assert span["parent_span_id"] is None
    epoch = int(span["trace_id"][:8], 16)
    assert abs(epoch - int(span["start_ns"] / 1e9)) < 5  # X-Ray: the first 32 bits are the epoch seconds


def test_a_crash_is_recorded_as_a_type_without_its_text(receiver, capsys):
    with pytest.raises(ValueError):
        invoke({"raise": True})
    (span,) = receiver.wait_for(1)
    assert span["status"] == "error" and span["status_message"] == ""
    assert span["attributes"]["error.type"] == "ValueError"
    assert span["events"] == []
    exported = b"".join(receiver.payloads)
    for fragment in SECRET_TEXT.split():
        assert fragment.encode() not in exported


def test_an_audited_unauthorized_is_an_outcome_not_a_fault(receiver, capsys):
    with pytest.raises(Exception, match="Unauthorized"):
        invoke({"deny": True})
    (span,) = receiver.wait_for(1)
    assert span["status"] == "unset" and "error.type" not in span["attributes"]
    assert (span["attributes"]["tenantkit.outcome"], span["attributes"]["tenantkit.reason"]) == (
        "unauthorized", "token_expired")
    assert span["attributes"]["http.response.status_code"] == 401


def test_a_hanging_collector_costs_the_bound_then_the_request_goes_on(monkeypatch, capsys):
    with OtlpReceiver(behaviour="hang") as hanging:
        use_endpoint(monkeypatch, hanging.endpoint, timeout_ms="50")
        exporter = otel.pipeline("tenantkit").processor.exporter
        # Exports are written without waiting for answers until MAX_IN_FLIGHT are unanswered;
        # the next flush waits for the oldest answer until the deadline, then gives up.
        for _ in range(MAX_IN_FLIGHT):
            assert invoke({}) == {"statusCode": 200}
        assert exporter.failures == 0
        assert invoke({}) == {"statusCode": 200}
        assert (exporter.failures, exporter.last_error) == (1, "CollectorTimeoutError")  # the deadline fired
        assert invoke({}) == {"statusCode": 200}  # a fresh connection, written again
        assert exporter.settle(0.05) is False and exporter.failures == 2
    otel.reset()
    assert "span export failed (CollectorTimeoutError); spans dropped" in capsys.readouterr().err


@pytest.mark.parametrize("behaviour", ["refuse", "error"])
def test_a_refusing_or_failing_collector_never_fails_the_request(monkeypatch, capsys, behaviour):
    if behaviour == "refuse":
        with socket.socket() as probe:  # a port nobody listens on
            probe.bind(("127.0.0.1", 0))
            endpoint = f"http://127.0.0.1:{probe.getsockname()[1]}/v1/traces"
        use_endpoint(monkeypatch, endpoint)
        assert invoke({}) == {"statusCode": 200}
    else:
        with OtlpReceiver(behaviour="error") as failing:
            use_endpoint(monkeypatch, failing.endpoint)
            assert invoke({}) == {"statusCode": 200}
            otel.pipeline("tenantkit").processor.exporter.settle(1.0)  # the 503 is read
    exporter = otel.pipeline("tenantkit").processor.exporter
    assert exporter.failures == 1 and exporter.exported == 0
    otel.reset()
    out = capsys.readouterr()
    assert "span export failed" in out.err and "span export failed" not in out.out


@pytest.mark.parametrize(("value", "expected"), [
    ("otel", "otel"), ("OTel ", "otel"), ("xray", "xray"), ("off", "off"), ("", "xray"), ("jaeger", "off"),
])
def test_the_port_reads_tenantkit_tracing(monkeypatch, value, expected):
    monkeypatch.setenv("TENANTKIT_TRACING", value)
    assert tracing.backend() == expected


def test_switching_the_backend_changes_no_handler_code(receiver, monkeypatch, capsys):
    """The same decorated handler: traced by OTel, then untraced when off or when the X-Ray
    adapter has no Lambda trace header (its own tests cover it with a daemon)."""
    invoke({})
    assert len(receiver.wait_for(1)) == 1
    for value in ("off", "xray"):
        monkeypatch.setenv("TENANTKIT_TRACING", value)
        assert invoke({}) == {"statusCode": 200}
    monkeypatch.setenv("TENANTKIT_TRACING", "otel")
    invoke({})
    assert len(receiver.wait_for(2)) == 2 and receiver.requests == 2


def test_sigv4_is_chosen_for_the_xray_otlp_endpoint(monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "https://xray.eu-west-1.amazonaws.com/v1/traces")
    monkeypatch.delenv("TENANTKIT_OTLP_SIGV4", raising=False)
    assert ExportSettings.from_env().sigv4_region == "eu-west-1"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://localhost:4318/v1/traces")
    assert ExportSettings.from_env().sigv4_region is None
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318/")
    assert ExportSettings.from_env().endpoint == "http://127.0.0.1:4318/v1/traces"


def test_a_changed_endpoint_is_followed_without_a_reset(receiver, monkeypatch, capsys):
    """A warm module whose environment now names another collector (a restarted local stack)."""
    invoke({})
    with OtlpReceiver() as second:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", second.endpoint)
        invoke({})
        assert len(second.wait_for(1)) == 1
    assert len(receiver.wait_for(1)) == 1


def test_agentcore_calls_are_client_spans_under_the_upstream_span(receiver, monkeypatch, capsys):
    """AgentCore mode: the InvokeAgentRuntime call (botocore events, Stubber in place of AWS) is a
    child of the upstream span, and the agent is handed that upstream span as traceParent."""
    import io

    import boto3
    from botocore.response import StreamingBody
    from botocore.stub import ANY, Stubber

    from support.bff import envelope
    from tenantkit.bff.outbound import AgentCoreUpstream, UpstreamRequest
    from tenantkit.observability.spans import client_span, instrument_client

    arn = "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/support_agent-AbCdEf1234"
    client = instrument_client(boto3.client("bedrock-agentcore", region_name="us-east-1",
                                            aws_access_key_id="testing", aws_secret_access_key="testing"))
    body = b'{"result":"hi"}'
    sent: dict = {}

    @observe
    def bff(event: dict, context: object) -> dict:
        with client_span("invoke_agent support", {"gen_ai.operation.name": "invoke_agent"}):
            upstream = AgentCoreUpstream(arn, client_factory=lambda: client)
            request = UpstreamRequest(envelope=envelope(), session_id="s_" + "k" * 43, correlation_id="c-1",
                                      payload=b"{}")
            sent.update(upstream.parameters(request))
            upstream.invoke(request)
        return {"statusCode": 200}

    with Stubber(client) as stub:
        stub.add_response("invoke_agent_runtime", {"runtimeSessionId": "s_" + "k" * 43, "statusCode": 200,
                                                   "contentType": "application/json",
                                                   "response": StreamingBody(io.BytesIO(body), len(body))},
                          expected_params={k: ANY for k in ("agentRuntimeArn", "runtimeSessionId", "runtimeUserId",
                                                            "contentType", "accept", "payload", "traceParent",
                                                            "baggage")})
        bff({}, LocalLambdaContext(function_name="bff"))
    spans = {s["name"]: s for s in receiver.wait_for(3)}
    upstream, call = spans["invoke_agent support"], spans["BedrockAgentCore.InvokeAgentRuntime"]
    assert call["parent_span_id"] == upstream["span_id"] and call["kind"] == "client"
    assert call["attributes"]["rpc.method"] == "InvokeAgentRuntime" and call["attributes"]["rpc.system"] == "aws-api"
    assert sent["traceParent"] == f"00-{upstream['trace_id']}-{upstream['span_id']}-01"


def test_a_failed_aws_call_carries_its_error_code_and_no_message(receiver, capsys):
    import boto3
    from botocore.exceptions import ClientError
    from botocore.stub import Stubber

    from tenantkit.observability.spans import instrument_client

    client = instrument_client(boto3.client("dynamodb", region_name="eu-west-1", aws_access_key_id="testing",
                                            aws_secret_access_key="testing"))

    @observe
    def put(event: dict, context: object) -> dict:
        with pytest.raises(ClientError):
            client.put_item(TableName="sessions", Item={"pk": {"S": "SESSION#x"}})
        return {"statusCode": 200}

    with Stubber(client) as stub:
        stub.add_client_error("put_item", service_error_code="ConditionalCheckFailedException",
                              service_message=SECRET_TEXT, http_status_code=400)
        put({}, LocalLambdaContext(function_name="bff"))
    spans = {s["name"]: s for s in receiver.wait_for(2)}
    call = spans["DynamoDB.PutItem"]
    assert call["attributes"]["error.type"] == "ConditionalCheckFailedException"
    assert call["attributes"]["aws.dynamodb.table_names"] == ["sessions"]
    assert call["attributes"]["cloud.region"] == "eu-west-1"
    assert call["status"] == "error" and call["status_message"] == ""
    assert b"CANARY-9a7" not in b"".join(receiver.payloads)


def test_exports_to_the_xray_otlp_endpoint_are_sigv4_signed_for_xray(monkeypatch):
    from tenantkit.observability.otel_export import _sigv4

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLETESTONLY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-only-secret")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    headers = _sigv4("https://xray.eu-west-1.amazonaws.com/v1/traces", b"\x0a\x00",
                     {"Content-Type": "application/x-protobuf", "Content-Length": "2"}, "eu-west-1")
    assert "/eu-west-1/xray/aws4_request" in headers["Authorization"]
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLETESTONLY/")
    assert "X-Amz-Date" in headers and "test-only-secret" not in str(headers)


def test_an_unsampled_invocation_propagates_its_trace_as_not_sampled(receiver, monkeypatch, capsys):
    from tenantkit.observability.spans import current_traceparent

    seen: list = []

    @observe
    def upstream_caller(event: dict, context: object) -> dict:
        seen.append(current_traceparent())
        return {"statusCode": 200}

    monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={XRAY_ROOT};Parent=53995c3f42cd8ad8;Sampled=0")
    upstream_caller({}, LocalLambdaContext(function_name="fn"))
    version, trace_id, span_id, flags = seen[0].split("-")
    assert (version, trace_id, flags) == ("00", XRAY_ROOT[2:].replace("-", ""), "00")
    assert span_id != "53995c3f42cd8ad8" and len(span_id) == 16
    assert receiver.requests == 0
