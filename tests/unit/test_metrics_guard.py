"""CloudWatch metrics without tenant cardinality: identity fields are never EMF dimensions."""

from __future__ import annotations

import json

import pytest
from xray_capture import emf_lines, function_runner, json_lines, meter_each_decision, recorded_events

from support.fakes import StaticFetcher
from support.tokens import rsa_key
from tenantkit.jwks import cache as jwks_cache
from tenantkit.observability.contract import FORBIDDEN_METRIC_DIMENSIONS, METRIC_DIMENSIONS
from tenantkit.observability.metrics import ForbiddenDimensionError, emit_metric
from tenantkit_local.events import render
from tenantkit_local.issuer import LocalIssuer

IDENTITY_DIMENSIONS = ["tenant_id", "session_id", "principal_id", "correlation_id", "function_request_id"]


@pytest.fixture(autouse=True)
def _metrics_env(monkeypatch):
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "TenantkitTest")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "metrics-test")
    for name in ("POWERTOOLS_METRICS_DISABLED", "POWERTOOLS_DEV"):
        monkeypatch.delenv(name, raising=False)


def dimensions_of(line: dict) -> set[str]:
    directives = line["_aws"]["CloudWatchMetrics"]
    return {name for directive in directives for group in directive["Dimensions"] for name in group}


def test_identity_dimensions_are_the_forbidden_set():
    assert set(IDENTITY_DIMENSIONS) == FORBIDDEN_METRIC_DIMENSIONS
    assert not FORBIDDEN_METRIC_DIMENSIONS & METRIC_DIMENSIONS


@pytest.mark.parametrize("name", [*IDENTITY_DIMENSIONS, "tenant", "user_id", "Tenant_Id", "app", "session"])
@pytest.mark.parametrize("value", ["acme", None])
def test_forbidden_or_unknown_dimension_raises_and_prints_nothing(name, value, capsys):
    with pytest.raises(ForbiddenDimensionError):
        emit_metric("Requests", 1, "Count", outcome="allow", **{name: value})
    assert capsys.readouterr().out == ""


def test_allowed_dimensions_make_one_emf_line(capsys):
    emit_metric("AuthorizerDecision", 2, "Count", app_id="portal", route="GET /v1/me", outcome="deny")
    (line,) = [json.loads(text) for text in capsys.readouterr().out.splitlines()]
    (directive,) = line["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "TenantkitTest"
    assert dimensions_of(line) == {"service", "app_id", "route", "outcome"} <= METRIC_DIMENSIONS
    assert directive["Metrics"] == [{"Name": "AuthorizerDecision", "Unit": "Count"}]
    assert (line["service"], line["app_id"], line["outcome"], line["AuthorizerDecision"]) == (
        "metrics-test", "portal", "deny", [2.0])


def test_unset_optional_dimensions_are_left_out(capsys):
    emit_metric("Latency", 3.5, "Milliseconds", app_id=None, outcome="allow")
    (line,) = [json.loads(text) for text in capsys.readouterr().out.splitlines()]
    assert dimensions_of(line) == {"service", "outcome"}
    assert line["_aws"]["CloudWatchMetrics"][0]["Metrics"] == [{"Name": "Latency", "Unit": "Milliseconds"}]


def test_replayed_events_never_produce_an_identity_dimension(monkeypatch, capsys):
    """Every EMF line from replaying the recorded authorizer events (one metric per decision,
    emitted inside the invocation) plus direct calls: only contract dimensions, never identity."""
    issuer = LocalIssuer(rsa_key(name="metrics-issuer"))
    events = recorded_events("authorizer")
    # Unit tests open no sockets: the function's JWKS fetcher serves the issuer's keys in-process.
    fetcher = StaticFetcher(issuer.jwks_bytes())
    monkeypatch.setattr(jwks_cache, "UrllibFetcher", lambda **_: fetcher)
    runner = function_runner("AuthorizerFunction", OIDC_JWKS_URI="https://idp.invalid/common/discovery/v2.0/keys")
    meter_each_decision(runner, monkeypatch)
    outputs = list(runner.init_log_lines)
    for _, event in events:
        outputs += runner.invoke(render(event, issuer)).log_lines
    assert fetcher.calls >= 1
    for outcome in ("allow", "deny", "unauthorized"):
        emit_metric("Direct", 1, "Count", app_id="portal", outcome=outcome)
    outputs += capsys.readouterr().out.splitlines()

    lines = emf_lines(json_lines(outputs))
    assert len(lines) == len(events) + 3
    from_replay = lines[: len(events)]
    assert {line["_aws"]["CloudWatchMetrics"][0]["Namespace"] for line in from_replay} == {"Tenantkit"}  # template
    assert {line["outcome"] for line in from_replay} == {"allow", "deny", "unauthorized"}
    for line in lines:
        assert dimensions_of(line) <= METRIC_DIMENSIONS
        assert not (dimensions_of(line) | set(line)) & FORBIDDEN_METRIC_DIMENSIONS
        assert "acme" not in json.dumps(line) and "globex" not in json.dumps(line)  # tenant values either
