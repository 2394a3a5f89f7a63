"""One request through the local stack, traced with OpenTelemetry: the OTLP/HTTP receiver on
127.0.0.1 decodes every exported protobuf payload (opentelemetry-proto) and the spans form one
trace gateway -> authorizer -> BFF -> DynamoDB + upstream, with exactly the contract's
attributes and no secret in any exported byte."""

from __future__ import annotations

import json
import time

import pytest

from support.tokens import rsa_key
from tenantkit.observability.contract import SPAN_ATTRIBUTES
from tenantkit_local.issuer import LocalIssuer
from tenantkit_local.otlp_receiver import read_spans
from tenantkit_local.stack import LocalStack, StackConfig
from tenantkit_local.traffic import TrafficDriver

pytestmark = pytest.mark.e2e

COOKIE_CANARY = "CANARY-COOKIE-5d1e7a"
CODE_CANARY = "CANARY-CODE-91b2c4"


@pytest.fixture(scope="module")
def traced_request(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("traced")
    config = StackConfig(gateway_port=0, issuer_port=0, audit_root=root / "audit", traces_root=root / "traces")
    with LocalStack(config, issuer=LocalIssuer(rsa_key(name="otel-issuer"))) as stack:
        driver = TrafficDriver(stack.url, stack.issuer)
        session_id = driver.session("open a session", "acme-user-v2")
        assert stack.receiver is not None and stack.gateway is not None
        stack.gateway._cache.clear()  # the next request runs the authorizer, as the first of a token does
        step = driver.call("one turn", "acme-user-v2", "POST", f"/v1/sessions/{session_id}/messages?code={CODE_CANARY}",
                           200, body={"text": "hello"}, headers={"Cookie": f"sid={COOKIE_CANARY}"})
        received = list(stack.services.agent.received)
        trace_id = {k.lower(): v for k, v in received[-1].headers.items()}["traceparent"].split("-")[1]
        # Exports are written before each invocation returns and decoded by the receiver as they land.
        for _ in range(500):
            spans = [s for s in stack.receiver.wait_for(0) if s["trace_id"] == trace_id]
            if len(spans) >= 5:
                break
            time.sleep(0.01)
        sink_spans = [s for s in stack.receiver.wait_for(0) if s["service"] == "tenantkit-audit-sink"]
        payloads = list(stack.receiver.payloads)
        credentials = stack.services.moto.environment()
    yield {"step": step, "spans": spans, "sink_spans": sink_spans, "payloads": payloads, "received": received,
           "session_id": session_id,
           "token": driver.token("acme-user-v2"), "store": config.traces_root / "spans.jsonl",
           "credentials": credentials}


def by_name(spans: list[dict]) -> dict[str, dict]:
    roles = {}
    for span in spans:
        if span["service"] == "apigateway":
            roles["gateway"] = span
        elif span["service"] == "tenantkit-authorizer":
            roles["authorizer"] = span
        elif span["name"].startswith("DynamoDB."):
            roles["dynamodb"] = span
        elif span["name"].startswith("invoke_agent"):
            roles["upstream"] = span
        elif span["service"] == "tenantkit-bff":
            roles["bff"] = span
    return roles


def test_the_request_is_one_trace_with_correct_parent_links(traced_request):
    assert traced_request["step"].ok, traced_request["step"].body
    spans = traced_request["spans"]
    assert len({s["trace_id"] for s in spans}) == 1
    roles = by_name(spans)
    assert sorted(roles) == ["authorizer", "bff", "dynamodb", "gateway", "upstream"]
    assert len(spans) == 5
    # the audit sink's deliveries are traces of their own (CloudWatch Logs invokes it, not the request)
    assert traced_request["sink_spans"]
    assert all(s["trace_id"] != spans[0]["trace_id"] for s in traced_request["sink_spans"])
    gateway = roles["gateway"]
    assert gateway["parent_span_id"] is None and gateway["kind"] == "server"
    assert roles["authorizer"]["parent_span_id"] == gateway["span_id"]
    assert roles["bff"]["parent_span_id"] == gateway["span_id"]
    assert roles["dynamodb"]["parent_span_id"] == roles["bff"]["span_id"]
    assert roles["upstream"]["parent_span_id"] == roles["bff"]["span_id"]
    assert [roles[r]["kind"] for r in ("authorizer", "bff", "dynamodb", "upstream")] == [
        "server", "server", "client", "client"]
    # children inside their parents in time
    for child, parent in (("authorizer", "gateway"), ("bff", "gateway"), ("dynamodb", "bff"), ("upstream", "bff")):
        outer, inner = roles[parent], roles[child]
        assert outer["start_ns"] <= inner["start_ns"] <= inner["end_ns"] <= outer["end_ns"]


def test_attributes_are_exactly_the_contract(traced_request):
    roles = by_name(traced_request["spans"])
    session_hash = roles["bff"]["attributes"]["session.id"]
    assert session_hash.startswith("h1:") and traced_request["session_id"] not in session_hash
    gateway = roles["gateway"]
    assert gateway["name"] == "POST /v1/{proxy+}"
    assert gateway["attributes"] == {"http.request.method": "POST", "http.route": "/v1/{proxy+}",
                                     "http.response.status_code": 200}
    authorizer = roles["authorizer"]["attributes"]
    assert set(authorizer) == set(SPAN_ATTRIBUTES["handler"]) - {"session.id", "error.type"}
    assert (authorizer["tenant.id"], authorizer["app.id"]) == ("acme", "portal")
    assert (authorizer["tenantkit.outcome"], authorizer["tenantkit.reason"]) == ("allow", "verified")
    assert authorizer["http.response.status_code"] == 200
    bff = roles["bff"]
    assert bff["name"] == "POST /v1/sessions/{session_id}/messages"
    assert set(bff["attributes"]) == set(SPAN_ATTRIBUTES["handler"]) - {"error.type"}
    assert bff["attributes"]["http.route"] == "/v1/sessions/{session_id}/messages"
    assert (bff["attributes"]["tenant.id"], bff["attributes"]["app.id"]) == ("acme", "portal")
    assert (bff["attributes"]["tenantkit.outcome"], bff["attributes"]["http.response.status_code"]) == ("success", 200)
    dynamodb = roles["dynamodb"]
    assert dynamodb["name"] == "DynamoDB.GetItem"
    assert set(dynamodb["attributes"]) == set(SPAN_ATTRIBUTES["aws_sdk"]) - {"error.type"}
    assert dynamodb["attributes"]["rpc.system"] == "aws-api"
    assert (dynamodb["attributes"]["rpc.service"], dynamodb["attributes"]["rpc.method"]) == ("DynamoDB", "GetItem")
    upstream = roles["upstream"]
    assert set(upstream["attributes"]) == set(SPAN_ATTRIBUTES["upstream"]) - {"error.type"}
    for span in traced_request["spans"]:
        assert span["status"] == "unset" and span["status_message"] == "" and span["events"] == []


def test_the_agent_gets_the_upstream_span_as_traceparent_and_baggage(traced_request):
    roles = by_name(traced_request["spans"])
    request = traced_request["received"][-1]
    headers = {k.lower(): v for k, v in request.headers.items()}
    upstream = roles["upstream"]
    assert headers["traceparent"] == f"00-{upstream['trace_id']}-{upstream['span_id']}-01"
    assert headers["baggage"] == "tenant_id=acme,app_id=portal"


def test_no_secret_in_any_exported_byte(traced_request):
    exported = b"".join(traced_request["payloads"])
    assert exported
    stored = traced_request["store"].read_bytes()
    token = traced_request["token"]
    secrets = [token, *[part for part in token.split(".") if len(part) > 16], COOKIE_CANARY, CODE_CANARY,
               "Bearer", traced_request["session_id"]]
    secrets += [v for k, v in traced_request["credentials"].items() if "SECRET" in k or "TOKEN" in k]
    for secret in secrets:
        assert secret.encode() not in exported, secret[:12]
        assert secret.encode() not in stored, secret[:12]
    for span in traced_request["spans"]:
        assert "?" not in json.dumps(span["attributes"].get("http.route", ""))


def test_spans_are_stored_under_the_state_dir(traced_request):
    stored = read_spans(traced_request["store"])
    ids = {s["span_id"] for s in stored}
    assert {s["span_id"] for s in traced_request["spans"]} <= ids


def test_tenantkit_traces_prints_the_request_span_tree(traced_request, capsys):
    from tenantkit_local.cli import main

    trace_id = traced_request["spans"][0]["trace_id"]
    assert main(["traces", "--last", "--store", str(traced_request["store"])]) == 0
    assert main(["traces", trace_id[:12], "--store", str(traced_request["store"])]) == 0
    both = capsys.readouterr().out.splitlines()
    tree = both[len(both) // 2:]
    assert both[: len(both) // 2] == tree  # --last is this request
    assert tree[0].startswith(f"trace {trace_id}")
    names = [line.strip().split("  [")[0] for line in tree[1:]]
    depths = [(len(line) - len(line.lstrip())) // 2 for line in tree[1:]]
    assert list(zip(names, depths, strict=True)) == [
        # the authorizer's route is the resource template (it never sees the concrete path)
        ("POST /v1/{proxy+}", 1), ("POST /v1/{proxy+}", 2),
        ("POST /v1/sessions/{session_id}/messages", 2), ("DynamoDB.GetItem", 3), ("invoke_agent default", 3),
    ]
    assert "[tenantkit-authorizer, server]" in tree[2] and "tenantkit.outcome=allow" in tree[2]


def test_the_dashboard_section_has_one_waterfall_per_request(traced_request):
    from tenantkit_local.trace_waterfall import request_traces, waterfall_section

    section = waterfall_section(traced_request["store"])
    traces = request_traces(traced_request["store"])
    assert section.count('class="panel waterfall"') == len(traces) >= 2  # the session creation and the turn
    assert traced_request["spans"][0]["trace_id"] in section
