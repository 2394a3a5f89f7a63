"""An adversarial matrix over real HTTP through the local stack (API Gateway emulator, the real
authorizer and BFF, moto, the recording agent, the audit sink): strict JSON, identity keys in
every place and spelling, path normalization, foreign sessions and gateway behaviour, for three
tenants, three apps, a service principal and a B2B guest.

Every case asserts the status, the response body's shape, the audit records of the request
(event type, reason, an id-free route, the caller's tenant) and what the agent received (the
canonical JSON of the checked body, or nothing).
"""

from __future__ import annotations

import gzip
import http.client
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from support.tokens import rsa_key
from tenantkit.bff.strict_json import MAX_DEPTH
from tenantkit_local.issuer import LocalIssuer
from tenantkit_local.personas import load_persona
from tenantkit_local.stack import LocalStack, StackConfig

pytestmark = pytest.mark.e2e

TENANT_TIDS = {"acme": "6e1c3a4b-2f7d-4c1e-9a8b-0d5f3e2a1b7c", "globex": "9b2d4f6a-8c1e-4a3b-b5d7-e9f1a2c3d4e5",
               "initech": "3f5a7c9e-1b2d-4e6f-8a0c-2e4f6a8c0e1d"}
PERSONAS = {  # persona -> (tenant, app, principal type)
    "acme-user-v2": ("acme", "portal", "user"),
    "acme-service": ("acme", "billing-worker", "service"),
    "globex-b2b-guest": ("globex", "agent-console", "user"),
    "initech-user-v2": ("initech", "agent-console", "user"),
}
FOREIGN = {"acme": "globex", "globex": "initech", "initech": "acme"}
PROBLEM_KEYS = {"type", "title", "status", "detail", "reason", "correlation_id"}


@dataclass
class Case:
    persona: str
    name: str
    method: str
    path: str
    status: int
    reason: str | None = None  # the problem document's reason
    audit: tuple[str, str] | None = None  # (event_type, reason) this request must write
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    forwards: Any = None  # the object the agent must receive (None: the agent receives nothing)
    route: str | None = None  # the expected request.completed route
    gateway: bool = False  # answered by the gateway itself: no function runs, no audit record


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


