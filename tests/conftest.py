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

ROOT = Path(__file__).resolve().parents[1]
TEST_LOG_HASH_KEY = "test-log-hash-key"


@pytest.fixture(autouse=True)
def _session_id_hashing(monkeypatch: pytest.MonkeyPatch):
    """Every test runs with a known log-hash key and a fresh session-id policy."""
    from tenantkit.observability.pseudonym import reset_session_id_policy

    monkeypatch.setenv("TENANTKIT_LOG_HASH_KEY", TEST_LOG_HASH_KEY)
    monkeypatch.delenv("TENANTKIT_SESSION_ID_LOGGING", raising=False)
    reset_session_id_policy()
    yield
    reset_session_id_policy()


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
