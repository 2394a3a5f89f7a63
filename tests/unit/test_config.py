"""AuthorizerConfig.from_env: security settings have no defaults, tuning knobs are bounded."""

from __future__ import annotations

import pytest

from support.tokens import API_AUDIENCE
from tenantkit.config import AuthorizerConfig, JwksSettings
from tenantkit.exceptions import ConfigurationError

REQUIRED = ("OIDC_ISSUER", "OIDC_JWKS_URI", "OIDC_AUDIENCE", "TENANT_REGISTRY")
REGISTRY = '{"tenants": {}, "apps": {}}'


def _env(**overrides: str | None) -> dict[str, str]:
    env = {
        "OIDC_ISSUER": "https://login.microsoftonline.com/{tenantid}/v2.0",
        "OIDC_JWKS_URI": "https://login.microsoftonline.com/common/discovery/v2.0/keys",
        "OIDC_AUDIENCE": API_AUDIENCE,
        "TENANT_REGISTRY": REGISTRY,
    }
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def _error(env: dict[str, str]) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as caught:
        AuthorizerConfig.from_env(env)
    return caught.value


def test_minimal_environment_loads_with_safe_defaults():
    config = AuthorizerConfig.from_env(_env())
    assert config.issuers == ("https://login.microsoftonline.com/{tenantid}/v2.0",)
    assert config.jwks_uri == "https://login.microsoftonline.com/common/discovery/v2.0/keys"
    assert config.audiences == (API_AUDIENCE,)
    assert config.tenant_registry == REGISTRY
    assert config.algorithms == ("RS256",)
    assert config.clock_leeway_seconds == 60
    assert config.max_token_bytes == 8192
    assert config.registry_cache_seconds == 300
    assert config.jwks.fetch_timeout_seconds == 1.5
    assert config.jwks.min_refetch_interval_seconds == 10
    assert config.jwks.refresh_after_seconds == 3600
    assert config.jwks.stale_max_seconds == 86400
    assert config.jwks.max_document_bytes == 256 * 1024
    assert config.jwks == JwksSettings()


def test_from_env_reads_os_environ_when_no_mapping_is_given(monkeypatch):
    for name, value in _env(OIDC_CLOCK_LEEWAY_SECONDS="30").items():
        monkeypatch.setenv(name, value)
    config = AuthorizerConfig.from_env()
    assert config.clock_leeway_seconds == 30
    assert config.audiences == (API_AUDIENCE,)


@pytest.mark.parametrize("variable", REQUIRED)
@pytest.mark.parametrize("value", [None, "", "   "], ids=["missing", "empty", "blank"])
def test_each_required_variable_missing_names_it(variable, value):
    error = _error(_env(**{variable: value}))
    assert error.variable == variable
    assert variable in str(error)
    assert error.reason == "configuration_invalid"


def test_no_required_variable_at_all_is_an_error():
    with pytest.raises(ConfigurationError) as caught:
        AuthorizerConfig.from_env({})
    assert caught.value.variable in REQUIRED


@pytest.mark.parametrize(
    "uri",
    ["ftp://idp.example/keys", "file:///etc/keys.json", "javascript:alert(1)", "idp.example/keys",
     "//idp.example/keys", "https://", "http:///keys", "data:application/json,{}", "gopher://idp/keys",
     # plain http to anything but a loopback literal: keys fetched in clear text could be swapped
     "http://idp.example/keys", "http://login.microsoftonline.com/common/discovery/v2.0/keys",
     "http://10.0.0.5/keys", "http://0.0.0.0:18080/keys", "http://127.0.0.1.nip.io/keys",
     "http://127.0.0.1@idp.example/keys", "http://localhost.idp.example/keys", "HTTP://idp.example/keys",
     "https://user:pass@idp.example/keys", "https://idp.example:99999/keys", "https://idp.example:x/keys"],
)
def test_jwks_uri_must_be_https_or_loopback_http(uri):
    error = _error(_env(OIDC_JWKS_URI=uri))
    assert error.variable == "OIDC_JWKS_URI"
    assert isinstance(error, ConfigurationError) and error.reason == "configuration_invalid"


@pytest.mark.parametrize("uri", ["http://127.0.0.1:18080/common/discovery/v2.0/keys", "https://idp.example/keys",
                                 "http://localhost:18080/keys", "http://[::1]:18080/keys", "http://127.0.0.2/keys",
                                 "HTTPS://IDP.example/keys"])
def test_https_and_loopback_http_jwks_uris_are_accepted(uri):
    assert AuthorizerConfig.from_env(_env(OIDC_JWKS_URI=uri)).jwks_uri == uri


