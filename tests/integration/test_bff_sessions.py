"""BFF against real local servers: moto (STS + DynamoDB) and a recording HTTP agent, on 127.0.0.1.

Covers binding, continuity, cross-tenant/app/principal reuse, expiry, spoofing through body,
query, path and headers, ABAC denials, outbound identity, upstream failures and the bind race.
Every table call is signed with credentials AssumeRole issued for the envelope's tenant and app
(checked for every test by the signing recorder in tests/conftest.py).
"""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from support.bff import envelope, proxy_event
from tenantkit.abac import PolicyEngine
from tenantkit.bff import BffApi, BffConfig, BffService, DynamoDbSessionRepository
from tenantkit.bff.outbound import HttpUpstream
from tenantkit.bff.sessions import SESSION_ID_PATTERN, SessionConflictError, partition_key
from tenantkit_local.cloud import MotoServer, create_table
from tenantkit_local.fake_agent import FakeAgentRuntime

pytestmark = pytest.mark.integration

ALICE = envelope()
ALICE_NO_INVOKE = envelope(scopes=("access_as_user",))
BOB = envelope(oid="a2222222-2222-4222-8222-222222222222")
ALICE_OTHER_APP = envelope(app="agent-console")
GUS_GLOBEX = envelope(tenant="globex", app="portal", oid="b4444444-4444-4444-8444-444444444444")
WORKER = envelope(app="portal", oid="a3333333-3333-4333-8333-333333333333", principal_type="service",
                  scopes=(), roles=("Agents.Invoke",))


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def moto():
    server = MotoServer().start()
    create_table(server.client("dynamodb"), "SessionsTable", "sessions-it")
    yield server
    server.stop()


@pytest.fixture
def agent():
    with FakeAgentRuntime() as runtime:
        yield runtime


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def scoped_clients(moto: MotoServer):
    return moto.tenant_scoped_clients()


@pytest.fixture
def store(scoped_clients, clock: Clock) -> DynamoDbSessionRepository:
    return DynamoDbSessionRepository("sessions-it", ttl_seconds=600, clients=scoped_clients, clock=clock)


def stored_item(moto: MotoServer, env, session_id: str) -> dict | None:
    """The table item as the operator sees it (harness credentials, outside any BFF request)."""
    key = partition_key(env.tenant_id, env.app_id, session_id)
    return moto.client("dynamodb").get_item(TableName="sessions-it", Key={"pk": {"S": key}}).get("Item")


@pytest.fixture
def api(store: DynamoDbSessionRepository, agent: FakeAgentRuntime) -> BffApi:
    config = BffConfig(sessions_table="sessions-it", upstream_mode="http", upstream_url=agent.url,
                       upstream_timeout_seconds=1.0, max_body_bytes=4096, agent_name="support-agent")
    upstream = HttpUpstream(lambda: agent.url, timeout_seconds=config.upstream_timeout_seconds)
    service = BffService(config=config, store=store, upstream=upstream, policy=PolicyEngine.default())
    return BffApi(lambda: service)


def call(api: BffApi, capsys: pytest.CaptureFixture[str], *args: Any, **kwargs: Any) -> tuple[dict, list[dict]]:
    capsys.readouterr()
    response = api.handle(proxy_event(*args, **kwargs), None)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    return response, [line for line in lines if line.get("record_type") == "audit"]


def header(response: dict, name: str) -> str:
    values = {k.lower(): v for k, v in response["multiValueHeaders"].items()}[name.lower()]
    assert len(values) == 1
    return values[0]


def body(response: dict) -> Any:
    return json.loads(response["body"]) if response.get("body") else None


def new_session(api: BffApi, capsys: pytest.CaptureFixture[str], env=ALICE) -> str:
    response, _ = call(api, capsys, "POST", "/v1/sessions", env)
    assert response["statusCode"] == 201, response
    return body(response)["session_id"]


def test_create_binds_session_with_one_conditional_write(api, capsys, moto):
    response, audits = call(api, capsys, "POST", "/v1/sessions", ALICE)
    assert response["statusCode"] == 201
    session_id = body(response)["session_id"]
    assert SESSION_ID_PATTERN.match(session_id) and len(session_id) >= 33
    item = stored_item(moto, ALICE, session_id)
    assert item is not None and item["pk"]["S"] == f"T#acme#A#portal#S#{session_id}"
    assert (item["app_id"]["S"], item["tenant_id"]["S"], item["principal_id"]["S"]) == (
        "portal", "acme", ALICE.principal_id)
    assert item["tenant_key"]["S"].startswith("T#acme#A#portal#SHARD#")
    assert int(item["ttl"]["N"]) > int(item["expires_at"]["N"])
    assert [a["event_type"] for a in audits] == ["session.bound", "request.completed"]
    assert audits[0]["session_id"].startswith("h1:") and session_id not in json.dumps(audits)
    assert header(response, "X-Correlation-Id") == "req-bff-1"


