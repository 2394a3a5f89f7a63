"""CloudMapResolver: one DiscoverInstances per TTL, our own backoff, stale-if-error; no network."""

from __future__ import annotations

import ipaddress
import random
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from hypothesis import given, settings
from hypothesis import strategies as st

from support.fakes import FakeClock
from tenantkit.discovery import CloudMapResolver, DiscoveryError, Endpoint
from tenantkit.exceptions import ConfigurationError, TenantkitError

NAMESPACE, SERVICE = "agents.internal", "research-agent"
ALLOWED = ("10.0.0.0/16", "fd00::/64", "agent.internal", "example.internal")
ENV = {"CLOUDMAP_NAMESPACE": NAMESPACE, "CLOUDMAP_SERVICE": SERVICE,
       "CLOUDMAP_ALLOWED_HOST_SUFFIXES": "agents.internal"}
EXPECTED = {"NamespaceName": NAMESPACE, "ServiceName": SERVICE, "HealthStatus": "HEALTHY", "MaxResults": 100}


def instance(instance_id: str, **attributes: str) -> dict[str, Any]:
    return {"InstanceId": instance_id, "NamespaceName": NAMESPACE, "ServiceName": SERVICE,
            "HealthStatus": "HEALTHY", "Attributes": attributes}


def ipv4(instance_id: str, address: str, port: str = "8080") -> dict[str, Any]:
    return instance(instance_id, AWS_INSTANCE_IPV4=address, AWS_INSTANCE_PORT=port)


class RecordingSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def client() -> Any:
    return boto3.client("servicediscovery", region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.fixture
def stubber(client: Any) -> Iterator[Stubber]:
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def make(client: Any, clock: FakeClock, sleep: RecordingSleep):  # type: ignore[no-untyped-def]
    def build(**overrides: Any) -> CloudMapResolver:
        options: dict[str, Any] = {"namespace": NAMESPACE, "service": SERVICE, "client": client,
                                   "clock": clock, "sleep": sleep, "rng": random.Random(7), "allowed_hosts": ALLOWED}
        options.update(overrides)
        return CloudMapResolver(**options)

    return build


def ok(stubber: Stubber, *instances: dict[str, Any]) -> None:
    stubber.add_response("discover_instances", {"Instances": list(instances)}, EXPECTED)


def fail(stubber: Stubber, code: str, status: int = 400, times: int = 1) -> None:
    for _ in range(times):
        stubber.add_client_error("discover_instances", service_error_code=code, http_status_code=status,
                                 expected_params=EXPECTED)


# --- caching -------------------------------------------------------------------------------------


def test_sends_exact_parameters_and_returns_endpoint(make, stubber):
    ok(stubber, ipv4("i-1", "10.0.0.1"))
    endpoint = make().resolve()
    assert endpoint == Endpoint(url="https://10.0.0.1:8080", instance_id="i-1",
                                attributes={"AWS_INSTANCE_IPV4": "10.0.0.1", "AWS_INSTANCE_PORT": "8080"})


def test_custom_health_status_and_max_results_are_sent(make, stubber):
    stubber.add_response("discover_instances", {"Instances": [ipv4("i-1", "10.0.0.1")]},
                         {**EXPECTED, "HealthStatus": "HEALTHY_OR_ELSE_ALL", "MaxResults": 10})
    assert make(health_status="HEALTHY_OR_ELSE_ALL", max_results=10).resolve().instance_id == "i-1"


def test_cache_hit_within_ttl_makes_no_call(make, stubber, clock):
    ok(stubber, ipv4("i-1", "10.0.0.1"))
    resolver = make(ttl_seconds=30)
    for _ in range(50):
        assert resolver.resolve().instance_id == "i-1"
        clock.advance(0.5)  # 25 s in all, still inside the TTL
    stubber.assert_no_pending_responses()


def test_refresh_after_ttl(make, stubber, clock):
    ok(stubber, ipv4("i-1", "10.0.0.1"))
    ok(stubber, ipv4("i-2", "10.0.0.2"))
    resolver = make(ttl_seconds=30)
    assert resolver.resolve().instance_id == "i-1"
    clock.advance(30)
    assert resolver.resolve().instance_id == "i-2"
    clock.advance(29.9)
    assert resolver.resolve().instance_id == "i-2"


# --- backoff -------------------------------------------------------------------------------------


@pytest.mark.parametrize("code,status", [("ThrottlingException", 400), ("RequestLimitExceeded", 400),
                                         ("TooManyRequestsException", 429), ("ServiceUnavailable", 503),
                                         ("InternalServerError", 500)])
def test_retryable_errors_back_off_with_full_jitter(make, stubber, sleep, code, status):
    fail(stubber, code, status, times=2)
    ok(stubber, ipv4("i-1", "10.0.0.1"))
    assert make(base_delay_seconds=0.05, max_delay_seconds=1.0).resolve().instance_id == "i-1"
    assert len(sleep.delays) == 2
    for attempt, delay in enumerate(sleep.delays):
        assert 0 <= delay <= min(1.0, 0.05 * 2**attempt)


def test_backoff_is_capped_by_max_delay(make, stubber, sleep):
    fail(stubber, "ThrottlingException", times=5)
    with pytest.raises(DiscoveryError):
        make(max_attempts=5, base_delay_seconds=1.0, max_delay_seconds=1.5).resolve()
    assert len(sleep.delays) == 4
    assert all(0 <= d <= 1.5 for d in sleep.delays)


def test_backoff_draws_from_the_injected_rng(make, stubber, sleep):
    fail(stubber, "ThrottlingException", times=2)
    ok(stubber, ipv4("i-1", "10.0.0.1"))
    make(rng=random.Random(42)).resolve()
    expected = random.Random(42)
    assert sleep.delays == [expected.uniform(0, 0.05), expected.uniform(0, 0.1)]


# --- stale-if-error ------------------------------------------------------------------------------


def test_throttling_beyond_max_attempts_serves_stale(make, stubber, clock, sleep):
    ok(stubber, ipv4("i-1", "10.0.0.1"))
    resolver = make(ttl_seconds=30, stale_max_seconds=300, max_attempts=4)
    assert resolver.resolve().instance_id == "i-1"
    clock.advance(60)
    fail(stubber, "ThrottlingException", times=4)
    assert resolver.resolve().instance_id == "i-1"
    assert len(sleep.delays) == 3


def test_throttling_with_no_cache_raises(make, stubber):
    fail(stubber, "ThrottlingException", times=4)
    with pytest.raises(DiscoveryError) as caught:
        make(max_attempts=4).resolve()
    assert caught.value.reason == "upstream_discovery_failed"
    assert isinstance(caught.value, TenantkitError)


def test_stale_beyond_stale_max_raises(make, stubber, clock):
    ok(stubber, ipv4("i-1", "10.0.0.1"))
    resolver = make(ttl_seconds=30, stale_max_seconds=300, max_attempts=1)
    resolver.resolve()
    clock.advance(301)
    fail(stubber, "ThrottlingException")
    with pytest.raises(DiscoveryError):
        resolver.resolve()


def test_non_retryable_error_is_not_retried_and_serves_stale(make, stubber, clock, sleep):
    ok(stubber, ipv4("i-1", "10.0.0.1"))
    resolver = make(ttl_seconds=30)
    resolver.resolve()
    clock.advance(31)
    fail(stubber, "AccessDeniedException", 400)  # one response queued: a retry would fail the stubber
    assert resolver.resolve().instance_id == "i-1"
    assert sleep.delays == []


def test_non_retryable_error_with_no_cache_raises(make, stubber, sleep):
    fail(stubber, "NamespaceNotFound", 400)
    with pytest.raises(DiscoveryError, match="NamespaceNotFound"):
        make().resolve()
    assert sleep.delays == []


def test_empty_instance_list_serves_stale(make, stubber, clock):
    ok(stubber, ipv4("i-1", "10.0.0.1"))
    resolver = make(ttl_seconds=30)
    resolver.resolve()
    clock.advance(31)
    ok(stubber)
    assert resolver.resolve().instance_id == "i-1"


def test_empty_instance_list_with_no_cache_raises(make, stubber):
    ok(stubber)
    with pytest.raises(DiscoveryError, match="no usable HEALTHY instances"):
        make().resolve()


def test_failed_refresh_waits_a_ttl_before_calling_again(make, stubber, clock):
    """An outage must not turn every request into DiscoverInstances calls."""
    ok(stubber, ipv4("i-1", "10.0.0.1"))
    resolver = make(ttl_seconds=30, max_attempts=1)
    resolver.resolve()
    clock.advance(31)
    fail(stubber, "ThrottlingException")
    for _ in range(20):
        assert resolver.resolve().instance_id == "i-1"  # stale, and no further calls
        clock.advance(1)
    clock.advance(10)
    ok(stubber, ipv4("i-2", "10.0.0.2"))
    assert resolver.resolve().instance_id == "i-2"


def test_failure_with_no_cache_cools_down_briefly(make, stubber, clock):
    resolver = make(ttl_seconds=30, max_attempts=1, failure_cooldown_seconds=5)
    fail(stubber, "ThrottlingException")
    with pytest.raises(DiscoveryError):
        resolver.resolve()
    with pytest.raises(DiscoveryError, match="cooling down"):
        resolver.resolve()  # no call: the stubber has nothing queued
    clock.advance(5)
    ok(stubber, ipv4("i-1", "10.0.0.1"))
    assert resolver.resolve().instance_id == "i-1"


# --- instance -> URL -----------------------------------------------------------------------------


@pytest.mark.parametrize("attributes,url", [
    ({"url": "https://agent.internal:8443/base", "AWS_INSTANCE_IPV4": "10.0.0.9"}, "https://agent.internal:8443/base"),
    ({"AWS_INSTANCE_IPV4": "10.0.0.1", "AWS_INSTANCE_PORT": "9000"}, "https://10.0.0.1:9000"),
    ({"AWS_INSTANCE_IPV4": "10.0.0.1"}, "https://10.0.0.1:443"),
    ({"AWS_INSTANCE_IPV6": "fd00::1", "AWS_INSTANCE_PORT": "8080"}, "https://[fd00::1]:8080"),
    ({"AWS_INSTANCE_CNAME": "agent.example.internal", "AWS_INSTANCE_PORT": "8080"}, "https://agent.example.internal:8080"),
])
def test_instance_url(make, stubber, attributes, url):
    ok(stubber, instance("i-1", **attributes))
    assert make().resolve().url == url


def test_https_defaults_to_port_443(make, stubber):
    ok(stubber, instance("i-1", AWS_INSTANCE_CNAME="agent.example.internal"))
    assert make().resolve().url == "https://agent.example.internal:443"


def test_instances_without_usable_address_are_skipped(make, stubber):
    ok(stubber, instance("i-none", AWS_INSTANCE_PORT="8080"), instance("i-bad", url="ftp://nope"),
       ipv4("i-good", "10.0.0.3"))
    resolver = make()
    assert {resolver.resolve().instance_id for _ in range(5)} == {"i-good"}


def test_endpoint_attributes_are_read_only(make, stubber):
    ok(stubber, ipv4("i-1", "10.0.0.1"))
    with pytest.raises(TypeError):
        make().resolve().attributes["url"] = "http://evil"  # type: ignore[index]


def test_round_robin_across_instances(make, stubber):
    ok(stubber, ipv4("i-1", "10.0.0.1"), ipv4("i-2", "10.0.0.2"), ipv4("i-3", "10.0.0.3"))
    resolver = make()
    assert [resolver.resolve().instance_id for _ in range(7)] == ["i-1", "i-2", "i-3", "i-1", "i-2", "i-3", "i-1"]


# --- concurrency ---------------------------------------------------------------------------------


class SlowCountingClient:
    """A stand-in servicediscovery client: counts calls and takes a little time to answer."""

    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()

    def discover_instances(self, **params: Any) -> dict[str, Any]:
        with self._lock:
            self.calls += 1
        time.sleep(0.05)
        return {"Instances": [ipv4("i-1", "10.0.0.1"), ipv4("i-2", "10.0.0.2")]}


def test_concurrent_threads_on_expired_cache_make_one_call(clock):
    client = SlowCountingClient()
    resolver = CloudMapResolver(namespace=NAMESPACE, service=SERVICE, client=client, clock=clock,
                                allowed_hosts=ALLOWED)
    resolver.resolve()
    clock.advance(31)
    barrier = threading.Barrier(16)
    results: list[Endpoint] = []
    errors: list[BaseException] = []

    def worker() -> None:
        barrier.wait()
        try:
            results.append(resolver.resolve())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert errors == []
    assert len(results) == 16
    assert client.calls == 2  # the initial fill and exactly one refresh


# --- construction --------------------------------------------------------------------------------


def test_client_is_created_lazily_with_botocore_retries_off(monkeypatch):
    created: list[dict[str, Any]] = []

    def fake_client(service: str, **kwargs: Any) -> SlowCountingClient:
        created.append({"service": service, **kwargs})
        return SlowCountingClient()

    monkeypatch.setattr(boto3, "client", fake_client)
    resolver = CloudMapResolver(namespace=NAMESPACE, service=SERVICE, allowed_hosts=ALLOWED)
    assert created == []
    resolver.resolve()
    resolver.resolve()
    assert len(created) == 1 and created[0]["service"] == "servicediscovery"
    config = created[0]["config"]
    assert config.retries == {"max_attempts": 1, "mode": "standard"}
    assert config.connect_timeout <= 1 and config.read_timeout <= 1


@pytest.mark.parametrize("overrides", [{"health_status": "GREEN"}, {"max_attempts": 0}, {"max_results": 0},
                                       {"allowed_hosts": ()}, {"allowed_hosts": ("internal",)},
                                       {"allowed_hosts": ("*.agent.internal",)}, {"allowed_hosts": ("a b.internal",)}])
def test_invalid_arguments_are_rejected(overrides):
    with pytest.raises(ValueError):
        CloudMapResolver(namespace=NAMESPACE, service=SERVICE, client=object(), **{"allowed_hosts": ALLOWED,
                                                                                   **overrides})


def test_from_env_neither_set_returns_none():
    assert CloudMapResolver.from_env({}) is None
    assert CloudMapResolver.from_env({"CLOUDMAP_NAMESPACE": " ", "CLOUDMAP_SERVICE": ""}) is None


@pytest.mark.parametrize("env,missing", [
    ({"CLOUDMAP_NAMESPACE": NAMESPACE}, "CLOUDMAP_SERVICE"),
    ({"CLOUDMAP_SERVICE": SERVICE}, "CLOUDMAP_NAMESPACE"),
    ({"CLOUDMAP_SERVICE": SERVICE, "CLOUDMAP_NAMESPACE": "  "}, "CLOUDMAP_NAMESPACE"),
])
def test_from_env_one_alone_names_the_missing_variable(env, missing):
    with pytest.raises(ConfigurationError) as caught:
        CloudMapResolver.from_env(env)
    assert caught.value.variable == missing


def test_from_env_both_set_uses_defaults():
    resolver = CloudMapResolver.from_env(ENV)
    assert resolver is not None
    assert (resolver.namespace, resolver.service) == (NAMESPACE, SERVICE)
    assert resolver._ttl == 30 and resolver._stale_max == 300
    assert resolver._client is None  # no boto3 client until the first resolve()


def test_from_env_ttl_and_stale_max():
    env = {**ENV, "CLOUDMAP_CACHE_TTL_SECONDS": "600", "CLOUDMAP_STALE_MAX_SECONDS": ""}
    resolver = CloudMapResolver.from_env(env)
    assert resolver is not None
    assert resolver._ttl == 600 and resolver._stale_max == 600  # stale limit never below the TTL


@pytest.mark.parametrize("env", [
    {"CLOUDMAP_CACHE_TTL_SECONDS": "soon"},
    {"CLOUDMAP_CACHE_TTL_SECONDS": "0"},
    {"CLOUDMAP_CACHE_TTL_SECONDS": "60", "CLOUDMAP_STALE_MAX_SECONDS": "30"},
])
def test_from_env_rejects_bad_numbers(env):
    with pytest.raises(ConfigurationError):
        CloudMapResolver.from_env({**ENV, **env})


def test_module_import_does_not_import_boto3():
    import subprocess
    import sys

    code = "import sys, tenantkit.discovery; sys.exit('boto3' in sys.modules or 'botocore' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0  # noqa: S603 - fixed argv


# --- outbound safety: https only, allowlisted hosts only -------------------------------------------


@pytest.mark.parametrize("url,problem", [
    ("http://agent.internal/base", "scheme_not_https"),  # plain http: identity headers in clear text
    ("HTTP://agent.internal/base", "scheme_not_https"),
    ("ftp://agent.internal/base", "scheme_not_https"),
    ("https://attacker.example/base", "host_not_allowed"),
    ("https://evilagent.internal/base", "host_not_allowed"),  # a suffix counts on label boundaries only
    ("https://agent.internal.attacker.example/base", "host_not_allowed"),
    ("https://agent.internal@attacker.example/base", "malformed_url"),
    ("https://10.1.0.1/base", "host_not_allowed"),  # outside 10.0.0.0/16
    ("https://[fd01::1]/base", "host_not_allowed"),
    ("https://agent.internal:99999/base", "malformed_url"),
    ("https:///base", "malformed_url"),
    ("https://agent.internal/base?next=https://attacker.example", "malformed_url"),
])
def test_instances_with_unsafe_urls_are_never_used(make, stubber, caplog, url, problem):
    ok(stubber, instance("i-bad", url=url))
    with pytest.raises(DiscoveryError):
        make().resolve()
    assert [r.problem for r in caplog.records if hasattr(r, "problem")] == [problem]  # other loggers may speak too


@pytest.mark.parametrize("url", ["https://agent.internal/base", "https://x.agent.internal:8443/",
                                 "https://AGENT.internal/b", "https://10.0.255.1/", "https://[fd00::2]:8443/",
                                 "https://deep.a.example.internal/"])
def test_allowlisted_https_instances_are_used(make, stubber, url):
    ok(stubber, instance("i-ok", url=url))
    assert make().resolve().url == url


def test_unsafe_instances_are_skipped_next_to_safe_ones(make, stubber):
    ok(stubber, instance("i-http", url="http://agent.internal/"), instance("i-far", url="https://attacker.example/"),
       ipv4("i-outside", "192.168.0.1"), instance("i-ok", url="https://agent.internal/"))
    resolver = make()
    assert {resolver.resolve().instance_id for _ in range(6)} == {"i-ok"}


hosts = st.from_regex(r"[a-z0-9]{1,8}(\.[a-z0-9]{1,8}){0,3}", fullmatch=True)


@settings(max_examples=150, deadline=None)
@given(host=hosts, suffix=hosts, scheme=st.sampled_from(["https", "http", "HTTPS", "Https", "ws", "wss"]))
def test_an_instance_is_used_iff_https_and_on_a_label_boundary_of_the_allowlist(host, suffix, scheme):
    if "." not in suffix:
        suffix += ".internal"
    resolver = CloudMapResolver(namespace=NAMESPACE, service=SERVICE, client=object(), allowed_hosts=(suffix,))
    # An IP literal is matched only against IP networks, never against a DNS suffix of digits.
    network, address = _ip(ipaddress.ip_network, suffix), _ip(ipaddress.ip_address, host)
    if network is not None:
        on_list = address is not None and address.version == network.version and address in network
    else:
        on_list = address is None and (host == suffix or host.endswith("." + suffix))
    expected = scheme.lower() == "https" and on_list
    assert (resolver._endpoint(instance("i", url=f"{scheme}://{host}/x")) is not None) is expected


def _ip(parse, text: str):  # type: ignore[no-untyped-def]
    try:
        return parse(text, strict=False) if parse is ipaddress.ip_network else parse(text)
    except ValueError:
        return None


def test_from_env_requires_the_host_allowlist():
    env = {k: v for k, v in ENV.items() if k != "CLOUDMAP_ALLOWED_HOST_SUFFIXES"}
    with pytest.raises(ConfigurationError) as caught:
        CloudMapResolver.from_env(env)
    assert caught.value.variable == "CLOUDMAP_ALLOWED_HOST_SUFFIXES"
    with pytest.raises(ConfigurationError):
        CloudMapResolver.from_env({**ENV, "CLOUDMAP_ALLOWED_HOST_SUFFIXES": "internal"})