def cases_for(persona: str, own: str, foreign_sessions: list[str]) -> list[Case]:
    tenant = PERSONAS[persona][0]
    other = FOREIGN[tenant]
    other_tid = TENANT_TIDS[other]
    message = f"/v1/sessions/{own}/messages"
    route = "POST /v1/sessions/{session_id}/messages"
    cases: list[Case] = []

    def malformed(name: str, body: bytes) -> None:
        cases.append(Case(persona, f"json: {name}", "POST", message, 400, "body_malformed",
                          ("request.rejected", "body_malformed"), body=body, route=route))

    for name, body in [
        ("NaN", b'{"text": NaN}'), ("Infinity", b'{"text": Infinity}'), ("-Infinity", b'{"n": -Infinity}'),
        ("overflow to inf", b'{"n": 1e400}'),
        ("duplicate, caller first", _dup("tenant_id", tenant, other)),
        ("duplicate, caller last", _dup("tenant_id", other, tenant)),
        ("duplicate nested", b'{"text": "x", "m": [{"k": 1, "k": 2}]}'),
        ("duplicate via escape", b'{"text": "x", "te\\u0078t": "y"}'),
        ("lone high surrogate", b'{"text": "\\ud800"}'), ("lone low surrogate", b'{"text": "x\\udfff"}'),
        ("raw surrogate bytes", b'{"text": "\xed\xa0\x80"}'),
        ("invalid UTF-8", b'{"text": "\xff\xfe"}'), ("overlong UTF-8", b'{"text": "\xc0\xaf"}'),
        ("BOM", b'\xef\xbb\xbf{"text": "x"}'),
        ("too deep", b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1)),
        ("identity one level below the depth limit", _deep({"tenant_id": other}, MAX_DEPTH + 1)),
        ("trailing comma", b'{"text": "x",}'), ("single quotes", b"{'text': 'x'}"),
    ]:
        malformed(name, body)

    def spoof(name: str, method: str, path: str, *, body: Any = None, headers: list[tuple[str, str]] = (),
              spoof_route: str | None = None) -> None:
        cases.append(Case(persona, f"spoof: {name}", method, path, 403, "tenant_spoof",
                          ("tenant.spoof_rejected", "tenant_spoof"), headers=list(headers),
                          body=_json(body) if body is not None else b"", route=spoof_route or f"{method} /v1/sessions"
                          if path == "/v1/sessions" else spoof_route or route))

    for key, value in [
        ("tenant_id", other), ("tid", other_tid), ("org_id", other), ("organizationId", other),
        ("Tenant-ID", other), ("TENANT_ID", other), ("tenant.id", other), ("tenantIds", [other]),
        ("workspace_id", other), ("directory_id", other_tid), ("app_id", "portal-x"), ("client_id", "x"),
        ("azp", "1d7b2e8f-0000-4f3b-8d9c-8e7f6a5b4c3d"), ("oid", "b4444444-0000-4444-8444-444444444444"),
        ("user_id", "someone"), ("principal", "someone"),
        ("tenant_id", {"id": tenant}), ("tenant_id", [tenant]), ("tenant_id", True), ("tenant_id", 7),
        ("tenant_id", None), ("tenant_id", tenant.upper()), ("tenant_id", f" {tenant}"),
    ]:
        spoof(f"body {key}={value!r}", "POST", message, body={"text": "hi", key: value})
    spoof("body at the deepest accepted level", "POST", message, body=json.loads(_deep({"tid": other_tid}, MAX_DEPTH)))
    spoof("body in list", "POST", "/v1/sessions", body={"items": [1, {"ctx": [{"orgId": other}]}]})
    for name, query in [("tenantId", f"tenantId={other}"), ("repeated", f"tenant={tenant}&tenant={other}"),
                        ("repeated reversed", f"tenant={other}&tenant={tenant}"), ("tid", f"tid={other_tid}"),
                        ("encoded name", f"tenant%5Fid={other}"), ("app", "app_id=portal2")]:
        spoof(f"query {name}", "POST", f"{message}?{query}", body={"text": "hi"})
    for name, headers in [
        ("X-Tenant-Id", [("X-Tenant-Id", other)]),
        ("repeated, foreign first", [("X-Tenant-Id", other), ("X-Tenant-Id", tenant)]),
        ("repeated, foreign last", [("X-Tenant-Id", tenant), ("x-tenant-id", other)]),
        ("X-Org-Id", [("X-Org-Id", other)]), ("X-Tid", [("X-Tid", other_tid)]),
        ("X-MS-CLIENT-PRINCIPAL-ID", [("X-MS-CLIENT-PRINCIPAL-ID", "d7777777-7777-4777-8777-777777777777")]),
        ("x-amzn-oidc-identity", [("x-amzn-oidc-identity", "someone")]), ("X-App-Id", [("X-App-Id", "other")]),
    ]:
        spoof(f"header {name}", "POST", message, body={"text": "hi"}, headers=headers)
    for name, path, expected_route in [
        ("tenants", f"/v1/tenants/{other}/sessions", "POST /v1/tenants/{tenant_id}/sessions"),
        ("TENANT", f"/v1/TENANT/{other}/sessions", "POST /v1/tenants/{tenant_id}/sessions"),
        ("org", f"/v1/org/{other}/sessions", "POST /v1/tenants/{tenant_id}/sessions"),
        ("tid", f"/v1/tid/{other_tid}/sessions", "POST /v1/tenants/{tenant_id}/sessions"),
        ("encoded marker", f"/v1/%74enants/{other}/sessions", "POST /v1/tenants/{tenant_id}/sessions"),
        ("double-encoded", f"/v1/tenants%252F{other}/sessions", "POST /v1/tenants/{tenant_id}/sessions"),
        ("matrix", f"/v1/sessions;tenant_id={other}", "POST /v1/{segment}"),
        ("apps", "/v1/apps/some-other-app/sessions", "POST /v1/apps/{app_id}/sessions"),
    ]:
        spoof(f"path {name}", "POST", path, body={"text": "hi"}, spoof_route=expected_route)

    def forwarded(name: str, path: str, body: bytes, expected: Any, *, headers: list[tuple[str, str]] = ()) -> None:
        cases.append(Case(persona, f"forward: {name}", "POST", path, 200, headers=list(headers), body=body,
                          forwards=expected, route=route))

    own_tid = TENANT_TIDS[tenant]
    forwarded("own tenant_id", message, _json({"text": "a", "tenant_id": tenant}), {"text": "a", "tenant_id": tenant})
    forwarded("own tid", message, _json({"text": "b", "tid": own_tid}), {"text": "b", "tid": own_tid})
    forwarded("own header, twice", message, _json({"text": "c"}), {"text": "c"},
              headers=[("X-Tenant-Id", tenant), ("X-Tenant-Id", tenant)])
    pretty = '{\n  "text" : "caf\u00e9 \\ud83d\\ude00",\n  "n": 1.50, "deep": [[{"x": null}]]\n}'.encode()
    forwarded("pretty body is re-serialized", message, pretty, {"text": "caf\u00e9 \U0001F600", "n": 1.5,
                                                                "deep": [[{"x": None}]]})
    for name, path in [("Sessions/Messages", f"/v1/Sessions/{own}/Messages"),
                       ("empty segments", f"/v1//sessions//{own}/messages/"),
                       ("singular", f"/v1/session/{own}/message"), ("encoded", f"/v1/%73essions/{own}/messages"),
                       ("double-encoded", f"/v1/%2573essions/{own}/%256dessages"),
                       ("encoded slash", f"/v1/sessions%2F{own}%2Fmessages")]:
        forwarded(f"path {name}", path, _json({"text": name}), {"text": name})

    for name, path in [("dot", f"/v1/sessions/{own}/./messages"), ("dot-dot", f"/v1/sessions/x/../{own}/messages"),
                       ("encoded dot-dot", f"/v1/sessions/%2e%2e/{own}/messages"),
                       ("double-encoded dot", f"/v1/sessions/{own}/%252e/messages"),
                       ("backslash", f"/v1/sessions%5C{own}/messages"), ("NUL", f"/v1/sessions/{own}%00/messages")]:
        cases.append(Case(persona, f"path: {name}", "POST", path, 400, "path_malformed",
                          ("request.rejected", "path_malformed"), body=_json({"text": "x"}),
                          route="POST /{malformed_path}"))
    for index, foreign in enumerate(foreign_sessions):
        for spelling in ("sessions", "SESSIONS", "session"):
            cases.append(Case(persona, f"foreign session {index} via {spelling}", "POST",
                              f"/v1/{spelling}/{foreign}/messages", 404, "session_not_found",
                              ("session.rejected", None), body=_json({"text": "let me in"}), route=route))
    cases.append(Case(persona, "OPTIONS reaches the BFF", "OPTIONS", "/v1/me", 404, "route_not_found",
                      route="OPTIONS /v1/me"))
    cases.append(Case(persona, "HEAD reaches the BFF", "HEAD", f"/v1/sessions/{own}", 404,
                      route="HEAD /v1/sessions/{session_id}"))
    cases.append(Case(persona, "unknown resource", "GET", "/v2/sessions", 403, gateway=True))
    cases.append(Case(persona, "resource paths are case-sensitive at the gateway", "GET", "/V1/me", 403,
                      gateway=True))
    return cases


