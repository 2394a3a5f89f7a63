"""The tenant registry from SSM Parameter Store (a SecureString) through the default Powertools
reader, against a moto server started here on 127.0.0.1; then the authorizer on top of it."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS
from loopback import function_env

from support.tokens import ACME_TID, GLOBEX_TID, authorizer_event, entra_claims, sign
from tenantkit.authorizer import RequestAuthorizer, load_authorizer
from tenantkit.exceptions import RegistryError
from tenantkit.registry import RegistryProvider
from tenantkit_local.cloud import FAKE_CREDENTIALS, MotoServer

pytestmark = pytest.mark.integration

PARAMETER = "/tenantkit/test/registry"
SOURCE = f"ssm:{PARAMETER}"
REGISTRY = json.loads(function_env()["TENANT_REGISTRY"])


@pytest.fixture(scope="module")
def moto_server(thread_guard: None) -> Iterator[MotoServer]:
    server = MotoServer().start()  # ThreadedMotoServer on 127.0.0.1, ephemeral port
    assert server.endpoint.startswith("http://127.0.0.1:")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def ssm_client(moto_server: MotoServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Points boto3 (and so Powertools) at moto through the environment only, with fake credentials."""
    empty = tmp_path_factory.mktemp("aws")
    with pytest.MonkeyPatch.context() as env:
        for name, value in FAKE_CREDENTIALS.items():
            env.setenv(name, value)
        env.setenv("AWS_ENDPOINT_URL_SSM", moto_server.endpoint)
        env.setenv("AWS_CONFIG_FILE", str(empty / "config"))
        env.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty / "credentials"))
        for name in ("AWS_PROFILE", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_ENDPOINT_URL",
                     "POWERTOOLS_PARAMETERS_MAX_AGE"):
            env.delenv(name, raising=False)
        parameters.clear_caches()  # the default provider is process-wide: drop any built for another endpoint
        yield moto_server.client("ssm")
        parameters.clear_caches()  # and never leave one pointing at this (stopped) server


@pytest.fixture
def ssm(ssm_client: Any) -> Iterator[Any]:
    """A clean slate per test: no parameter, no cached value in the Powertools provider."""
    yield ssm_client
    provider = DEFAULT_PROVIDERS.get("ssm")
    if provider is not None:
        provider.clear_cache()
    with contextlib.suppress(ssm_client.exceptions.ParameterNotFound):
        ssm_client.delete_parameter(Name=PARAMETER)


def _put(client: Any, registry: dict[str, Any]) -> None:
    client.put_parameter(Name=PARAMETER, Value=json.dumps(registry), Type="SecureString", Overwrite=True)


def test_registry_loads_from_a_secure_string_parameter(ssm):
    _put(ssm, REGISTRY)
    stored = ssm.get_parameter(Name=PARAMETER)["Parameter"]
    assert stored["Type"] == "SecureString"
    assert stored["Value"] != json.dumps(REGISTRY)  # encrypted at rest: the reader must decrypt

    provider = RegistryProvider(SOURCE)  # default reader: Powertools get_parameter(decrypt=True)
    registry = provider.get()
    assert registry.tenants[ACME_TID].tenant_id == "acme"
    assert registry.tenants[GLOBEX_TID].tenant_id == "globex"
    assert {app.app_id for app in registry.apps.values()} == {"portal", "agent-console", "billing-worker"}
    assert provider.get() is registry  # cached by Powertools, same text: not re-parsed


def test_update_is_picked_up_once_the_cache_expires(ssm):
    _put(ssm, REGISTRY)
    provider = RegistryProvider(SOURCE, cache_seconds=0)
    first = provider.get()
    changed = json.loads(json.dumps(REGISTRY))
    changed["tenants"][GLOBEX_TID]["status"] = "suspended"
    _put(ssm, changed)
    second = provider.get()
    assert second is not first
    assert second.tenants[GLOBEX_TID].status == "suspended"


def test_update_is_not_seen_within_max_age(ssm):
    _put(ssm, REGISTRY)
    provider = RegistryProvider(SOURCE, cache_seconds=300)
    first = provider.get()
    changed = json.loads(json.dumps(REGISTRY))
    changed["tenants"][GLOBEX_TID]["status"] = "suspended"
    _put(ssm, changed)
    assert provider.get() is first  # Powertools served its cached copy (max_age=300)


def test_missing_parameter_on_cold_start_is_registry_error(ssm):
    with pytest.raises(RegistryError):
        RegistryProvider(SOURCE).get()


def test_parameter_deleted_after_good_load_serves_last_good_copy(ssm):
    _put(ssm, REGISTRY)
    provider = RegistryProvider(SOURCE, cache_seconds=0)
    good = provider.get()
    ssm.delete_parameter(Name=PARAMETER)
    assert provider.get() is good


def test_invalid_update_in_ssm_serves_last_good_copy(ssm):
    _put(ssm, REGISTRY)
    provider = RegistryProvider(SOURCE, cache_seconds=0)
    good = provider.get()
    ssm.put_parameter(Name=PARAMETER, Value='{"tenants": "oops"}', Type="SecureString", Overwrite=True)
    assert provider.get() is good


def test_authorizer_with_ssm_registry_allows_and_denies(ssm, jwks_server):
    _put(ssm, REGISTRY)
    env = function_env()
    env.update(OIDC_JWKS_URI=jwks_server.jwks_uri, TENANT_REGISTRY=SOURCE)
    authorizer = load_authorizer(env)
    assert isinstance(authorizer, RequestAuthorizer)
    allowed = authorizer.handle(authorizer_event("Bearer " + sign(entra_claims(), kid="k1")))
    assert allowed["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    assert allowed["context"]["tenant_id"] == "acme"
    unknown = "c0ffee00-1234-4abc-8def-0123456789ab"
    claims = entra_claims(tid=unknown, iss=f"https://login.microsoftonline.com/{unknown}/v2.0")
    denied = authorizer.handle(authorizer_event("Bearer " + sign(claims, kid="k1")))
    assert denied["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert denied["context"]["reason"] == "tenant_not_onboarded"


def test_authorizer_with_unreadable_ssm_registry_is_unauthorized(ssm, jwks_server):
    env = function_env()
    env.update(OIDC_JWKS_URI=jwks_server.jwks_uri, TENANT_REGISTRY=SOURCE)  # parameter never created
    authorizer = load_authorizer(env)
    with pytest.raises(Exception) as caught:
        authorizer.handle(authorizer_event("Bearer " + sign(entra_claims(), kid="k1")))
    assert type(caught.value) is Exception and caught.value.args == ("Unauthorized",)