@pytest.mark.parametrize(
    "issuer",
    [
        "https://login.microsoftonline.com/{tenantid}/{tenantid}/v2.0",
        "https://login.microsoftonline.com/{tenant}/v2.0",
        "https://login.microsoftonline.com/{tid}/v2.0",
        "https://login.microsoftonline.com/{tenantid}/v2.0/{other}",
        "https://login.microsoftonline.com/{TENANTID}/v2.0",
        "https://login.microsoftonline.com/{tenantid/v2.0",
        "https://login.microsoftonline.com/{}/v2.0",
        "login.microsoftonline.com/{tenantid}/v2.0",
        "ftp://login.microsoftonline.com/{tenantid}/v2.0",
    ],
)
def test_bad_issuer_templates_are_rejected(issuer):
    assert _error(_env(OIDC_ISSUER=issuer)).variable == "OIDC_ISSUER"


def test_bad_template_anywhere_in_an_issuer_list_is_rejected():
    good = "https://login.microsoftonline.com/{tenantid}/v2.0"
    assert _error(_env(OIDC_ISSUER=f"{good},https://sts.windows.net/{{tid}}/")).variable == "OIDC_ISSUER"


def test_exact_issuers_and_templates_mix():
    raw = "https://login.microsoftonline.com/{tenantid}/v2.0, https://sts.windows.net/{tenantid}/,https://issuer.example"
    config = AuthorizerConfig.from_env(_env(OIDC_ISSUER=raw))
    assert config.issuers == (
        "https://login.microsoftonline.com/{tenantid}/v2.0",
        "https://sts.windows.net/{tenantid}/",
        "https://issuer.example",
    )


@pytest.mark.parametrize("variable", ["OIDC_ISSUER", "OIDC_AUDIENCE", "OIDC_ALGORITHMS"])
@pytest.mark.parametrize("suffix", [",", ", ", ",,x"], ids=["trailing-comma", "trailing-blank", "double-comma"])
def test_empty_list_entries_are_rejected(variable, suffix):
    base = _env(OIDC_ALGORITHMS="RS256")[variable]
    assert _error(_env(**{variable: base + suffix})).variable == variable


@pytest.mark.parametrize("audience", [",aud", " , ", "aud,,other"])
def test_empty_audience_entries_are_rejected(audience):
    assert _error(_env(OIDC_AUDIENCE=audience)).variable == "OIDC_AUDIENCE"


def test_audiences_are_split_and_stripped():
    config = AuthorizerConfig.from_env(_env(OIDC_AUDIENCE=f" {API_AUDIENCE} , api://tenantkit "))
    assert config.audiences == (API_AUDIENCE, "api://tenantkit")


@pytest.mark.parametrize(
    "registry",
    ["ssm:", "yaml: tenants", "[]", '["tenants"]', "tenants=acme", "s3://bucket/registry.json", "SSM:/x", "null",
     '{"tenants": {}}', '{"tenants": {"t": {"tenant_id": "acme"}}, "apps": {"c": {}}}', "{not json"],
)
def test_tenant_registry_must_be_json_or_ssm(registry):
    assert _error(_env(TENANT_REGISTRY=registry)).variable == "TENANT_REGISTRY"


@pytest.mark.parametrize("registry", ["ssm:/tenantkit/prod/registry", "ssm:registry", REGISTRY,
                                      '  {"tenants": {}, "apps": {}}'])
def test_tenant_registry_json_or_ssm_is_accepted(registry):
    assert AuthorizerConfig.from_env(_env(TENANT_REGISTRY=registry)).tenant_registry == registry.strip()


@pytest.mark.parametrize(
    "algorithms",
    ["HS256", "none", "None", "RS256,HS256", "RS256,none", "ES256,HS512", "rs256", "PS256", "RS384", "EdDSA"],
)
def test_unsafe_or_unsupported_algorithms_are_rejected(algorithms):
    assert _error(_env(OIDC_ALGORITHMS=algorithms)).variable == "OIDC_ALGORITHMS"