def _dup(key: str, first: str, second: str) -> bytes:
    return f'{{"text": "x", "{key}": "{first}", "{key}": "{second}"}}'.encode()


def _deep(inner: dict[str, Any], depth: int) -> bytes:
    """``inner`` at nesting level ``depth`` (``inner`` itself is one level)."""
    text = json.dumps(inner)
    for _ in range(depth - 1):
        text = '{"a": ' + text + "}"
    return text.encode()


@dataclass
class Outcome:
    case: Case
    status: int
    headers: dict[str, str]
    body: bytes
    audits: list[dict[str, Any]]
    received: list[Any]


def send(port: int, case: Case, token: str) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.putrequest(case.method, case.path, skip_accept_encoding=True)
    connection.putheader("Authorization", f"Bearer {token}")
    if case.body:
        connection.putheader("Content-Type", "application/json")
    for name, value in case.headers:
        connection.putheader(name, value)
    connection.putheader("Content-Length", str(len(case.body)))
    connection.endheaders(case.body)
    response = connection.getresponse()
    result = response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    connection.close()
    return result


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("matrix-lake")
    issuer = LocalIssuer(rsa_key(name="matrix-issuer"))
    with LocalStack(StackConfig(gateway_port=0, issuer_port=0, audit_root=root), issuer=issuer) as stack:
        audits: list[dict[str, Any]] = []
        deliver = stack.gateway.on_invocation

        def record(function: str, invocation: Any) -> None:
            audits.extend(r for r in invocation.log_records() if r.get("record_type") == "audit")
            deliver(function, invocation)

        stack.gateway.on_invocation = record
        tokens = {name: issuer.mint(load_persona(name)) for name in PERSONAS}
        sessions = {}
        for name in PERSONAS:
            status, _, body = send(stack.gateway.port, Case(name, "open", "POST", "/v1/sessions", 201), tokens[name])
            assert status == 201
            sessions[name] = json.loads(body)["session_id"]
        cases = [case for name in PERSONAS for case in cases_for(
            name, sessions[name], [s for other, s in sessions.items() if other != name])]
        agent = stack.services.agent
        outcomes = []
        for case in cases:
            audits.clear()
            seen = len(agent.received)
            status, headers, body = send(stack.gateway.port, case, tokens[case.persona])
            outcomes.append(Outcome(case, status, headers, body, list(audits), list(agent.received[seen:])))
    yield {"outcomes": outcomes, "sessions": sessions, "root": root}


