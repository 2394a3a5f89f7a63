"""A synthetic day of platform traffic for the demo dashboard (dev-only).

One UTC day of requests as the authorizer and the BFF would audit them: a diurnal shape (quiet
night, busy working hours), one hot tenant, a steady trickle of mistakes, and one attack burst
(spoofing and cross-tenant session reuse from a single guest, then a run of forged tokens).
Every record is built and validated by the layer's own ``AuditRecord`` model and delivered to
the real audit sink as CloudWatch Logs deliveries from the functions' log groups, so the raw
zone, compaction and the query packs see exactly what production traffic would produce.
Deterministic for a seed: the same day renders the same dashboard.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tenantkit.audit.schema import AuditRecord

AUTHORIZER = "AuthorizerFunction"
BFF = "BffProxyFunction"

# (tenant, share of traffic, apps, principals): acme is the hot tenant.
TENANTS = (
    ("acme", 0.58, ("portal", "billing-worker"), 40),
    ("globex", 0.27, ("agent-console",), 25),
    ("initech", 0.15, ("agent-console",), 15),
)
AGENT = "support-agent"
PROFILE_ARN = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/support-agent"
ATTACK_HOUR = 14  # the burst: a globex guest probes acme


@dataclass(frozen=True)
class SyntheticDay:
    day: date
    requests: int
    records: int
    deliveries: int


def hourly_weights() -> list[float]:
    """Diurnal shape: a night floor, a morning ramp, a midday peak, an evening tail."""
    return [0.15 + math.exp(-((hour - 13.0) ** 2) / 18.0) for hour in range(24)]


def _hex(rng: random.Random, n: int = 32) -> str:
    return f"{rng.getrandbits(n * 4):0{n}x}"


def _ts(day: date, hour: int, rng: random.Random) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC) + timedelta(
        seconds=rng.uniform(0, 3599.0))


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


class _Day:
    def __init__(self, day: date, seed: int) -> None:
        self.day = day
        self.rng = random.Random(seed)
        self.sessions: dict[tuple[str, str], list[str]] = {}

    def record(self, function: str, when: datetime, **fields: Any) -> tuple[str, str]:
        record = AuditRecord(event_id=_hex(self.rng), ts=_iso(when),
                             service="tenantkit-authorizer" if function == AUTHORIZER else "tenantkit-bff", **fields)
        return function, record.model_dump_json(exclude_none=True)

    def identity(self, tenant: str, app: str, principals: int) -> dict[str, Any]:
        kind = "service" if app == "billing-worker" else "user"
        number = self.rng.randrange(principals if kind == "user" else 2)
        principal = hashlib.sha256(f"{tenant}:{kind}:{number}".encode()).hexdigest()[:8] + f":{kind}-{number}"
        return {"tenant_id": tenant, "app_id": app, "principal_id": principal, "principal_type": kind,
                "correlation_id": _hex(self.rng, 16)}

    def session(self, who: dict[str, Any]) -> tuple[str, bool]:
        pool = self.sessions.setdefault((who["tenant_id"], who["principal_id"]), [])
        if pool and self.rng.random() < 0.85:
            return self.rng.choice(pool), False
        pool.append("h1:" + _hex(self.rng))
        return pool[-1], True

    def allowed(self, when: datetime, who: dict[str, Any]) -> Iterator[tuple[str, str]]:
        """One allowed request: the authorizer's allow, then what the BFF audits for it."""
        yield self.record(AUTHORIZER, when, event_type="authz.allow", outcome="allow", reason="verified",
                          route="POST /v1/{proxy+}", status=200, latency_ms=round(self.rng.uniform(0.2, 0.9), 3),
                          **who)
        session, new = self.session(who)
        later = when + timedelta(milliseconds=self.rng.uniform(2, 8))
        if new:
            yield self.record(BFF, later, event_type="session.bound", outcome="success", reason="session_created",
                              session_id=session, route="POST /v1/sessions", status=201, **who)
            yield self.record(BFF, later, event_type="request.completed", outcome="success", reason="http_201",
                              session_id=session, route="POST /v1/sessions", status=201,
                              latency_ms=round(self.rng.uniform(8, 30), 3), **who)
            return
        # A slow upstream now and then: the latency panel shows a tail, the error panel a few 5xx.
        failed = self.rng.random() < 0.004
        latency = self.rng.lognormvariate(math.log(420 if who["tenant_id"] != "acme" else 650), 0.45)
        route = "POST /v1/sessions/{session_id}/messages"
        yield self.record(BFF, later, event_type="session.continued", outcome="success",
                          reason="session_bound_to_caller", session_id=session, route=route, status=200, **who)
        if failed:
            yield self.record(BFF, later, event_type="upstream.error", outcome="error", reason="upstream_timeout",
                              session_id=session, route=route, status=504, **who)
            yield self.record(BFF, later, event_type="request.completed", outcome="error", reason="http_504",
                              session_id=session, route=route, status=504, latency_ms=29_000.0, **who)
            return
        yield self.record(BFF, later, event_type="request.completed", outcome="success", reason="http_200",
                          session_id=session, route=route, status=200, latency_ms=round(latency, 3),
                          agent_name=AGENT, inference_profile_arn=PROFILE_ARN,
                          input_tokens=self.rng.randrange(200, 3000), output_tokens=self.rng.randrange(50, 900),
                          **who)

    def mistake(self, when: datetime, who: dict[str, Any]) -> Iterator[tuple[str, str]]:
        """The everyday background: expired tokens, a missing scope, an unknown session."""
        kind = self.rng.random()
        if kind < 0.6:
            yield self.record(AUTHORIZER, when, event_type="authz.unauthorized", outcome="unauthorized",
                              reason="token_expired", route="POST /v1/{proxy+}", status=401,
                              correlation_id=who["correlation_id"])
        elif kind < 0.8:
            yield self.record(AUTHORIZER, when, event_type="authz.deny", outcome="deny", reason="scope_missing",
                              route="POST /v1/{proxy+}", status=403, **who)
        else:
            yield from self.allowed_header(when, who)
            yield self.record(BFF, when, event_type="session.rejected", outcome="rejected",
                              reason="session_not_found", route="GET /v1/sessions/{session_id}", status=404, **who)

    def allowed_header(self, when: datetime, who: dict[str, Any]) -> Iterator[tuple[str, str]]:
        yield self.record(AUTHORIZER, when, event_type="authz.allow", outcome="allow", reason="verified",
                          route="GET /v1/{proxy+}", status=200, latency_ms=0.4, **who)

    def attack(self, when: datetime, attacker: dict[str, Any]) -> Iterator[tuple[str, str]]:
        """The burst: a verified globex guest names acme (spoof) or replays acme's session ids, which
        its tenant-prefixed keys cannot reach: audited as ``session_not_found``, like any unknown id."""
        yield from self.allowed_header(when, attacker)
        if self.rng.random() < 0.6:
            yield self.record(BFF, when, event_type="tenant.spoof_rejected", outcome="rejected",
                              reason="tenant_spoof", route="POST /v1/sessions", status=403, **attacker)
        else:
            yield self.record(BFF, when, event_type="session.rejected", outcome="rejected",
                              reason="session_not_found", route="POST /v1/sessions/{session_id}/messages",
                              status=404, **attacker)


