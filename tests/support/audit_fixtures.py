"""The audit fixture for query-pack and dashboard tests: ``tests/fixtures/audit/records.jsonl``.

A deterministic, schema-valid slice of a pooled platform: three tenants (acme busiest, then globex,
then initech), two apps, users and a service principal, over 2026-11-27 and 2026-11-28 (the range
the tests query) plus one hour on the day before and one on the day after (outside it: a query
without its partition predicate would count them). Sessions are bound, used, deleted, expired;
upstream calls fail now and then; and the attacks are there: tenant spoofing, another tenant's
session id, Cedar tenant mismatches, unknown sessions, authorizer denials and 401s.

The committed file is what :func:`generate_records` returns (a unit test keeps them equal);
regenerate with ``.venv/bin/python tests/support/audit_fixtures.py``. :func:`build_zones` writes
it in the sink's raw layout (every 7th record delivered twice, in another object) and compacts
every day with the query pack, so the tests read the curated zone the way Athena would.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import sys
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FIXTURE_FILE = ROOT / "tests" / "fixtures" / "audit" / "records.jsonl"
FROM_DT, TO_DT = "2026-11-27", "2026-11-28"
REDELIVER_EVERY = 7

TENANTS = {  # tenant -> (IdP tenant id, shortened; conversations per busy hour; users)
    "acme": ("0b6a1c52", 3, 4),
    "globex": ("5d2e9f10", 2, 3),
    "initech": ("9a8b7c6d", 1, 2),
}
APPS = ("portal", "agent-console")
HOURS = {  # UTC day -> hours with traffic
    "2026-11-26": (23,),
    "2026-11-27": (8, 9, 14, 20),
    "2026-11-28": (0, 9, 10, 16),
    "2026-11-29": (1,),
}
PROFILE_ARN = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/fixture01"
AUTHORIZER_ROUTES = {"GET": "GET /v1/{proxy+}", "POST": "POST /v1/{proxy+}", "DELETE": "DELETE /v1/{proxy+}"}


class _Builder:
    def __init__(self, seed: int = 20261127) -> None:
        self.rng = random.Random(seed)
        self.records: list[dict[str, Any]] = []
        self.open_sessions: dict[str, list[str]] = defaultdict(list)  # tenant -> session ids

    def hex(self, bits: int = 128) -> str:
        return f"{self.rng.getrandbits(bits):0{bits // 4}x}"

    def principal(self, tenant: str, index: int | None = None) -> str:
        tid, _, users = TENANTS[tenant]
        number = self.rng.randrange(users) if index is None else index
        return f"{tid}:user-{number}"

    def session_id(self) -> str:
        return "h1:" + self.hex()

    def add(self, when: datetime, event_type: str, outcome: str, reason: str, **fields: Any) -> datetime:
        from tenantkit.audit.schema import AuditRecord

        ts = when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        record = AuditRecord(event_id=self.hex(), ts=ts, event_type=event_type, outcome=outcome, reason=reason,
                             **fields)
        self.records.append(json.loads(record.model_dump_json()))
        return when + timedelta(milliseconds=self.rng.randrange(20, 900))

    def identity(self, tenant: str | None, app: str | None, principal: str | None,
                 principal_type: str = "user") -> dict[str, Any]:
        return {"tenant_id": tenant, "app_id": app, "principal_id": principal,
                "principal_type": principal_type if principal else None, "correlation_id": self.hex(64)}

    def authorize(self, when: datetime, method: str, who: dict[str, Any]) -> datetime:
        return self.add(when, "authz.allow", "allow", "verified", service="tenantkit-authorizer",
                        route=AUTHORIZER_ROUTES[method], status=200,
                        latency_ms=round(self.rng.uniform(0.08, 0.9), 3), **who)

    def completed(self, when: datetime, route: str, status: int, who: dict[str, Any], latency: float,
                  **extra: Any) -> datetime:
        return self.add(when, "request.completed", "success" if status < 400 else "error", f"http_{status}",
                        service="tenantkit-bff", route=route, status=status, latency_ms=round(latency, 3),
                        **who, **extra)

    # --- normal traffic ---------------------------------------------------------------------------

    def conversation(self, when: datetime, tenant: str) -> None:
        rng = self.rng
        app = rng.choice(APPS)
        service_principal = tenant == "acme" and rng.random() < 0.2
        who = self.identity(tenant, app, self.principal(tenant), "service" if service_principal else "user")
        # One authorizer decision per conversation: API Gateway caches it per token.
        when = self.authorize(when, "POST", who)
        if rng.random() < 0.3:
            when = self.completed(when, "GET /v1/me", 200, who, rng.uniform(2, 12))
        session = self.session_id()
        when = self.add(when, "session.bound", "success", "session_created", service="tenantkit-bff",
                        route="POST /v1/sessions", status=201, session_id=session, **who)
        when = self.completed(when, "POST /v1/sessions", 201, who, rng.uniform(5, 45), session_id=session)
        messages = "POST /v1/sessions/{session_id}/messages"
        for _ in range(rng.randrange(1, 4)):
            when = self.add(when, "session.continued", "success", "session_bound_to_caller",
                            service="tenantkit-bff", route=messages, session_id=session, **who)
            latency = min(rng.lognormvariate(6.6, 0.6), 29_000)
            failure = rng.random()
            if failure < 0.07:
                when = self.add(when, "upstream.error", "error", "upstream_timeout", service="tenantkit-bff",
                                route=messages, status=504, session_id=session, **who)
                when = self.completed(when, messages, 504, who, 30_000 + rng.uniform(0, 50), session_id=session,
                                      agent_name="support-agent", inference_profile_arn=PROFILE_ARN)
            elif failure < 0.12:
                when = self.add(when, "upstream.error", "error", "upstream_http_error", service="tenantkit-bff",
                                route=messages, status=502, session_id=session, **who)
                when = self.completed(when, messages, 502, who, latency, session_id=session,
                                      agent_name="support-agent", inference_profile_arn=PROFILE_ARN)
            else:
                when = self.completed(when, messages, 200, who, latency, session_id=session,
                                      agent_name="support-agent", inference_profile_arn=PROFILE_ARN,
                                      input_tokens=rng.randrange(200, 4000), output_tokens=rng.randrange(50, 900))
        ending = rng.random()
        path = "/v1/sessions/{session_id}"
        if ending < 0.3:
            when = self.add(when, "session.deleted", "success", "session_deleted", service="tenantkit-bff",
                            route=f"DELETE {path}", status=204, session_id=session, **who)
            self.completed(when, f"DELETE {path}", 204, who, rng.uniform(4, 20), session_id=session)
        elif ending < 0.4:
            when = self.add(when, "session.expired", "deny", "session_expired", service="tenantkit-bff",
                            route=f"GET {path}", status=404, session_id=session, **who)
            self.completed(when, f"GET {path}", 404, who, rng.uniform(3, 12), session_id=session)
        else:
            self.open_sessions[tenant].append(session)

    # --- attacks and refusals ---------------------------------------------------------------------

    def bff_rejection(self, when: datetime, tenant: str, event_type: str, reason: str, status: int, route: str,
                      *, session: str | None = None, principal: int | None = None) -> None:
        method = route.split(" ", 1)[0]
        who = self.identity(tenant, self.rng.choice(APPS), self.principal(tenant, principal))
        when = self.authorize(when, method, who)
        outcome = {"tenant.spoof_rejected": "deny", "abac.deny": "deny", "session.rejected": "deny",
                   "request.rejected": "rejected"}[event_type]
        when = self.add(when, event_type, outcome, reason, service="tenantkit-bff", route=route, status=status,
                        session_id=session, **who)
        self.completed(when, route, status, who, self.rng.uniform(2, 9), session_id=session)

    def authorizer_refusal(self, when: datetime, event_type: str, reason: str, tenant: str | None,
                           app: str | None, principal: str | None) -> None:
        status = 403 if event_type == "authz.deny" else 401
        outcome = "deny" if event_type == "authz.deny" else "unauthorized"
        self.add(when, event_type, outcome, reason, service="tenantkit-authorizer",
                 route=AUTHORIZER_ROUTES["POST"], status=status, latency_ms=round(self.rng.uniform(0.05, 1.5), 3),
                 **self.identity(tenant, app, principal))

    def attacks(self, when: datetime, dt: str, hour: int) -> None:
        rng = self.rng
        if dt == "2026-11-27" and hour in (9, 14):
            for _ in range(2 if hour == 9 else 1):  # a globex user names acme in the body
                self.bff_rejection(when, "globex", "tenant.spoof_rejected", "tenant_spoof", 403, "POST /v1/sessions",
                                   principal=1)
            self.bff_rejection(when, "initech", "tenant.spoof_rejected", "tenant_spoof", 403, "GET /v1/me",
                               principal=0)
        if dt == "2026-11-28" and hour in (9, 10) and self.open_sessions["acme"]:
            victim = self.open_sessions["acme"][0]  # initech replays an acme session id
            self.bff_rejection(when, "initech", "session.rejected", "session_cross_tenant", 404,
                               "POST /v1/sessions/{session_id}/messages", session=victim, principal=1)
            self.bff_rejection(when, "initech", "abac.deny", "tenant_mismatch", 403,
                               "GET /v1/sessions/{session_id}", session=victim, principal=1)
        if hour in (8, 16):
            self.bff_rejection(when, "acme", "session.rejected", "session_not_found", 404,
                               "GET /v1/sessions/{session_id}", session=self.session_id())
            self.bff_rejection(when, "globex", "abac.deny", "scope_missing", 403, "POST /v1/sessions")
        if hour == 20:
            self.bff_rejection(when, "acme", "session.rejected", "session_id_malformed", 404,
                               "GET /v1/sessions/{session_id}", session="not-a-session")
            self.bff_rejection(when, "globex", "request.rejected", "body_malformed", 400, "POST /v1/sessions")
        for _ in range(rng.randrange(1, 4)):
            kind = rng.random()
            if kind < 0.4:
                self.authorizer_refusal(when, "authz.unauthorized", rng.choice(["token_expired", "signature_invalid"]),
                                        None, None, None)
            elif kind < 0.6:
                self.authorizer_refusal(when, "authz.deny", "tenant_not_onboarded", None, None, None)
            elif kind < 0.8:
                self.authorizer_refusal(when, "authz.deny", "scope_missing", "globex", "portal",
                                        self.principal("globex"))
            else:
                self.authorizer_refusal(when, "authz.deny", "app_not_registered", "acme", None,
                                        self.principal("acme"))
        if hour == 0:  # a BFF reached without the authorizer's context (no tenant)
            self.add(when, "request.rejected", "unauthorized", "envelope_missing", service="tenantkit-bff",
                     route="GET /v1/me", status=401)
            self.add(when, "request.completed", "error", "http_401", service="tenantkit-bff", route="GET /v1/me",
                     status=401, latency_ms=1.25)


def generate_records() -> list[dict[str, Any]]:
    builder = _Builder()
    for dt, hours in HOURS.items():
        for hour in hours:
            start = datetime.fromisoformat(dt).replace(hour=hour, tzinfo=UTC)
            busy = dt in (FROM_DT, TO_DT)
            for tenant, (_, per_hour, _) in TENANTS.items():
                count = per_hour if busy else (1 if tenant == "acme" else 0)
                for _ in range(count):
                    builder.conversation(start + timedelta(seconds=builder.rng.randrange(0, 3000)), tenant)
            if busy:
                builder.attacks(start + timedelta(seconds=builder.rng.randrange(0, 3000)), dt, hour)
    return sorted(builder.records, key=lambda r: (r["ts"], r["event_id"]))


def load_records() -> list[dict[str, Any]]:
    """The committed fixture (null fields left out), as full records: every AuditRecord key present."""
    from tenantkit.audit.schema import AuditRecord

    return [json.loads(AuditRecord(**json.loads(line)).model_dump_json())
            for line in FIXTURE_FILE.read_text().splitlines() if line]


def dump(records: list[dict[str, Any]], *, compact: bool = False) -> str:
    """JSON lines; ``compact`` leaves out null fields (the committed file), the sink writes every key."""
    rows = [{k: v for k, v in r.items() if v is not None} if compact else r for r in records]
    return "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in rows)


def write_raw_zone(root: Path, records: list[dict[str, Any]]) -> int:
    """The sink's layout (gzip JSON lines under raw/dt=/hour=), with redeliveries: every
    REDELIVER_EVERY-th record is written a second time, in another object. Returns objects written."""
    batches: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for index, record in enumerate(records):
        dt, hour = record["ts"][:10], record["ts"][11:13]
        batches[(dt, hour, "a")].append(record)
        if index % REDELIVER_EVERY == 0:
            batches[(dt, hour, "redelivery")].append(record)
    for (dt, hour, batch), lines in batches.items():
        folder = root / "raw" / f"dt={dt}" / f"hour={hour}"
        folder.mkdir(parents=True, exist_ok=True)
        name = hashlib.sha256(f"{dt}/{hour}/{batch}".encode()).hexdigest()[:32]
        (folder / f"{name}.jsonl.gz").write_bytes(gzip.compress(dump(lines).encode(), mtime=0))
    return len(batches)


def build_zones(root: Path, records: list[dict[str, Any]] | None = None) -> list[str]:
    """Raw zone + curated zone (LocalCompactor, the compaction query pack) for every day; returns the days."""
    from tenantkit_local.compaction import LocalCompactor

    write_raw_zone(root, load_records() if records is None else records)
    days = sorted(p.name.removeprefix("dt=") for p in (root / "raw").glob("dt=*"))
    compactor = LocalCompactor(root)
    for dt in days:
        compactor.compact(dt)
    return days


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "layers" / "tenantkit"))
    FIXTURE_FILE.parent.mkdir(parents=True, exist_ok=True)
    FIXTURE_FILE.write_text(dump(generate_records(), compact=True))
    print(f"wrote {FIXTURE_FILE}", file=sys.stderr)