def test_supported_algorithms_are_accepted():
    assert AuthorizerConfig.from_env(_env(OIDC_ALGORITHMS="RS256, ES256")).algorithms == ("RS256", "ES256")
    assert AuthorizerConfig.from_env(_env(OIDC_ALGORITHMS="ES256")).algorithms == ("ES256",)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("JWKS_FETCH_TIMEOUT_SECONDS", "1.51"),
        ("JWKS_FETCH_TIMEOUT_SECONDS", "30"),
        ("JWKS_FETCH_TIMEOUT_SECONDS", "0"),
        ("JWKS_FETCH_TIMEOUT_SECONDS", "-1"),
        ("JWKS_MIN_REFETCH_SECONDS", "0"),
        ("JWKS_MIN_REFETCH_SECONDS", "0.5"),
        ("JWKS_REFRESH_AFTER_SECONDS", "59"),
        ("JWKS_STALE_MAX_SECONDS", "604801"),
        ("OIDC_CLOCK_LEEWAY_SECONDS", "301"),
        ("OIDC_CLOCK_LEEWAY_SECONDS", "-1"),
        ("OIDC_CLOCK_LEEWAY_SECONDS", "3600"),
        ("TOKEN_MAX_BYTES", "100"),
        ("TOKEN_MAX_BYTES", "1000000"),
        ("TENANT_REGISTRY_CACHE_SECONDS", "-5"),
    ],
)
def test_numbers_out_of_bounds_are_rejected(variable, value):
    error = _error(_env(**{variable: value}))
    assert error.variable == variable
    assert "between" in error.problem


@pytest.mark.parametrize(
    "variable",
    ["JWKS_FETCH_TIMEOUT_SECONDS", "JWKS_MIN_REFETCH_SECONDS", "OIDC_CLOCK_LEEWAY_SECONDS", "TOKEN_MAX_BYTES",
     "TENANT_REGISTRY_CACHE_SECONDS", "JWKS_STALE_MAX_SECONDS"],
)
@pytest.mark.parametrize("value", ["abc", "1s", "nan", "inf", "-inf", "1,5", "0x10"])
def test_non_numeric_or_non_finite_values_are_rejected(variable, value):
    assert _error(_env(**{variable: value})).variable == variable


def test_numbers_within_bounds_are_used():
    config = AuthorizerConfig.from_env(_env(
        JWKS_FETCH_TIMEOUT_SECONDS="1.5",
        JWKS_MIN_REFETCH_SECONDS="30",
        JWKS_REFRESH_AFTER_SECONDS="600",
        JWKS_STALE_MAX_SECONDS="7200",
        OIDC_CLOCK_LEEWAY_SECONDS="300",
        TOKEN_MAX_BYTES="16384",
        TENANT_REGISTRY_CACHE_SECONDS="0",
    ))
    assert config.jwks == JwksSettings(fetch_timeout_seconds=1.5, min_refetch_interval_seconds=30,
                                       refresh_after_seconds=600, stale_max_seconds=7200)
    assert config.clock_leeway_seconds == 300
    assert config.max_token_bytes == 16384
    assert config.registry_cache_seconds == 0


@pytest.mark.parametrize("value", ["", "  "])
def test_blank_tuning_knob_means_default(value):
    config = AuthorizerConfig.from_env(_env(OIDC_CLOCK_LEEWAY_SECONDS=value, JWKS_FETCH_TIMEOUT_SECONDS=value))
    assert config.clock_leeway_seconds == 60
    assert config.jwks.fetch_timeout_seconds == 1.5


def test_config_is_immutable():
    config = AuthorizerConfig.from_env(_env())
    with pytest.raises(AttributeError):
        config.algorithms = ("HS256",)  # type: ignore[misc]


def test_stale_limit_shorter_than_refresh_interval_is_rejected():
    from tenantkit.config import AuthorizerConfig
    from tenantkit.exceptions import ConfigurationError

    env = {"OIDC_ISSUER": "https://login.microsoftonline.com/{tenantid}/v2.0", "OIDC_JWKS_URI": "https://idp/keys",
           "OIDC_AUDIENCE": "api://x", "TENANT_REGISTRY": '{"tenants": {}, "apps": {}}',
           "JWKS_REFRESH_AFTER_SECONDS": "3600", "JWKS_STALE_MAX_SECONDS": "600"}
    with pytest.raises(ConfigurationError) as raised:
        AuthorizerConfig.from_env(env)
    assert raised.value.variable == "JWKS_STALE_MAX_SECONDS"


def test_invalid_inline_registry_is_a_configuration_error_naming_the_variable():
    from tenantkit.config import AuthorizerConfig
    from tenantkit.exceptions import ConfigurationError

    env = {"OIDC_ISSUER": "https://login.microsoftonline.com/{tenantid}/v2.0", "OIDC_JWKS_URI": "https://idp/keys",
           "OIDC_AUDIENCE": "api://x", "TENANT_REGISTRY": '{"tenants": {"t": {"tenant_id": "has space"}}, "apps": {}}'}
    with pytest.raises(ConfigurationError) as raised:
        AuthorizerConfig.from_env(env)
    assert raised.value.variable == "TENANT_REGISTRY"
