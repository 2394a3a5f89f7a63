"""The CloudWatch ops dashboard in template.yaml: health per function, API and authorizer outcome,
never per tenant (tenant analytics are the Athena query packs)."""

from __future__ import annotations

import json
import re
from typing import Any

from tenantkit_local import PROJECT_ROOT
from tenantkit_local.template import load_template

FUNCTIONS = ("AuthorizerFunction", "BffProxyFunction", "AuditSinkFunction", "AuditCompactionFunction")


def dashboard() -> tuple[str, dict[str, Any]]:
    template = load_template(PROJECT_ROOT / "template.yaml")
    dashboards = [r for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Dashboard"]
    assert len(dashboards) == 1
    body = dashboards[0]["Properties"]["DashboardBody"]["Fn::Sub"]
    assert isinstance(body, str)
    return body, json.loads(re.sub(r"\$\{[^}]+\}", "X", body))


def metrics(parsed: dict[str, Any]) -> list[list[Any]]:
    return [m for w in parsed["widgets"] if w["type"] == "metric" for m in w["properties"]["metrics"]]


def test_lambda_errors_throttles_and_duration_for_every_function():
    body, parsed = dashboard()
    lines = metrics(parsed)
    for function in FUNCTIONS:
        assert "${" + function + "}" in body
    for name in ("Errors", "Throttles", "Duration"):
        assert sum(m[:2] == ["AWS/Lambda", name] for m in lines) >= len(FUNCTIONS)
    stats = {m[-1].get("stat") for m in lines if m[:2] == ["AWS/Lambda", "Duration"]}
    assert stats == {"p50", "p99"}


def test_api_gateway_errors_and_latency_and_authorizer_outcomes():
    _, parsed = dashboard()
    lines = metrics(parsed)
    assert {m[1] for m in lines if m[0] == "AWS/ApiGateway"} >= {"4XXError", "5XXError", "Latency"}
    outcomes = [m for m in lines if m[:2] == ["Tenantkit", "AuthorizerDecisions"]]
    assert {m[3] for m in outcomes} == {"allow", "deny", "unauthorized"}
    assert all(m[2] == "outcome" for m in outcomes), "the metric filter's only dimension"


def test_no_tenant_session_or_principal_dimension():
    body, parsed = dashboard()
    dimensions = {m[i] for m in metrics(parsed) for i in range(2, len(m) - 1, 2) if isinstance(m[i], str)}
    assert dimensions <= {"FunctionName", "ApiName", "Stage", "outcome"}
    for forbidden in ("tenant_id", "session_id", "principal_id", "tenant.id"):
        assert forbidden not in body