def test_the_matrix_is_large_and_covers_every_class_and_persona(matrix):
    cases = [o.case for o in matrix["outcomes"]]
    assert len(cases) >= 300
    classes = Counter(c.name.split(":")[0].split(" ")[0] for c in cases)
    assert {"json", "spoof", "forward", "path", "foreign", "OPTIONS", "HEAD", "unknown"} <= set(classes)
    assert set(Counter(c.persona for c in cases)) == set(PERSONAS)


def test_status_and_response_shape(matrix):
    failures = []
    for outcome in matrix["outcomes"]:
        case = outcome.case
        problems = []
        if outcome.status != case.status:
            problems.append(f"status {outcome.status}")
        elif case.gateway:
            if json.loads(outcome.body) != {"message": "Missing Authentication Token"}:
                problems.append("gateway body")
        elif case.method == "HEAD":
            if outcome.body != b"":
                problems.append("HEAD has a body")
        elif case.reason is not None:
            problem = json.loads(outcome.body)
            if set(problem) != PROBLEM_KEYS or problem["reason"] != case.reason or problem["status"] != case.status:
                problems.append(f"problem {problem}")
            if outcome.headers.get("content-type") != "application/problem+json":
                problems.append("content type")
            if problem["correlation_id"] != outcome.headers.get("x-correlation-id"):
                problems.append("correlation id")
        else:
            reply = json.loads(outcome.body)
            if reply["received_identity"]["X-Tenant-Id"] != PERSONAS[case.persona][0]:
                problems.append("agent saw another tenant")
        if problems:
            failures.append((case.persona, case.name, problems, outcome.body[:200]))
    assert failures == [], '\n'.join(map(repr, failures))


def test_audit_records(matrix):
    sessions = set(matrix["sessions"].values())
    failures = []
    for outcome in matrix["outcomes"]:
        case, audits = outcome.case, outcome.audits
        tenant, app, _ = PERSONAS[case.persona]
        problems = []
        if case.gateway:
            problems += ["gateway answer was audited"] if audits else []
        else:
            bff = [a for a in audits if not a["event_type"].startswith("authz.")]
            if [a["event_type"] for a in bff][-1:] != ["request.completed"]:
                problems.append("no request.completed")
            if case.audit is not None:
                event_type, reason = case.audit
                if not any(a["event_type"] == event_type and reason in (None, a["reason"]) for a in bff):
                    problems.append(f"no {case.audit}")
            if case.route is not None and {a["route"] for a in bff} != {case.route}:
                problems.append(f"routes {sorted({a['route'] for a in bff})}")
            for record in bff:
                if (record.get("tenant_id"), record.get("app_id")) != (tenant, app):
                    problems.append("identity in record")
        for record in audits:
            route = record.get("route", "")
            leaked = [s for s in sessions if s in route] + [t for t in list(FOREIGN) + list(TENANT_TIDS.values())
                                                            if t in route]
            if leaked:
                problems.append(f"route leaks {leaked}")
        if problems:
            failures.append((case.persona, case.name, problems))
    assert failures == [], '\n'.join(map(repr, failures))


def test_the_agent_receives_exactly_the_checked_object_or_nothing(matrix):
    failures = []
    for outcome in matrix["outcomes"]:
        case = outcome.case
        if case.forwards is None:
            if outcome.received:
                failures.append((case.persona, case.name, "forwarded"))
            continue
        if len(outcome.received) != 1:
            failures.append((case.persona, case.name, f"{len(outcome.received)} upstream calls"))
            continue
        request = outcome.received[0]
        tenant, app, _ = PERSONAS[case.persona]
        expected_bytes = json.dumps(case.forwards, ensure_ascii=False, separators=(",", ":")).encode()
        if json.loads(request.body) != case.forwards or request.body != expected_bytes:
            failures.append((case.persona, case.name, request.body))
        if (request.headers.get("X-Tenant-Id"), request.headers.get("X-App-Id")) != (tenant, app):
            failures.append((case.persona, case.name, "outbound identity"))
    assert failures == [], '\n'.join(map(repr, failures))


def test_the_raw_zone_holds_the_same_records_without_ids_in_routes(matrix):
    root: Path = matrix["root"]
    raw = [json.loads(line) for path in root.rglob("raw/**/*.jsonl.gz")
           for line in gzip.decompress(path.read_bytes()).decode().splitlines()]
    spoofs = sum(1 for o in matrix["outcomes"] if o.case.audit and o.case.audit[0] == "tenant.spoof_rejected")
    assert Counter(r["event_type"] for r in raw)["tenant.spoof_rejected"] == spoofs
    routes = {r.get("route", "") for r in raw}
    for secret in [*matrix["sessions"].values(), *FOREIGN, *TENANT_TIDS.values()]:
        assert not any(secret in route for route in routes), secret