def test_continuity_and_outbound_identity(api, capsys, agent):
    session_id = new_session(api, capsys)
    got, _ = call(api, capsys, "GET", f"/v1/sessions/{session_id}", ALICE)
    assert got["statusCode"] == 200 and body(got)["tenant_id"] == "acme"

    sent, audits = call(api, capsys, "POST", f"/v1/sessions/{session_id}/messages", ALICE, body={"text": "hi"},
                        request_id="req-msg-1")
    assert sent["statusCode"] == 200, sent
    assert body(sent)["reply"] == "echo: hi"
    received = agent.received[-1]
    headers = {k.lower(): v for k, v in received.headers.items()}
    assert headers["x-tenant-id"] == "acme" and headers["x-app-id"] == "portal"
    assert headers["x-principal-id"] == ALICE.principal_id and headers["x-session-id"] == session_id
    assert headers["x-correlation-id"] == "req-msg-1"
    assert headers["traceparent"].startswith("00-") and len(headers["traceparent"]) == 55
    assert headers["baggage"] == "tenant_id=acme,app_id=portal"
    assert "authorization" not in headers and "cookie" not in headers
    assert b"CANARY" not in json.dumps(received.headers).encode() + received.body
    assert json.loads(received.body) == {"text": "hi"}
    completed = audits[-1]
    assert completed["event_type"] == "request.completed" and completed["status"] == 200
    assert (completed["input_tokens"], completed["output_tokens"], completed["agent_name"]) == (42, 7, "support-agent")
    assert completed["route"] == "POST /v1/sessions/{session_id}/messages"


# Another tenant's or app's session is a key the intruder's credentials cannot even name: the
# BFF learns only "not found". Another principal of the same tenant and app reads the item.
@pytest.mark.parametrize(("intruder", "reason"), [
    (GUS_GLOBEX, "session_not_found"),
    (ALICE_OTHER_APP, "session_not_found"),
    (BOB, "session_cross_principal"),
])
@pytest.mark.parametrize("method_path", [("GET", ""), ("POST", "/messages"), ("DELETE", "")])
def test_foreign_session_is_not_found_and_audited(api, capsys, moto, agent, intruder, reason, method_path):
    session_id = new_session(api, capsys)
    method, suffix = method_path
    kwargs = {"body": {"text": "x"}} if method == "POST" else {}
    response, audits = call(api, capsys, method, f"/v1/sessions/{session_id}{suffix}", intruder, **kwargs)
    unknown, _ = call(api, capsys, "GET", "/v1/sessions/s_" + "A" * 43, intruder)
    assert response["statusCode"] == 404
    assert body(response)["reason"] == body(unknown)["reason"] == "session_not_found"
    assert body(response)["detail"] == body(unknown)["detail"]
    rejected = [a for a in audits if a["event_type"] == "session.rejected"]
    assert len(rejected) == 1 and rejected[0]["reason"] == reason
    assert rejected[0]["tenant_id"] == intruder.tenant_id
    item = stored_item(moto, ALICE, session_id)
    assert item is not None and item["principal_id"]["S"] == ALICE.principal_id  # never rebound, never deleted
    assert agent.received == []


def test_expired_session_rejected_before_ttl_deletion(api, capsys, clock):
    session_id = new_session(api, capsys)
    clock.now += 601
    response, audits = call(api, capsys, "POST", f"/v1/sessions/{session_id}/messages", ALICE, body={"text": "x"})
    assert response["statusCode"] == 404 and body(response)["reason"] == "session_expired"
    assert [a["event_type"] for a in audits] == ["session.expired", "request.completed"]


