"""Observability settings: read once through one object, strict at init, never coerced."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from support.bff import envelope, proxy_event
from tenantkit.audit.compaction import CompactionConfig
from tenantkit.audit.sink import AuditSink
from tenantkit.authorizer import FailClosedAuthorizer, load_authorizer
from tenantkit.bff import load_bff
from tenantkit.exceptions import ConfigurationError
from tenantkit.observability.pseudonym import SessionIdPolicy, reset_session_id_policy, session_id_policy
from tenantkit.observability.settings import (
    FALSE_VALUES,
    LOG_EVENT,
    SESSION_ID_LOGGING,
    SESSION_ID_LOGGING_MODES,
    TRACE_DISABLED,
    TRUE_VALUES,
    ObservabilitySettings,
    observability_settings,
)

CHOICES = {
    SESSION_ID_LOGGING: SESSION_ID_LOGGING_MODES,
    TRACE_DISABLED: TRUE_VALUES + FALSE_VALUES,
    LOG_EVENT: TRUE_VALUES + FALSE_VALUES,
}
COMPACTION_ENV = {"AUDIT_BUCKET": "audit-bucket", "ATHENA_WORKGROUP": "wg", "ATHENA_DATABASE": "db"}
AUTHORIZER_ENV = json.loads((Path(__file__).resolve().parents[2] / "local" / "env.json").read_text())[
    "AuthorizerFunction"]
BFF_ENV = {"UPSTREAM_MODE": "http", "UPSTREAM_URL": "http://127.0.0.1:9/", "SESSIONS_TABLE": "sessions"}


def _allowed(variable: str, value: str) -> bool:
    normalized = value.strip().lower()
    return normalized == "" or normalized in CHOICES[variable]


@settings(max_examples=150, deadline=None)
@given(variable=st.sampled_from(sorted(CHOICES)),
       value=st.one_of(st.text(max_size=12), st.sampled_from(["RAW", " hashed ", "Raw\t", "hash", "plain", "2",
                                                              "enabled", "TRUE", "yes please", "\u0131"])))
def test_any_value_outside_the_allowed_set_fails_at_init_naming_variable_and_choices(variable, value):
    if "\x00" in value:
        value = value.replace("\x00", "")
    env = {variable: value}
    if _allowed(variable, value):
        ObservabilitySettings.from_env(env)
        return
    with pytest.raises(ConfigurationError) as caught:
        ObservabilitySettings.from_env(env)
    assert caught.value.variable == variable
    assert all(choice in caught.value.problem for choice in CHOICES[variable])


@pytest.mark.parametrize(("value", "mode"), [(None, "hashed"), ("", "hashed"), ("  ", "hashed"), ("raw", "raw"),
                                             (" RAW ", "raw"), ("Hashed", "hashed")])
def test_session_id_logging_accepts_the_two_modes_in_any_case(value, mode):
    env = {} if value is None else {SESSION_ID_LOGGING: value}
    assert ObservabilitySettings.from_env(env).session_id_logging == mode


def test_defaults_when_nothing_is_set():
    assert ObservabilitySettings.from_env({}) == ObservabilitySettings(
        service_name="tenantkit", metrics_namespace="Tenantkit", trace_disabled=False, log_event=False,
        session_id_logging="hashed", log_hash_key=None)


def test_the_policy_refuses_an_unknown_mode():
    with pytest.raises(ConfigurationError) as caught:
        SessionIdPolicy("plain")
    assert caught.value.variable == SESSION_ID_LOGGING


def test_each_loader_fails_at_init_on_a_bad_session_id_logging_mode(authorizer_env, monkeypatch, capsys):
    bad = {SESSION_ID_LOGGING: "plaintext"}
    authorizer = load_authorizer({**authorizer_env, **bad})
    assert isinstance(authorizer, FailClosedAuthorizer)
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert any(record.get("variable") == SESSION_ID_LOGGING for record in logged)

    api = load_bff({**BFF_ENV, **bad})
    response = api.handle(proxy_event("POST", "/v1/sessions", envelope()), None)
    assert response["statusCode"] == 503

    with pytest.raises(ConfigurationError, match=SESSION_ID_LOGGING):
        CompactionConfig.from_env({**COMPACTION_ENV, **bad})
    monkeypatch.setenv(SESSION_ID_LOGGING, "plaintext")
    with pytest.raises(ConfigurationError, match=SESSION_ID_LOGGING):
        AuditSink.from_env()


def test_after_a_failed_init_the_runtime_falls_back_to_hashing_never_to_raw(monkeypatch):
    monkeypatch.setenv(SESSION_ID_LOGGING, "rawish")
    assert observability_settings().session_id_logging == "hashed"
    assert session_id_policy().apply("s_abc").startswith("h1:")
    monkeypatch.setenv(SESSION_ID_LOGGING, "raw")
    reset_session_id_policy()  # settings are read once per process: a changed environment is announced
    assert session_id_policy().apply("s_abc") == "s_abc"


@settings(max_examples=40, deadline=None)
@given(variable=st.sampled_from(sorted(CHOICES)), value=st.text(min_size=1, max_size=10))
def test_any_bad_value_makes_the_authorizer_fail_closed_at_init(variable, value):
    value = value.replace("\x00", "")
    if _allowed(variable, value):
        return
    env = {**AUTHORIZER_ENV, "OIDC_JWKS_URI": "https://idp.invalid/keys", variable: value}
    authorizer = load_authorizer(env)
    assert isinstance(authorizer, FailClosedAuthorizer)
    assert authorizer._error.variable == variable
