"""Revocation bounds: a cached authorizer Allow never outlives its token, its tenant or its app.

Every bound is shown on injectable clocks: the token's ``exp`` (with the authorizer's leeway),
and the tenant registry re-read by the BFF (a suspended tenant or disabled app is refused once the
registry copy is refreshed, never later than the documented bound, and an unreadable registry
fails closed with 503, never an allow and never a 500).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from support.bff import envelope, proxy_event
from support.fakes import FakeClock
from support.tokens import METHOD_ARN, authorizer_event, entra_claims, sign
from tenantkit.abac import PolicyEngine
from tenantkit.bff import BffApi, BffConfig, BffService, SessionStore
from tenantkit.bff.config import BffConfig as ConfigFromEnv
from tenantkit.bff.outbound import UpstreamResponse
from tenantkit.bff.revocation import AccessGuard, RegistryStatus
from tenantkit.exceptions import ConfigurationError

ROOT = Path(__file__).resolve().parents[2]
LEEWAY = 60
BOUND = 30.0
ACME_TID = "6e1c3a4b-2f7d-4c1e-9a8b-0d5f3e2a1b7c"
PORTAL_CLIENT = "0c6a1f7e-5b3d-4e2a-9c8b-7d6e5f4a3b2c"
CONSOLE_CLIENT = "1d7b2e8f-6c4e-4f3b-8d9c-8e7f6a5b4c3d"


def registry(tenant_status: str = "active", app_status: str = "active", **extra_tenants: Any) -> str:
    return json.dumps({
        "tenants": {ACME_TID: {"tenant_id": "acme", "status": tenant_status},
                    "9b2d4f6a-8c1e-4a3b-b5d7-e9f1a2c3d4e5": {"tenant_id": "globex"}, **extra_tenants},
        "apps": {PORTAL_CLIENT: {"app_id": "portal", "status": app_status},
                 CONSOLE_CLIENT: {"app_id": "agent-console"}},
    })


class MemoryDynamo:
    def __init__(self) -> None:
        self.items: dict[str, dict] = {}

    def put_item(self, TableName: str, Item: dict, ConditionExpression: str | None = None) -> None:
        self.items[Item["pk"]["S"]] = Item

    def get_item(self, TableName: str, Key: dict, ConsistentRead: bool = False) -> dict:
        item = self.items.get(Key["pk"]["S"])
        return {"Item": item} if item else {}


class CountingUpstream:
    def __init__(self) -> None:
        self.calls = 0

    def invoke(self, request: Any) -> UpstreamResponse:
        self.calls += 1
        return UpstreamResponse(200, b'{"reply":"ok"}')


class SsmParameter:
    """Stands in for SSM GetParameter: the current text, or an exception to raise; counts reads."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.error: Exception | None = None
        self.reads = 0

    def __call__(self, name: str) -> str:
        assert name == "/tenantkit/test/tenant-registry"
        self.reads += 1
        if self.error is not None:
            raise self.error
        return self.text


class Harness:
    """A BFF whose token clock (wall) and registry clock (monotonic) move together."""

    def __init__(self, *, wall_start: float = 1_800_000_000.0) -> None:
        self.wall = FakeClock(wall_start)
        self.mono = FakeClock(1_000.0)
        self.ssm = SsmParameter(registry())
        self.status = RegistryStatus("ssm:/tenantkit/test/tenant-registry", bound_seconds=BOUND, ssm_reader=self.ssm,
                                     clock=self.mono)
        self.upstream = CountingUpstream()
        self.store = SessionStore("t", client_factory=MemoryDynamo, clock=self.wall)
        config = BffConfig(sessions_table="t", upstream_mode="http", upstream_url="https://agent.example/x")
        guard = AccessGuard(leeway_seconds=LEEWAY, registry=self.status, clock=self.wall)
        self.api = BffApi(lambda: BffService(config=config, store=self.store, upstream=self.upstream,
                                             policy=PolicyEngine.default(), access=guard))

    def advance(self, seconds: float) -> None:
        self.wall.advance(seconds)
        self.mono.advance(seconds)

    def call(self, capsys: pytest.CaptureFixture[str], event: dict[str, Any]) -> tuple[dict, list[dict]]:
        capsys.readouterr()
        response = self.api.handle(event, None)
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
        return response, [line for line in lines if line.get("record_type") == "audit"]


def reason(response: dict) -> str:
    return json.loads(response["body"])["reason"]


def rejection(audits: list[dict]) -> dict:
    (record,) = [a for a in audits if a["event_type"] != "request.completed"]
    return record


# --- the token's exp ---------------------------------------------------------------------------


