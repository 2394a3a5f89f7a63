"""Upstream discovery through AWS Cloud Map, cached so East-West traffic never calls it per request.

``DiscoverInstances`` is throttled per account and namespace; a fleet of warm containers that
asked it on every request would throttle the whole agent mesh. So the instances are cached per
container for a TTL (one call per TTL, concurrent misses make one call), throttling is retried
with full-jitter exponential backoff of our own (botocore's retries are off), and on failure the
last good instances are served for a bounded time (stale-if-error). After a failed refresh the
next one waits a TTL (or, with nothing cached, a short cooldown), so an outage or a throttled
account does not turn every request into a burst of retries.

Whoever can register an instance in the service decides where the BFF sends identity headers,
so an instance is used only if its URL is https and its host is on an allowlist from config
(``CLOUDMAP_ALLOWED_HOST_SUFFIXES``): a DNS suffix matched on label boundaries, or an IP network.
Other instances are skipped (and logged), never called.
"""

from __future__ import annotations

import ipaddress
import itertools
import os
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from tenantkit import aws
from tenantkit.aws import jittered_backoff
from tenantkit.config import env_number
from tenantkit.discovery.exceptions import DiscoveryError
from tenantkit.exceptions import ConfigurationError, InvalidArgumentError
from tenantkit.observability import get_logger

__all__ = [
    "HEALTH_STATUSES",
    "RETRYABLE_CODES",
    "CloudMapResolver",
    "Endpoint",
]

RETRYABLE_CODES = frozenset(
    {"ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException", "ServiceUnavailable",
     "InternalServerError"}
)
HEALTH_STATUSES = ("HEALTHY", "UNHEALTHY", "ALL", "HEALTHY_OR_ELSE_ALL")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DNS_SUFFIX = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*$")


