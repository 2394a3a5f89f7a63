"""Shared fixtures: a fully configured authorizer over test-time keys, no network."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from support.fakes import FakeClock, StaticFetcher
from support.tokens import jwk_for, jwks_document, rsa_key
from tenantkit.authorizer import RequestAuthorizer
from tenantkit.config import AuthorizerConfig
from tenantkit.jwks import JwksCache, PenaltyBox

# Records the AWS calls each function makes and checks them against its IAM role (docs/least-privilege.md).
pytest_plugins = ["least_privilege_plugin"]

ROOT = Path(__file__).resolve().parents[1]
_GATE_OUTCOMES: dict[str, list[str]] = {"passed": [], "failed": []}
TEST_LOG_HASH_KEY = "test-log-hash-key"


@pytest.fixture(autouse=True)
def _session_id_hashing(monkeypatch: pytest.MonkeyPatch):
    """Every test runs with a known log-hash key and a fresh session-id policy.

    The layer reads its observability settings once per process (a Lambda environment never
    changes); whoever changes the environment announces it. In tests that is ``monkeypatch``:
    its ``setenv``/``delenv`` reset the settings after each change, as the local runner does
    when it swaps one function's environment for another's."""
    from tenantkit.observability.pseudonym import reset_session_id_policy

    setenv, delenv = monkeypatch.setenv, monkeypatch.delenv

    def announced_setenv(name: str, value: str, prepend: str | None = None) -> None:
        setenv(name, value, prepend)
        reset_session_id_policy()

    def announced_delenv(name: str, raising: bool = True) -> None:
        delenv(name, raising)
        reset_session_id_policy()

    monkeypatch.setenv = announced_setenv  # type: ignore[method-assign]
    monkeypatch.delenv = announced_delenv  # type: ignore[method-assign]
    monkeypatch.setenv("TENANTKIT_LOG_HASH_KEY", TEST_LOG_HASH_KEY)
    monkeypatch.delenv("TENANTKIT_SESSION_ID_LOGGING", raising=False)
    reset_session_id_policy()
    yield
    reset_session_id_policy()


_SIGNING_CURSOR = {"checked": 0}
_SIGNED_SUITES = ("tests/integration/", "tests/e2e/")


@pytest.fixture(autouse=True)
def _bff_signs_with_tenant_credentials(request: pytest.FixtureRequest):
    """Integration and e2e tests: every DynamoDB request the BFF makes is signed with the access
    key STS issued for the envelope's (tenant, app) (tests/support/signing.py). Requests since
    the previous check are checked after each test, so module-scoped fixtures are covered too."""
    yield
    from support.signing import RECORDER

    since, _SIGNING_CURSOR["checked"] = _SIGNING_CURSOR["checked"], RECORDER.cursor()
    nodeid = request.node.nodeid.replace("\\", "/")
    if not any(nodeid.startswith(prefix) or f"/{prefix}" in nodeid for prefix in _SIGNED_SUITES):
        return
    violations = RECORDER.violations(since)
    assert violations == [], f"DynamoDB requests not signed with the envelope tenant's credentials: {violations}"


@pytest.fixture
def signing_recorder():
    from support.signing import RECORDER

    return RECORDER


def local_function_env(function: str = "AuthorizerFunction") -> dict[str, str]:
    """The variables local/env.json gives a function (the registry and audiences the demo uses)."""
    return dict(json.loads((ROOT / "local" / "env.json").read_text())[function])


@pytest.fixture
def authorizer_env() -> dict[str, str]:
    env = local_function_env()
    env["OIDC_JWKS_URI"] = "https://idp.invalid/common/discovery/v2.0/keys"  # never fetched: StaticFetcher
    return env


@pytest.fixture
def fetcher() -> StaticFetcher:
    return StaticFetcher(jwks_document(jwk_for(rsa_key(), "test-kid")))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def jwks_cache(fetcher: StaticFetcher) -> JwksCache:
    return JwksCache(fetcher=fetcher)


@pytest.fixture
def authorizer(authorizer_env: dict[str, str], jwks_cache: JwksCache) -> RequestAuthorizer:
    config = AuthorizerConfig.from_env(authorizer_env)
    return RequestAuthorizer.from_config(config, jwks_cache=jwks_cache)


@pytest.fixture
def make_cache(clock: FakeClock):  # type: ignore[no-untyped-def]
    """Build a JwksCache on a fake clock: make_cache(fetcher, **JwksSettings overrides)."""
    from tenantkit.config import JwksSettings

    def build(fetcher: Any, **settings: Any) -> JwksCache:
        jwks_settings = JwksSettings(**settings)
        box = PenaltyBox(interval_seconds=jwks_settings.min_refetch_interval_seconds, clock=clock)
        return JwksCache(settings=jwks_settings, fetcher=fetcher, penalty_box=box, clock=clock)

    return build


# --- viability gates: tests are marked from the evidence map in tenantkit_local.gates ------------


def pytest_configure(config: pytest.Config) -> None:
    from support.signing import RECORDER
    from tenantkit_local.gates import GATES

    RECORDER.install_globally()

    for gate in GATES:
        config.addinivalue_line("markers", f"gate_{gate.id}: evidence for the viability gate '{gate.title}'")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from tenantkit_local.gates import gate_markers_for

    for item in items:
        for marker in gate_markers_for(item.nodeid):
            item.add_marker(getattr(pytest.mark, marker))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        _GATE_OUTCOMES["passed" if report.outcome == "passed" else "failed"].append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    import os

    target = os.environ.get("TENANTKIT_GATES_REPORT")
    if target:
        Path(target).write_text(json.dumps(_GATE_OUTCOMES))
