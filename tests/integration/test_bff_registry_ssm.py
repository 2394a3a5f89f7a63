"""The BFF's revocation re-check reads the tenant registry from SSM (a SecureString, moto on
127.0.0.1) through the default reader: a suspension written to the parameter is enforced within
the bound (Powertools' own cache never adds to it), and a missing parameter fails closed."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools.utilities import parameters
from loopback import function_env

from support.bff import envelope
from support.fakes import FakeClock
from tenantkit.bff.errors import AccessRevokedError, RegistryUnavailableError
from tenantkit.bff.revocation import AccessGuard, RegistryStatus
from tenantkit_local.cloud import FAKE_CREDENTIALS, MotoServer

pytestmark = pytest.mark.integration

PARAMETER = "/tenantkit/test/bff-registry"
REGISTRY = json.loads(function_env("BffProxyFunction")["TENANT_REGISTRY"])
ACME_TID = next(tid for tid, entry in REGISTRY["tenants"].items() if entry["tenant_id"] == "acme")


@pytest.fixture(scope="module")
def ssm(thread_guard: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    server = MotoServer().start()
    empty = tmp_path_factory.mktemp("aws")
    with pytest.MonkeyPatch.context() as env:
        for name, value in FAKE_CREDENTIALS.items():
            env.setenv(name, value)
        env.setenv("AWS_ENDPOINT_URL_SSM", server.endpoint)
        env.setenv("AWS_CONFIG_FILE", str(empty / "config"))
        env.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty / "credentials"))
        for name in ("AWS_PROFILE", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_ENDPOINT_URL",
                     "POWERTOOLS_PARAMETERS_MAX_AGE"):
            env.delenv(name, raising=False)
        parameters.clear_caches()
        client = server.client("ssm")
        yield client
        with contextlib.suppress(client.exceptions.ParameterNotFound):
            client.delete_parameter(Name=PARAMETER)
        parameters.clear_caches()
    server.stop()


def _put(client: Any, registry: dict[str, Any]) -> None:
    client.put_parameter(Name=PARAMETER, Value=json.dumps(registry), Type="SecureString", Overwrite=True)


def test_suspension_in_ssm_is_enforced_within_the_bound(ssm):
    _put(ssm, REGISTRY)
    clock = FakeClock(0.0)
    guard = AccessGuard(leeway_seconds=60, clock=lambda: 1_800_000_000.0,
                        registry=RegistryStatus(f"ssm:{PARAMETER}", bound_seconds=20, clock=clock))
    alice = envelope()
    guard.check(alice)  # first read: active
    suspended = json.loads(json.dumps(REGISTRY))
    suspended["tenants"][ACME_TID]["status"] = "suspended"
    _put(ssm, suspended)
    clock.advance(9.9)
    guard.check(alice)  # the copy is younger than half the bound: still served, no read
    clock.advance(0.1)
    with pytest.raises(AccessRevokedError) as caught:  # re-read from SSM, not from Powertools' cache
        guard.check(alice)
    assert caught.value.reason == "tenant_suspended"


def test_missing_parameter_fails_closed(ssm):
    with contextlib.suppress(ssm.exceptions.ParameterNotFound):
        ssm.delete_parameter(Name=PARAMETER)
    guard = AccessGuard(leeway_seconds=60, clock=lambda: 1_800_000_000.0,
                        registry=RegistryStatus(f"ssm:{PARAMETER}", bound_seconds=20, clock=FakeClock(0.0)))
    with pytest.raises(RegistryUnavailableError):
        guard.check(envelope())
