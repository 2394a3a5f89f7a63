"""SnapStart after-restore hooks: invoked by hand, each refreshes what a snapshot would share."""

from __future__ import annotations

import datetime as dt
import random

from test_template_operations import ROOT

from support.fakes import FakeClock, StaticFetcher
from support.tokens import jwk_for, jwks_document, rsa_key
from tenantkit import snapstart
from tenantkit.bff.credentials import TenantScopedClients
from tenantkit.bff.sessions import DynamoDbSessionRepository
from tenantkit.config import JwksSettings
from tenantkit.jwks import JwksCache, PenaltyBox
from tenantkit_local.template import load_template


class CountingFetcher(StaticFetcher):
    def __init__(self, document):
        super().__init__(document)
        self.count = 0

    def fetch(self, uri):
        self.count += 1
        return super().fetch(uri)


def test_the_jwks_is_fetched_again_after_a_restore():
    clock = FakeClock()
    settings = JwksSettings()
    fetcher = CountingFetcher(jwks_document(jwk_for(rsa_key(), "k1")))
    cache = JwksCache(settings=settings, fetcher=fetcher, clock=clock,
                      penalty_box=PenaltyBox(interval_seconds=0, clock=clock))
    assert cache.prefetch("https://idp.example/keys") and fetcher.count == 1
    cache.after_restore()
    assert fetcher.count == 2
    cache.get_key("https://idp.example/keys", "k1", "RS256")
    assert fetcher.count == 2  # fresh again: no fetch per request


def test_a_failed_fetch_after_restore_keeps_the_keys_due_for_refresh():
    clock = FakeClock()
    fetcher = CountingFetcher(jwks_document(jwk_for(rsa_key(), "k1")))
    cache = JwksCache(fetcher=fetcher, clock=clock, penalty_box=PenaltyBox(interval_seconds=0, clock=clock))
    cache.prefetch("https://idp.example/keys")
    fetcher.document = None  # the IdP is unreachable at restore

    def down(uri):
        from tenantkit.jwks.fetcher import JwksUnavailableError

        raise JwksUnavailableError("down")

    fetcher.fetch = down  # type: ignore[method-assign]
    cache.after_restore()
    assert cache.get_key("https://idp.example/keys", "k1", "RS256") is not None  # old keys within the stale bound


class FakeSts:
    """assume_role answering fresh credentials each call (counted)."""

    def __init__(self) -> None:
        self.calls = 0

    def assume_role(self, **kwargs):
        self.calls += 1
        expiration = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
        return {"Credentials": {"AccessKeyId": f"ASIAFAKE{self.calls:08d}", "SecretAccessKey": "s",
                                "SessionToken": "t", "Expiration": expiration}}


def test_cached_sdk_clients_are_dropped_and_rebuilt_with_current_credentials(monkeypatch):
    monkeypatch.setattr(snapstart, "_HOOKS", [])  # only this test's hooks run (no other test's caches)
    sts_made, made = [], []

    def sts_factory():
        sts_made.append(FakeSts())
        return sts_made[-1]

    clients = TenantScopedClients("arn:aws:iam::123456789012:role/tenant-data", sts_client_factory=sts_factory,
                                  client_factory=lambda credentials: made.append(credentials) or object())
    repository = DynamoDbSessionRepository("table", clients=clients)
    first = clients.client_for("acme", "portal")
    assert clients.client_for("acme", "portal") is first  # cached until a restore
    snapstart.register_after_restore(repository.drop_clients)
    snapstart.run_after_restore_hooks()
    assert clients.cached_pairs() == []  # no credential of the snapshotted environment survives
    assert clients.client_for("acme", "portal") is not first and len(made) == 2
    # The STS client is rebuilt too, and the tenant's credentials are assumed again.
    assert len(sts_made) == 2 and [s.calls for s in sts_made] == [1, 1]
    assert made[0].access_key_id == made[1].access_key_id == "ASIAFAKE00000001"


def test_random_state_differs_after_a_restore():
    random.seed(1234)
    frozen = random.getstate()
    snapstart.reseed_random()
    assert random.getstate() != frozen


def test_the_parameter_cache_is_cleared():
    from aws_lambda_powertools.utilities.parameters import base

    base.DEFAULT_PROVIDERS["ssm"] = object()
    snapstart.clear_parameter_cache()
    assert "ssm" not in base.DEFAULT_PROVIDERS


def test_the_authorizer_and_bff_register_their_hooks(monkeypatch, authorizer_env):
    from tenantkit.authorizer import load_authorizer
    from tenantkit.bff import load_bff

    assert {snapstart.reseed_random, snapstart.clear_parameter_cache} <= set(snapstart.registered_hooks())
    monkeypatch.setattr(snapstart, "_HOOKS", [])
    # Port 9 on loopback refuses at once: the warm-up logs the failure and init goes on.
    load_authorizer({**authorizer_env, "OIDC_JWKS_URI": "http://127.0.0.1:9/keys"})
    load_bff({"SESSIONS_TABLE": "t", "UPSTREAM_MODE": "http", "UPSTREAM_URL": "http://127.0.0.1:9/x",
              "TENANT_DATA_ROLE_ARN": "arn:aws:iam::123456789012:role/tenant-data",
              "TENANT_REGISTRY": authorizer_env["TENANT_REGISTRY"]})
    assert [h.__qualname__ for h in snapstart.registered_hooks()] == ["JwksCache.after_restore",
                                                                      "DynamoDbSessionRepository.drop_clients"]


def test_snapstart_is_offered_on_the_authorizer_and_bff_for_python_3_12_and_later():
    template = load_template(ROOT / "template.yaml")
    snap = {"Fn::If": ["UseSnapStart", {"ApplyOn": "PublishedVersions"}, {"Ref": "AWS::NoValue"}]}
    for function in ("AuthorizerFunction", "BffProxyFunction"):
        props = template["Resources"][function]["Properties"]
        assert props["SnapStart"] == snap and props["AutoPublishAlias"] == "live"
    condition = template["Conditions"]["UseSnapStart"]["Fn::And"]
    assert {"Fn::Not": [{"Fn::Equals": [{"Ref": "Runtime"}, "python3.11"]}]} in condition
    assert template["Parameters"]["Runtime"]["AllowedValues"] == ["python3.11", "python3.12", "python3.13"]
