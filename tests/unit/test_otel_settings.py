"""The OpenTelemetry adapter's export settings: part of the observability settings, strict at
init (a bad value names its variable), never silently clamped or replaced by a default."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantkit.authorizer import FailClosedAuthorizer, load_authorizer
from tenantkit.exceptions import ConfigurationError
from tenantkit.observability.otel_export import ExportSettings
from tenantkit.observability.settings import (
    OTLP_ENDPOINT,
    OTLP_SIGV4,
    OTLP_TRACES_ENDPOINT,
    TRACING_FLUSH_TIMEOUT_MS,
    TRACING_SAMPLE_RATIO,
    ObservabilitySettings,
    OtelSettings,
    observability_settings,
    reset_observability_settings,
)

BOUNDS = {TRACING_FLUSH_TIMEOUT_MS: (1.0, 2000.0), TRACING_SAMPLE_RATIO: (0.0, 1.0)}
ATTRIBUTE = {TRACING_FLUSH_TIMEOUT_MS: "flush_timeout_ms", TRACING_SAMPLE_RATIO: "sample_ratio"}
AUTHORIZER_ENV = json.loads((Path(__file__).resolve().parents[2] / "local" / "env.json").read_text())[
    "AuthorizerFunction"]
NUMBERS = st.one_of(st.text(max_size=8), st.floats(allow_nan=True, allow_infinity=True).map(repr),
                    st.integers(-10, 3000).map(str), st.sampled_from(["0.5", " 1 ", "1e3", "-0", "nan", "inf", "1,5"]))
URLS = st.one_of(st.text(max_size=30), st.sampled_from([
    "http://127.0.0.1:4318/v1/traces", "https://xray.eu-west-1.amazonaws.com/v1/traces", "ftp://host/x",
    "localhost:4318", "http://", "http://:4318/", "https://h:99999/", "http://h:port/", " http://h/ ", "//h/x"]))


def _number(raw: str, low: float, high: float) -> float | None:
    """The oracle: the value a number variable must take, or None when it must be refused."""
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if not math.isnan(value) and low <= value <= high else None


def _url_ok(raw: str) -> bool:
    try:
        parts = urlsplit(raw.strip())
        return parts.scheme in ("http", "https") and bool(parts.hostname) and (parts.port or 0) >= 0
    except ValueError:
        return False


@settings(max_examples=150, deadline=None)
@given(variable=st.sampled_from(sorted(BOUNDS)), raw=NUMBERS)
def test_a_number_outside_its_bounds_or_not_a_number_fails_naming_the_variable(variable, raw):
    raw = raw.replace("\x00", "")
    env = {variable: raw}
    if raw.strip() == "":
        assert getattr(ObservabilitySettings.from_env(env).otel, ATTRIBUTE[variable]) == getattr(
            OtelSettings(), ATTRIBUTE[variable])
        return
    expected = _number(raw, *BOUNDS[variable])
    if expected is None:
        with pytest.raises(ConfigurationError) as caught:
            ObservabilitySettings.from_env(env)
        assert caught.value.variable == variable
    else:
        assert getattr(ObservabilitySettings.from_env(env).otel, ATTRIBUTE[variable]) == expected


@settings(max_examples=150, deadline=None)
@given(variable=st.sampled_from([OTLP_TRACES_ENDPOINT, OTLP_ENDPOINT]), raw=URLS)
def test_an_endpoint_is_an_http_url_with_a_host_or_the_variable_is_named(variable, raw):
    raw = raw.replace("\x00", "")
    env = {variable: raw}
    if raw.strip() == "":
        assert ObservabilitySettings.from_env(env).otel.traces_endpoint == OtelSettings().traces_endpoint
    elif _url_ok(raw):
        endpoint = ObservabilitySettings.from_env(env).otel.traces_endpoint
        assert endpoint == (raw.strip() if variable == OTLP_TRACES_ENDPOINT else raw.strip().rstrip("/") + "/v1/traces")
    else:
        with pytest.raises(ConfigurationError) as caught:
            ObservabilitySettings.from_env(env)
        assert caught.value.variable == variable


@pytest.mark.parametrize(("raw", "host", "region"), [
    ("", "xray.eu-west-1.amazonaws.com", "eu-west-1"), ("false", "xray.eu-west-1.amazonaws.com", None),
    ("", "127.0.0.1:4318", None), ("Yes", "127.0.0.1:4318", "ap-south-1"), ("0", "127.0.0.1:4318", None),
])
def test_sigv4_is_a_boolean_or_automatic(monkeypatch, raw, host, region):
    monkeypatch.setenv("AWS_REGION", "ap-south-1")
    env = {OTLP_TRACES_ENDPOINT: f"https://{host}/v1/traces", OTLP_SIGV4: raw}
    assert ExportSettings.from_settings(OtelSettings.from_env(env)).sigv4_region == region


def test_an_unknown_sigv4_spelling_is_refused():
    with pytest.raises(ConfigurationError) as caught:
        OtelSettings.from_env({OTLP_SIGV4: "sometimes"})
    assert caught.value.variable == OTLP_SIGV4


@pytest.mark.parametrize(("variable", "value"), [(TRACING_SAMPLE_RATIO, "half"), (TRACING_FLUSH_TIMEOUT_MS, "0"),
                                                 (OTLP_TRACES_ENDPOINT, "collector:4318"), (OTLP_SIGV4, "maybe")])
def test_a_bad_export_setting_fails_the_authorizer_closed_at_init(variable, value):
    authorizer = load_authorizer({**AUTHORIZER_ENV, "OIDC_JWKS_URI": "https://idp.invalid/keys", variable: value})
    assert isinstance(authorizer, FailClosedAuthorizer)
    assert authorizer._error.variable == variable


def test_at_run_time_a_bad_export_setting_turns_tracing_off(monkeypatch):
    monkeypatch.setenv("TENANTKIT_TRACING", "otel")
    monkeypatch.setenv(TRACING_SAMPLE_RATIO, "2")
    assert observability_settings().tracing == "off"
    monkeypatch.setitem(os.environ, TRACING_SAMPLE_RATIO, "0.25")  # not announced (monkeypatch.setenv resets)
    assert observability_settings().tracing == "off"  # read once per process: a later change is not seen
    reset_observability_settings()  # ... until whoever changed the environment says so
    assert (observability_settings().tracing, observability_settings().otel.sample_ratio) == ("otel", 0.25)


def test_settings_are_read_once_not_per_invocation(monkeypatch):
    """The warm path never reads these variables: a handler invoked after a change still sees
    the settings of its init (a Lambda environment does not change; the local runner resets)."""
    from tenantkit.observability import begin_request, end_request

    monkeypatch.setenv("TENANTKIT_TRACING", "off")
    reset_observability_settings()
    first = observability_settings()
    monkeypatch.setitem(os.environ, "TENANTKIT_TRACING", "otel")  # not announced (monkeypatch.setenv resets)
    begin_request(None, correlation_id="c-1")
    try:
        assert observability_settings() is first
    finally:
        end_request()
    assert observability_settings() is first
    reset_observability_settings()
    assert observability_settings().tracing == "otel"