@pytest.mark.parametrize(("where", "kwargs", "path"), [
    ("body", {"body": {"tenant_id": "globex", "text": "x"}}, "/v1/sessions"),
    ("body", {"body": {"metadata": {"context": [{"appId": "agent-console"}]}}}, "/v1/sessions"),
    ("query", {"query": {"tenantId": "globex"}}, "/v1/sessions"),
    ("path", {}, "/v1/tenants/globex/sessions"),
    ("header", {"headers": {"X-Tenant-Id": "globex"}}, "/v1/sessions"),
    ("header", {"headers": {"x-principal-id": "someone-else"}}, "/v1/sessions"),
])
def test_spoofed_identity_is_rejected_and_audited(api, capsys, moto, where, kwargs, path):
    before = moto.client("dynamodb").scan(TableName="sessions-it", Select="COUNT")["Count"]
    response, audits = call(api, capsys, "POST", path, ALICE, **kwargs)
    assert response["statusCode"] == 403 and body(response)["reason"] == "tenant_spoof"
    spoof = [a for a in audits if a["event_type"] == "tenant.spoof_rejected"]
    assert len(spoof) == 1 and spoof[0]["tenant_id"] == "acme" and spoof[0]["outcome"] == "deny"
    assert moto.client("dynamodb").scan(TableName="sessions-it", Select="COUNT")["Count"] == before


def test_identity_values_equal_to_the_envelope_are_not_spoofing(api, capsys):
    response, _ = call(api, capsys, "POST", "/v1/sessions", ALICE, body={"tenant_id": "acme"},
                       headers={"X-Tenant-Id": "acme"})
    assert response["statusCode"] == 201


def test_abac_denials(api, capsys, agent):
    session_id = new_session(api, capsys, ALICE_NO_INVOKE)
    response, audits = call(api, capsys, "POST", f"/v1/sessions/{session_id}/messages", ALICE_NO_INVOKE,
                            body={"text": "x"})
    assert response["statusCode"] == 403
    assert [a["reason"] for a in audits if a["event_type"] == "abac.deny"] == ["scope_missing"]
    worker_session = new_session(api, capsys, WORKER)
    sent, _ = call(api, capsys, "POST", f"/v1/sessions/{worker_session}/messages", WORKER, body={"text": "x"})
    assert sent["statusCode"] == 200
    deleted, audits = call(api, capsys, "DELETE", f"/v1/sessions/{worker_session}", WORKER)
    assert deleted["statusCode"] == 403
    assert [a["reason"] for a in audits if a["event_type"] == "abac.deny"] == ["service_principal_not_permitted"]
    assert len(agent.received) == 1


def test_delete_then_gone(api, capsys):
    session_id = new_session(api, capsys)
    deleted, audits = call(api, capsys, "DELETE", f"/v1/sessions/{session_id}", ALICE)
    assert deleted["statusCode"] == 204 and audits[0]["event_type"] == "session.deleted"
    again, _ = call(api, capsys, "GET", f"/v1/sessions/{session_id}", ALICE)
    assert again["statusCode"] == 404


@pytest.mark.parametrize(("setup", "status", "reason"), [
    ("timeout", 504, "upstream_timeout"),
    ("http500", 502, "upstream_http_error"),
])
def test_upstream_failures_map_to_gateway_errors_without_partial_state(api, capsys, agent, setup, status, reason):
    session_id = new_session(api, capsys)
    if setup == "timeout":
        agent.delay_seconds = 2.0
    else:
        agent.fail_with = 500
    response, audits = call(api, capsys, "POST", f"/v1/sessions/{session_id}/messages", ALICE, body={"text": "x"})
    assert response["statusCode"] == status and body(response)["reason"] == reason
    assert [a["reason"] for a in audits if a["event_type"] == "upstream.error"] == [reason]
    agent.delay_seconds, agent.fail_with = 0.0, None
    still, _ = call(api, capsys, "GET", f"/v1/sessions/{session_id}", ALICE)
    assert still["statusCode"] == 200  # the binding is untouched by the failed turn


def test_unreachable_upstream_is_502(store, capsys):
    config = BffConfig(sessions_table="sessions-it", upstream_mode="http", upstream_url="http://127.0.0.1:9/x")
    upstream = HttpUpstream(lambda: "http://127.0.0.1:9/x", timeout_seconds=1.0)
    api = BffApi(lambda: BffService(config=config, store=store, upstream=upstream, policy=PolicyEngine.default()))
    session_id = new_session(api, capsys)
    response, _ = call(api, capsys, "POST", f"/v1/sessions/{session_id}/messages", ALICE, body={"text": "x"})
    assert response["statusCode"] == 502 and body(response)["reason"] == "upstream_unreachable"


