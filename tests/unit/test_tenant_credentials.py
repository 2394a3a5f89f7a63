"""The tenant-scoped credential cache: one AssumeRole per (tenant, app) until shortly before
expiry, a bounded LRU, thread-safe fills, fail-closed errors and nothing secret in any text."""

from __future__ import annotations

import datetime as dt
import re
import threading
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantkit.bff.credentials import ScopedCredentials, TenantScopedClients, role_session_name
from tenantkit.bff.errors import TenantCredentialsUnavailableError

ROLE = "arn:aws:iam::123456789012:role/tenant-data"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


class FakeSts:
    """assume_role as STS answers it; records each request. ``lifetime`` is what STS states."""

    def __init__(self, clock: FakeClock, lifetime: float = 900, fail: Exception | None = None) -> None:
        self.clock, self.lifetime, self.fail = clock, lifetime, fail
        self.calls: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def assume_role(self, **kwargs: Any) -> dict[str, Any]:
        with self._lock:
            self.calls.append(kwargs)
            n = len(self.calls)
        if self.fail is not None:
            raise self.fail
        expiration = dt.datetime.fromtimestamp(self.clock.now + self.lifetime, tz=dt.UTC)
        return {"Credentials": {"AccessKeyId": f"ASIAFAKE{n:08d}", "SecretAccessKey": f"secret-{n}-CANARY",
                                "SessionToken": f"token-{n}-CANARY", "Expiration": expiration}}


def build(clock: FakeClock, sts: FakeSts, **options: Any) -> TenantScopedClients:
    return TenantScopedClients(ROLE, sts_client_factory=lambda: sts, client_factory=lambda c: ("client", c),
                               clock=clock, **options)


def test_one_assume_role_per_pair_on_the_warm_path():
    clock = FakeClock()
    sts = FakeSts(clock)
    clients = build(clock, sts)
    first = clients.client_for("acme", "portal")
    assert all(clients.client_for("acme", "portal") is first for _ in range(100))
    clients.client_for("globex", "portal")
    clients.client_for("acme", "agent-console")
    assert clients.assume_role_calls == len(sts.calls) == 3
    assert sts.calls[0] == {"RoleArn": ROLE, "RoleSessionName": "tk-acme-portal", "DurationSeconds": 900,
                            "Tags": [{"Key": "tenant_id", "Value": "acme"}, {"Key": "app_id", "Value": "portal"}]}


def test_refreshed_shortly_before_expiry_not_after():
    clock = FakeClock()
    sts = FakeSts(clock)
    clients = build(clock, sts, refresh_margin_seconds=120)
    first = clients.client_for("acme", "portal")
    clock.now += 900 - 120 - 1
    assert clients.client_for("acme", "portal") is first
    clock.now += 1
    assert clients.client_for("acme", "portal") is not first
    assert len(sts.calls) == 2


def test_a_remote_expiration_later_than_requested_is_not_trusted():
    clock = FakeClock()
    sts = FakeSts(clock, lifetime=43200)  # a remote clock far ahead of ours
    clients = build(clock, sts, refresh_margin_seconds=60)
    clients.client_for("acme", "portal")
    clock.now += 900 - 60
    clients.client_for("acme", "portal")
    assert len(sts.calls) == 2


def test_lru_is_bounded_and_evicts_the_least_recently_used():
    clock = FakeClock()
    sts = FakeSts(clock)
    clients = build(clock, sts, max_entries=2)
    clients.client_for("a", "x")
    clients.client_for("b", "x")
    clients.client_for("a", "x")  # a is now the most recent
    clients.client_for("c", "x")  # evicts b
    assert sorted(clients.cached_pairs()) == [("a", "x"), ("c", "x")]
    clients.client_for("b", "x")
    assert [c["Tags"][0]["Value"] for c in sts.calls] == ["a", "b", "c", "b"]