def test_an_expired_tokens_cached_allow_is_refused_with_401_and_audited(authorizer, capsys):
    """The real chain: the authorizer's Allow for a real token, replayed by API Gateway's cache
    after the token expired, reaches the BFF and is refused there."""
    now = int(time.time())  # the authorizer verifies on the real clock; the BFF's clock is ours from here
    token = sign(entra_claims(now=now, exp=now + 300))
    policy = authorizer.handle(authorizer_event(f"Bearer {token}", method_arn=METHOD_ARN))
    assert policy["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    assert policy["context"]["exp"] == now + 300
    harness = Harness(wall_start=now)
    cached = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in policy["context"].items()}

    def replay() -> dict[str, Any]:
        event = proxy_event("GET", "/v1/me", None)
        event["requestContext"]["authorizer"] = {**cached, "principalId": policy["principalId"]}
        return event

    response, _ = harness.call(capsys, replay())
    assert response["statusCode"] == 200  # fresh token: admitted
    harness.advance(300 + LEEWAY - 1)
    assert harness.call(capsys, replay())[0]["statusCode"] == 200  # inside the authorizer's leeway
    harness.advance(1)
    response, audits = harness.call(capsys, replay())  # exp + leeway: the cached Allow is worthless
    assert response["statusCode"] == 401 and reason(response) == "token_expired"
    record = rejection(audits)
    assert (record["event_type"], record["outcome"], record["reason"], record["status"]) == (
        "authz.unauthorized", "unauthorized", "token_expired", 401)
    assert record["tenant_id"] == "acme" and record["app_id"] == "portal"


@settings(max_examples=60, deadline=None)
@given(lifetime=st.integers(0, 86400), leeway=st.integers(0, 300), after=st.integers(-86400, 86400))
def test_expiry_rule_matches_the_authorizers(lifetime, leeway, after):
    """Admitted iff now < exp + leeway: the authorizer's own rule, on the same numbers."""
    start = 1_800_000_000
    clock = FakeClock(start + lifetime + after)
    guard = AccessGuard(leeway_seconds=leeway, registry=None, clock=clock)
    env = envelope(exp=start + lifetime)
    admitted = clock() < start + lifetime + leeway
    try:
        guard.check(env)
        refused = None
    except Exception as exc:
        refused = exc
    assert (refused is None) is admitted
    if refused is not None:
        assert getattr(refused, "reason", None) == "token_expired" and getattr(refused, "status", None) == 401


def test_an_envelope_without_exp_is_refused(capsys):
    harness = Harness()
    response, audits = harness.call(capsys, proxy_event("GET", "/v1/me", envelope(exp=None)))
    assert response["statusCode"] == 401 and reason(response) == "token_expiry_missing"
    assert rejection(audits)["reason"] == "token_expiry_missing"


def test_expired_token_never_reaches_session_store_or_upstream(capsys):
    harness = Harness()
    alice = envelope(exp=int(harness.wall()) + 10)
    session_id = harness.store.create(alice).session_id
    harness.advance(10 + LEEWAY)
    response, _ = harness.call(capsys, proxy_event("POST", f"/v1/sessions/{session_id}/messages", alice,
                                                   body={"text": "hi"}))
    assert response["statusCode"] == 401 and harness.upstream.calls == 0


# --- tenant and app status in the registry -----------------------------------------------------


@pytest.mark.parametrize(("change", "audited_reason"), [
    ({"tenant_status": "suspended"}, "tenant_suspended"),
    ({"app_status": "disabled"}, "app_disabled"),
])
def test_suspension_is_enforced_within_the_bound_and_not_before_the_refresh(capsys, change, audited_reason):
    harness = Harness()
    event = proxy_event("GET", "/v1/me", envelope())
    assert harness.call(capsys, event)[0]["statusCode"] == 200
    assert harness.ssm.reads == 1
    harness.advance(1)
    harness.ssm.text = registry(**change)  # the operator suspends, one second after our read
    # Documented rule: the copy is re-read once it is half the bound old, so until then the
    # cached status still admits (no SSM read per request).
    harness.advance(BOUND / 2 - 1 - 0.001)
    assert harness.call(capsys, event)[0]["statusCode"] == 200
    assert harness.ssm.reads == 1
    harness.advance(0.001)
    response, audits = harness.call(capsys, event)
    assert response["statusCode"] == 403 and reason(response) == "access_revoked"
    record = rejection(audits)
    assert (record["event_type"], record["outcome"], record["reason"], record["status"]) == (
        "authz.deny", "deny", audited_reason, 403)
    assert audited_reason not in response["body"]  # the precise reason is the audit trail's


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.01, 20), min_size=1, max_size=12), st.floats(0, BOUND * 3))
def test_no_status_older_than_the_bound_is_ever_used(steps, suspended_after):
    """For any request timing: once the registry says suspended, every request more than the
    bound later is refused (and no request is refused before the suspension)."""
    mono = FakeClock(0.0)
    ssm = SsmParameter(registry())
    status = RegistryStatus("ssm:/tenantkit/test/tenant-registry", bound_seconds=BOUND, ssm_reader=ssm, clock=mono)
    for step in steps:
        mono.advance(step)
        if mono() >= suspended_after:
            ssm.text = registry(tenant_status="suspended")
        denial = status.index().denial("acme", "portal")
        if mono() < suspended_after:
            assert denial is None
        if mono() >= suspended_after + BOUND:
            assert denial == "tenant_suspended"