def hourly_counts(requests: int) -> tuple[list[int], int]:
    """(ordinary requests per hour, attack requests in the burst hour) for a day of ``requests``."""
    weights = hourly_weights()
    attack_requests = max(1, requests // 40)
    normal = requests - attack_requests
    return [round(normal * w / sum(weights)) for w in weights], attack_requests


def synthetic_day(day: date, requests: int, *, seed: int = 20261129) -> Iterator[tuple[str, str]]:
    """``(function, audit line)`` pairs for about ``requests`` requests over ``day``, in time order per hour."""
    generator = _Day(day, seed)
    rng = generator.rng
    counts, attack_requests = hourly_counts(requests)
    attacker = {**generator.identity("globex", "agent-console", 1),
                "principal_id": hashlib.sha256(b"globex:guest:attacker").hexdigest()[:8] + ":b2b-guest"}
    for hour, count in enumerate(counts):
        lines: list[tuple[datetime, tuple[str, str]]] = []
        for _ in range(count):
            tenant, _share, apps, principals = rng.choices(TENANTS, weights=[t[1] for t in TENANTS])[0]
            who = generator.identity(tenant, rng.choice(apps), principals)
            when = _ts(day, hour, rng)
            stream = generator.mistake(when, who) if rng.random() < 0.03 else generator.allowed(when, who)
            lines.extend((when, line) for line in stream)
        if hour == ATTACK_HOUR:
            for _ in range(attack_requests):
                when = _ts(day, hour, rng).replace(minute=rng.randrange(10, 25))
                lines.extend((when, line) for line in generator.attack(when, attacker))
        lines.sort(key=lambda item: item[0])
        yield from (line for _when, line in lines)


def deliver_day(day: date, requests: int, deliver: Callable[[str, list[str]], Any], *,
                batch: int = 500, seed: int = 20261129) -> SyntheticDay:
    """Sends the day to ``deliver(function, lines)`` (one CloudWatch Logs delivery per call)."""
    pending: dict[str, list[str]] = {AUTHORIZER: [], BFF: []}
    records = deliveries = 0
    for function, line in synthetic_day(day, requests, seed=seed):
        pending[function].append(line)
        records += 1
        if len(pending[function]) >= batch:
            deliver(function, pending[function])
            deliveries += 1
            pending[function] = []
    for function, lines in pending.items():
        if lines:
            deliver(function, lines)
            deliveries += 1
    counts, attack_requests = hourly_counts(requests)
    return SyntheticDay(day, sum(counts) + attack_requests, records, deliveries)