def test_concurrent_first_uses_make_one_call_per_pair():
    clock = FakeClock()
    sts = FakeSts(clock)
    clients = build(clock, sts)
    pairs = [("acme", "portal"), ("globex", "portal"), ("initech", "agent-console")] * 8
    barrier = threading.Barrier(len(pairs))
    got: list[Any] = []

    def use(pair: tuple[str, str]) -> None:
        barrier.wait()
        got.append((pair, clients.client_for(*pair)))

    threads = [threading.Thread(target=use, args=(pair,)) for pair in pairs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(sts.calls) == 3
    assert len({(pair, id(client)) for pair, client in got}) == 3


def test_sts_failure_fails_closed_without_detail_or_fallback(capsys):
    clock = FakeClock()
    from botocore.exceptions import ClientError

    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "not authorized ASIAFAKE secret-CANARY"}},
                         "AssumeRole")
    clients = build(clock, FakeSts(clock, fail=denied))
    with pytest.raises(TenantCredentialsUnavailableError) as raised:
        clients.client_for("acme", "portal")
    error = raised.value
    assert (error.status, error.reason, error.audit_event) == (503, "tenant_credentials_unavailable", "upstream.error")
    assert error.__cause__ is None and error.__suppress_context__
    assert "CANARY" not in str(error) and "CANARY" not in capsys.readouterr().out
    assert clients.cached_pairs() == [] and clients._fill_locks == {}
    with pytest.raises(TenantCredentialsUnavailableError):  # the next request tries again, never falls back
        clients.client_for("acme", "portal")
    assert clients.assume_role_calls == 2


def test_credentials_never_in_repr():
    credentials = ScopedCredentials("ASIAFAKE", "secret-CANARY", "token-CANARY", 1.0)
    assert "CANARY" not in repr(credentials) and "ASIAFAKE" not in repr(credentials)


@pytest.mark.parametrize("options", [{"duration_seconds": 899}, {"duration_seconds": 43201},
                                     {"refresh_margin_seconds": 900}, {"max_entries": 0}])
def test_bad_options_are_refused(options):
    with pytest.raises(ValueError):
        TenantScopedClients(ROLE, **options)


@settings(max_examples=100, deadline=None)
@given(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:/@-]{0,255}", fullmatch=True),
       st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:/@-]{0,255}", fullmatch=True))
def test_role_session_names_are_always_valid(tenant, app):
    assert re.fullmatch(r"[\w+=,.@-]{2,64}", role_session_name(tenant, app))


@settings(max_examples=20, deadline=None)
@given(st.sampled_from([ValueError, RuntimeError, KeyError, OSError, TypeError]))
def test_a_client_that_cannot_be_built_fails_closed_like_sts(error_type):
    # botocore refusing the issued credentials or the configuration must be the same typed 503
    # as an STS failure, with nothing of the credentials in the error, and nothing cached
    clock = FakeClock()
    sts = FakeSts(clock)

    def refuse(credentials: ScopedCredentials) -> Any:
        raise error_type(f"bad client for {credentials.secret_access_key} {credentials.session_token}")

    clients = TenantScopedClients(ROLE, sts_client_factory=lambda: sts, client_factory=refuse, clock=clock)
    with pytest.raises(TenantCredentialsUnavailableError) as raised:
        clients.client_for("acme", "portal")
    assert "CANARY" not in str(raised.value) and raised.value.__cause__ is None
    assert clients.cached_pairs() == [] and clients._fill_locks == {}


@settings(max_examples=10, deadline=None)
@given(st.integers(1, 3), st.integers(2, 6))
def test_under_concurrency_eviction_and_expiry_a_pair_only_ever_gets_its_own_credentials(max_entries, tenants):
    # the invariant that matters: client_for(t, a) is signed with credentials tagged (t, a), never
    # another pair's, whatever the interleaving of fills, evictions and refreshes
    clock = FakeClock()
    sts = FakeSts(clock)
    clients = build(clock, sts, max_entries=max_entries)
    pairs = [(f"tenant-{i}", "portal") for i in range(tenants)]
    failures: list[str] = []
    barrier = threading.Barrier(8)

    def worker(offset: int) -> None:
        barrier.wait()
        try:
            for step in range(60):
                pair = pairs[(offset + step) % len(pairs)]
                if step % 17 == 0:
                    clock.now += 400  # crosses the refresh margin now and then
                _, credentials = clients.client_for(*pair)
                issued = sts.calls[int(credentials.access_key_id.removeprefix("ASIAFAKE")) - 1]
                tags = {t["Key"]: t["Value"] for t in issued["Tags"]}
                if (tags["tenant_id"], tags["app_id"]) != pair:
                    failures.append(f"{pair} got {tags}")
        except Exception as error:  # a thread's exception must fail the test, not vanish
            failures.append(repr(error))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(clients.cached_pairs()) <= max_entries
    assert set(clients._fill_locks) <= set(clients.cached_pairs()) | set(pairs)