@pytest.mark.parametrize(("kwargs", "status", "reason"), [
    ({"raw_body": "{not json"}, 400, "body_malformed"),
    ({"raw_body": "x" * 5000}, 413, "payload_too_large"),
    ({"raw_body": "a=b", "headers": {"Content-Type": "application/x-www-form-urlencoded"}}, 415,
     "unsupported_media_type"),
])
def test_bad_input_is_a_typed_problem(api, capsys, kwargs, status, reason):
    response, audits = call(api, capsys, "POST", "/v1/sessions", ALICE, **kwargs)
    assert response["statusCode"] == status
    problem = body(response)
    assert problem["reason"] == reason and problem["status"] == status and problem["correlation_id"] == "req-bff-1"
    assert header(response, "Content-Type") == "application/problem+json"
    assert [a["event_type"] for a in audits] == ["request.rejected", "request.completed"]


def test_missing_envelope_and_unknown_route(api, capsys):
    response, audits = call(api, capsys, "GET", "/v1/me", None)
    assert response["statusCode"] == 401 and body(response)["reason"] == "envelope_missing"
    assert audits[0]["event_type"] == "request.rejected"
    unknown, _ = call(api, capsys, "GET", "/v1/nothing-here", ALICE)
    assert unknown["statusCode"] == 404 and body(unknown)["reason"] == "route_not_found"


def test_me_returns_the_envelope_and_nothing_secret(api, capsys):
    response, _ = call(api, capsys, "GET", "/v1/me", ALICE, request_id="req-me")
    me = body(response)
    assert response["statusCode"] == 200
    assert me["tenant_id"] == "acme" and me["correlation_id"] == "req-me"
    assert "CANARY" not in response["body"] and "issuer" not in me