class HostAllowlist:
    """Hosts an instance URL may name: DNS suffixes (``agents.internal`` admits ``agents.internal``
    and ``a.agents.internal``, never ``evilagents.internal``) and IP networks (``10.0.0.0/16``)."""

    def __init__(self, entries: tuple[str, ...]) -> None:
        if not entries:
            raise ValueError("the host allowlist is empty: no instance could ever be used")
        self.suffixes: tuple[str, ...] = ()
        self.networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
        for raw in entries:
            entry = raw.strip().lower().strip(".")
            try:
                self.networks += (ipaddress.ip_network(entry, strict=False),)
                continue
            except ValueError:
                pass
            if not _DNS_SUFFIX.match(entry) or "." not in entry:
                raise ValueError(f"allowlist entry {raw!r} is neither a DNS suffix with a dot nor an IP network")
            self.suffixes += (entry,)

    def admits(self, host: str) -> bool:
        host = host.lower()
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            name = host.removesuffix(".")
            return any(name == s or name.endswith("." + s) for s in self.suffixes)
        return any(address.version == n.version and address in n for n in self.networks)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One discovered instance: the base URL to call and its Cloud Map attributes."""

    url: str
    instance_id: str
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Entry:
    endpoints: tuple[Endpoint, ...]
    fetched_at: float


class CloudMapResolver:
    def __init__(
        self,
        *,
        namespace: str,
        service: str,
        client: Any | None = None,
        ttl_seconds: float = 30.0,
        stale_max_seconds: float = 300.0,
        max_attempts: int = 4,
        base_delay_seconds: float = 0.05,
        max_delay_seconds: float = 1.0,
        health_status: str = "HEALTHY",
        allowed_hosts: tuple[str, ...],
        max_results: int = 100,
        failure_cooldown_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if health_status not in HEALTH_STATUSES:
            raise InvalidArgumentError(f"health_status must be one of {', '.join(HEALTH_STATUSES)}")
        if max_attempts < 1 or not 1 <= max_results <= 1000:
            raise InvalidArgumentError("max_attempts must be >= 1 and max_results within 1..1000")
        self.namespace = namespace
        self.service = service
        self._client = client
        self._ttl = ttl_seconds
        self._stale_max = stale_max_seconds
        self._max_attempts = max_attempts
        self._base_delay = base_delay_seconds
        self._max_delay = max_delay_seconds
        self._health_status = health_status
        self._allowlist = HostAllowlist(allowed_hosts)
        self._max_results = max_results
        self._cooldown = failure_cooldown_seconds
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._entry: _Entry | None = None
        self._retry_not_before = float("-inf")
        self._turn = itertools.count()
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> CloudMapResolver | None:
        """A resolver when ``CLOUDMAP_NAMESPACE`` and ``CLOUDMAP_SERVICE`` are set, None when neither is."""
        env = os.environ if environ is None else environ
        namespace = env.get("CLOUDMAP_NAMESPACE", "").strip()
        service = env.get("CLOUDMAP_SERVICE", "").strip()
        if not namespace and not service:
            return None
        if not namespace or not service:
            missing = "CLOUDMAP_SERVICE" if namespace else "CLOUDMAP_NAMESPACE"
            raise ConfigurationError(missing, "is required when the other CLOUDMAP_* name is set")
        ttl = env_number(env, "CLOUDMAP_CACHE_TTL_SECONDS", 30, 1, 3600)
        stale_max = env_number(env, "CLOUDMAP_STALE_MAX_SECONDS", max(300.0, ttl), ttl, 86400)
        allowed = tuple(e.strip() for e in env.get("CLOUDMAP_ALLOWED_HOST_SUFFIXES", "").split(",") if e.strip())
        try:
            HostAllowlist(allowed)
        except ValueError as exc:
            raise ConfigurationError("CLOUDMAP_ALLOWED_HOST_SUFFIXES", str(exc)) from None
        return cls(namespace=namespace, service=service, ttl_seconds=ttl, stale_max_seconds=stale_max,
                   allowed_hosts=allowed)

    def resolve(self) -> Endpoint:
        """The next endpoint, round-robin over the cached instances; refreshes when the TTL ran out."""
        entry = self._entry
        if entry is None or self._clock() - entry.fetched_at >= self._ttl:
            entry = self._resolve_slow()
        return entry.endpoints[next(self._turn) % len(entry.endpoints)]

    def _resolve_slow(self) -> _Entry:
        with self._lock:
            entry = self._entry
            now = self._clock()
            if entry is not None and now - entry.fetched_at < self._ttl:
                return entry  # another thread refreshed while we waited
            if now < self._retry_not_before:
                return self._stale_or_raise(entry, "cooling down after a failed refresh")
            try:
                return self._refresh()
            except DiscoveryError as exc:
                # With something to serve, retry at the normal cadence (a throttled account must not
                # see more calls than a healthy one); with nothing, retry sooner.
                wait = self._ttl if entry is not None else min(self._ttl, self._cooldown)
                self._retry_not_before = self._clock() + wait
                return self._stale_or_raise(entry, str(exc), cause=exc)

    def _stale_or_raise(self, entry: _Entry | None, why: str, cause: Exception | None = None) -> _Entry:
        """Stale-if-error: the last good instances while younger than the stale limit, else raise."""
        if entry is not None and (age := self._clock() - entry.fetched_at) <= self._stale_max:
            if cause is not None:
                get_logger().warning(
                    "Cloud Map discovery failed; serving cached instances",
                    extra={"namespace": self.namespace, "service": self.service, "age_seconds": round(age, 3),
                           "error": why},
                )
            return entry
        raise DiscoveryError(
            f"Cloud Map {self.namespace}/{self.service}: {why}; no cached instances within the stale limit"
        ) from cause

    def _refresh(self) -> _Entry:
        """One DiscoverInstances with our backoff; stores and returns the new entry or raises."""
        response = self._discover()
        instances = response.get("Instances") or []
        endpoints = tuple(e for e in (self._endpoint(i) for i in instances) if e is not None)
        if not endpoints:
            raise DiscoveryError(f"no usable {self._health_status} instances ({len(instances)} returned)")
        self._entry = _Entry(endpoints=endpoints, fetched_at=self._clock())
        return self._entry

    def _discover(self) -> Mapping[str, Any]:
        """DiscoverInstances, retrying throttling and 5xx with full-jitter exponential backoff."""
        attempt = 0
        while True:
            try:
                return self._client_or_create().discover_instances(  # type: ignore[no-any-return]
                    NamespaceName=self.namespace,
                    ServiceName=self.service,
                    HealthStatus=self._health_status,
                    MaxResults=self._max_results,
                )
            except Exception as exc:
                code = aws.error_code(exc) or ""
                if not _retryable(exc, code):
                    raise DiscoveryError(f"DiscoverInstances failed: {code or type(exc).__name__}") from exc
                attempt += 1
                if attempt >= self._max_attempts:
                    raise DiscoveryError(f"DiscoverInstances failed {attempt} times, last: {code}") from exc
                self._sleep(jittered_backoff(self._rng, attempt - 1, base=self._base_delay, cap=self._max_delay))

    def _endpoint(self, instance: Mapping[str, Any]) -> Endpoint | None:
        attributes = MappingProxyType({str(k): str(v) for k, v in (instance.get("Attributes") or {}).items()})
        instance_id = str(instance.get("InstanceId", ""))
        url = attributes.get("url", "").strip()
        if not url:
            port = attributes.get("AWS_INSTANCE_PORT") or "443"
            if ipv4 := attributes.get("AWS_INSTANCE_IPV4"):
                host = ipv4
            elif ipv6 := attributes.get("AWS_INSTANCE_IPV6"):
                host = f"[{ipv6}]"
            elif cname := attributes.get("AWS_INSTANCE_CNAME"):
                host = cname
            else:
                return None
            url = f"https://{host}:{port}"
        problem = self._url_problem(url)
        if problem is not None:
            get_logger().warning("Cloud Map instance skipped", extra={
                "namespace": self.namespace, "cloudmap_service": self.service, "instance_id": instance_id[:128],
                "problem": problem})
            return None
        return Endpoint(url=url, instance_id=instance_id, attributes=attributes)

    def _url_problem(self, url: str) -> str | None:
        """Why this instance URL must not be called, or None."""
        parts = urlsplit(url)
        try:
            host = parts.hostname
            parts.port  # noqa: B018 - a malformed port raises here
        except ValueError:
            return "malformed_url"
        if parts.scheme != "https":
            return "scheme_not_https"
        if not host or "@" in parts.netloc or parts.query or parts.fragment:
            return "malformed_url"
        if not self._allowlist.admits(host):
            return "host_not_allowed"
        return None

    def _client_or_create(self) -> Any:
        """The injected client, or a servicediscovery client with botocore's retries off (ours apply)."""
        if self._client is None:
            self._client = aws.client("servicediscovery", max_attempts=1, connect_timeout=1, read_timeout=1)
        return self._client


def _retryable(exc: Exception, code: str) -> bool:
    if code in RETRYABLE_CODES:
        return True
    response = getattr(exc, "response", None)
    status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode", 0) if isinstance(response, Mapping) else 0
    return isinstance(status, int) and status >= 500