@pytest.mark.parametrize(("tenant", "app", "expected"), [
    ("initech", "portal", "tenant_not_onboarded"),  # removed from the registry: offboarded
    ("acme", "billing-worker", "app_not_registered"),
])
def test_tenant_or_app_missing_from_the_registry_is_refused(capsys, tenant, app, expected):
    harness = Harness()
    response, audits = harness.call(capsys, proxy_event("GET", "/v1/me", envelope(tenant=tenant, app=app)))
    assert response["statusCode"] == 403 and rejection(audits)["reason"] == expected


def test_one_suspended_idp_tenant_suspends_the_platform_tenant_it_maps_to(capsys):
    harness = Harness()
    harness.ssm.text = registry(**{"c0ffee00-1234-4abc-8def-0123456789ab": {"tenant_id": "acme",
                                                                              "status": "suspended"}})
    response, audits = harness.call(capsys, proxy_event("GET", "/v1/me", envelope()))
    assert response["statusCode"] == 403 and rejection(audits)["reason"] == "tenant_suspended"


# --- the registry cannot be read: fail closed -------------------------------------------------


def test_unreadable_registry_at_first_use_is_503_never_an_allow(capsys):
    harness = Harness()
    harness.ssm.error = RuntimeError("ParameterNotFound")
    response, audits = harness.call(capsys, proxy_event("GET", "/v1/me", envelope()))
    assert response["statusCode"] == 503 and reason(response) == "registry_unavailable"
    record = rejection(audits)
    assert (record["event_type"], record["reason"], record["status"]) == ("request.rejected",
                                                                          "registry_unavailable", 503)


@pytest.mark.parametrize("failure", ["read", "invalid"])
def test_failed_refresh_serves_the_copy_only_until_the_bound_then_503(capsys, failure):
    harness = Harness()
    event = proxy_event("GET", "/v1/me", envelope())
    assert harness.call(capsys, event)[0]["statusCode"] == 200
    if failure == "read":
        harness.ssm.error = TimeoutError("ssm")
    else:
        harness.ssm.text = '{"tenants": {"x": {"tenant_id": "has space"}}, "apps": {}}'
    harness.advance(BOUND / 2)
    assert harness.call(capsys, event)[0]["statusCode"] == 200  # an SSM blip inside the bound
    reads = harness.ssm.reads
    assert harness.call(capsys, event)[0]["statusCode"] == 200
    assert harness.ssm.reads == reads  # retry cooldown: a failing SSM is not hammered per request
    harness.advance(BOUND / 2)
    response, _ = harness.call(capsys, event)
    assert response["statusCode"] == 503 and reason(response) == "registry_unavailable"
    harness.ssm.error = None
    harness.ssm.text = registry()
    harness.advance(1)
    assert harness.call(capsys, event)[0]["statusCode"] == 200  # recovers on the next read


def test_registry_bound_is_capped_at_60_seconds():
    with pytest.raises(ValueError):
        RegistryStatus("{}", bound_seconds=61)
    base = {"SESSIONS_TABLE": "t", "UPSTREAM_MODE": "http", "UPSTREAM_URL": "https://agent.example/x",
            "TENANT_REGISTRY": registry(), "TENANT_DATA_ROLE_ARN": "arn:aws:iam::123456789012:role/tenant-data"}
    assert ConfigFromEnv.from_env(base).registry_cache_seconds == 30
    for bad in ("61", "0", "soon"):
        with pytest.raises(ConfigurationError) as caught:
            ConfigFromEnv.from_env({**base, "TENANT_REGISTRY_CACHE_SECONDS": bad})
        assert caught.value.variable == "TENANT_REGISTRY_CACHE_SECONDS"


def test_bff_requires_the_tenant_registry():
    env = {"SESSIONS_TABLE": "t", "UPSTREAM_MODE": "http", "UPSTREAM_URL": "https://agent.example/x",
           "TENANT_DATA_ROLE_ARN": "arn:aws:iam::123456789012:role/tenant-data"}
    with pytest.raises(ConfigurationError) as caught:
        ConfigFromEnv.from_env(env)
    assert caught.value.variable == "TENANT_REGISTRY"


# --- deployment defaults ------------------------------------------------------------------------


def test_authorizer_cache_ttl_is_at_most_60_seconds_everywhere():
    import tomllib

    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    template = yaml.load((ROOT / "template.yaml").read_text(), Loader=Loader)  # noqa: S506 - SafeLoader subclass
    assert template["Parameters"]["AuthorizerCacheTtl"]["Default"] <= 60
    assert template["Parameters"]["TenantStatusCacheSeconds"]["MaxValue"] <= 60
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    environments = [name for name, section in config.items() if isinstance(section, dict) and "deploy" in section]
    assert environments
    for name in environments:
        overrides = dict(item.split("=", 1) for item in config[name]["deploy"]["parameters"]["parameter_overrides"]
                         .split())
        assert int(overrides.get("AuthorizerCacheTtl", 60)) <= 60, name


def test_local_bff_and_authorizer_read_the_same_registry():
    env = json.loads((ROOT / "local" / "env.json").read_text())
    assert env["BffProxyFunction"]["TENANT_REGISTRY"] == env["AuthorizerFunction"]["TENANT_REGISTRY"]