def test_bind_race_within_a_tenant_has_exactly_one_winner(store, moto, scoped_clients):
    session_id = "s_" + "R" * 43
    contenders = [envelope(tenant="acme", oid=f"c{i:07d}-1111-4111-8111-111111111111") for i in range(16)]
    barrier = threading.Barrier(len(contenders))
    winners: list[str] = []
    losers: list[str] = []

    def bind(env):
        barrier.wait()
        try:
            store.bind(session_id, env)
            winners.append(env.principal_id)
        except SessionConflictError:
            losers.append(env.principal_id)

    threads = [threading.Thread(target=bind, args=(env,)) for env in contenders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1 and len(losers) == len(contenders) - 1
    item = stored_item(moto, contenders[0], session_id)
    assert item is not None and item["principal_id"]["S"] == winners[0]
    assert scoped_clients.assume_role_calls == 1  # 16 concurrent first uses, one AssumeRole
    assert set(item) >= {"app_id", "tenant_id", "principal_id", "expires_at", "ttl", "tenant_key"}


def test_routes_in_audit_records_never_carry_ids(api, capsys):
    from tenantkit.bff.api import route_template

    assert route_template("GET", "/v1/tenants/globex/sessions") == "GET /v1/tenants/{tenant_id}/sessions"
    assert route_template("POST", "/v1/sessions/s_x/messages") == "POST /v1/sessions/{session_id}/messages"
    _, audits = call(api, capsys, "GET", "/v1/tenants/globex/sessions", ALICE)
    assert {a["route"] for a in audits} == {"GET /v1/tenants/{tenant_id}/sessions"}
    assert "globex" not in json.dumps(audits)


@pytest.mark.parametrize("bad", ["bad!id", "x" * 300, "a b"])
@pytest.mark.parametrize("method_path", [("GET", ""), ("DELETE", ""), ("POST", "/messages")])
def test_malformed_session_ids_are_404_and_audited(api, capsys, bad, method_path):
    method, suffix = method_path
    kwargs = {"body": {"text": "x"}} if method == "POST" else {}
    response, audits = call(api, capsys, method, f"/v1/sessions/{bad}{suffix}", ALICE, **kwargs)
    assert response["statusCode"] == 404 and body(response)["reason"] == "session_not_found"
    assert [(a["event_type"], a["reason"]) for a in audits] == [
        ("session.rejected", "session_id_malformed"), ("request.completed", "http_404")]
    assert bad not in json.dumps(audits)


def test_deeply_nested_body_is_400(api, capsys):
    response, audits = call(api, capsys, "POST", "/v1/sessions", ALICE, raw_body="[" * 4000)
    assert response["statusCode"] == 400 and body(response)["reason"] == "body_malformed"
    assert audits[0]["event_type"] == "request.rejected"


def test_same_session_id_in_two_tenants_is_two_unrelated_items(store, moto):
    """Ids are server-generated 256-bit values, so a repeat is theoretical; even then the keys
    differ per tenant and neither tenant can reach the other's item."""
    session_id = "s_" + "D" * 43
    store.bind(session_id, ALICE)
    store.bind(session_id, GUS_GLOBEX)
    assert stored_item(moto, ALICE, session_id)["tenant_id"]["S"] == "acme"
    assert stored_item(moto, GUS_GLOBEX, session_id)["tenant_id"]["S"] == "globex"
    assert store.get_for(session_id, GUS_GLOBEX).tenant_id == "globex"


def test_one_assume_role_per_tenant_and_app(api, capsys, scoped_clients, signing_recorder):
    since = signing_recorder.cursor()
    callers = [ALICE, BOB, GUS_GLOBEX, ALICE_OTHER_APP]
    for _ in range(3):
        for caller in callers:
            session_id = new_session(api, capsys, caller)
            got, _ = call(api, capsys, "GET", f"/v1/sessions/{session_id}", caller)
            assert got["statusCode"] == 200
    assert scoped_clients.assume_role_calls == 3  # (acme, portal), (globex, portal), (acme, agent-console)
    assert sorted(scoped_clients.cached_pairs()) == [("acme", "agent-console"), ("acme", "portal"),
                                                     ("globex", "portal")]
    signed = signing_recorder.bff_requests(since)
    assert len(signed) == 24 and all(r.problem is None for r in signed)  # positive control of the recorder
    assert {r.issued_for for r in signed} == {("acme", "portal"), ("globex", "portal"), ("acme", "agent-console")}
    assert len({r.access_key for r in signed}) == 3


def test_sts_failure_is_503_audited_and_never_falls_back(moto, clock, agent, capsys, signing_recorder):
    import socket

    with socket.socket() as probe:  # a port where nothing listens: STS is unreachable
        probe.bind(("127.0.0.1", 0))
        unreachable = f"http://127.0.0.1:{probe.getsockname()[1]}"

    def broken_sts():
        import boto3
        from botocore.config import Config

        return boto3.client("sts", endpoint_url=unreachable, region_name="us-east-1", aws_access_key_id="testing",
                            aws_secret_access_key="testing",
                            config=Config(connect_timeout=0.5, retries={"max_attempts": 1}))

    clients = moto.tenant_scoped_clients(sts_client_factory=broken_sts)
    store = DynamoDbSessionRepository("sessions-it", ttl_seconds=600, clients=clients, clock=clock)
    config = BffConfig(sessions_table="sessions-it", upstream_mode="http", upstream_url=agent.url)
    api = BffApi(lambda: BffService(config=config, store=store, upstream=HttpUpstream(lambda: agent.url,
                                    timeout_seconds=1.0), policy=PolicyEngine.default()))
    since = signing_recorder.cursor()
    for method, path, kwargs in [("POST", "/v1/sessions", {}), ("GET", "/v1/sessions/s_" + "A" * 43, {}),
                                 ("POST", "/v1/sessions/s_" + "A" * 43 + "/messages", {"body": {"text": "x"}})]:
        response, audits = call(api, capsys, method, path, ALICE, **kwargs)
        assert response["statusCode"] == 503, response
        assert body(response)["reason"] == "tenant_credentials_unavailable"
        assert [(a["event_type"], a["outcome"], a["reason"], a["status"]) for a in audits] == [
            ("upstream.error", "error", "tenant_credentials_unavailable", 503),
            ("request.completed", "error", "http_503", 503)]
        assert audits[0]["tenant_id"] == "acme"
    assert signing_recorder.bff_requests(since) == []  # no table call with any other credentials
    assert agent.received == []


def test_credentials_never_reach_logs_audits_or_responses(api, capsys, scoped_clients):
    session_id = new_session(api, capsys)
    capsys.readouterr()
    response = api.handle(proxy_event("POST", f"/v1/sessions/{session_id}/messages", ALICE, body={"text": "hi"}), None)
    output = capsys.readouterr()
    entry = scoped_clients._entries[("acme", "portal")]
    credentials = entry.client._request_signer._credentials.get_frozen_credentials()
    text = output.out + output.err + json.dumps(response) + repr(scoped_clients.__dict__)
    for secret in (credentials.access_key, credentials.secret_key, credentials.token):
        assert secret and secret not in text
