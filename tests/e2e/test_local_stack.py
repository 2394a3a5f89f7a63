"""The whole platform on 127.0.0.1: real HTTP through the API Gateway emulator, the real
authorizer and BFF handlers, moto, a recording agent, the audit sink and compaction."""

from __future__ import annotations

import gzip
import json
import socket
import threading
from collections import Counter
from pathlib import Path

import pytest

from support.tokens import rsa_key
from tenantkit_local.compaction import LocalCompactor
from tenantkit_local.duckdb_engine import DuckDBEngine
from tenantkit_local.issuer import LocalIssuer
from tenantkit_local.stack import LocalStack, PortInUseError, StackConfig
from tenantkit_local.traffic import TrafficDriver

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("lake")
    threads_before = {t.name for t in threading.enumerate()}
    config = StackConfig(gateway_port=0, issuer_port=0, audit_root=root)
    stack = LocalStack(config, issuer=LocalIssuer(rsa_key(name="stack-issuer")))
    with stack:
        driver = TrafficDriver(stack.url, stack.issuer)
        steps = driver.run(rounds=2)
        received = list(stack.services.agent.received)
        dynamodb = stack.services.moto.client("dynamodb")
        table = stack.services.resource_names["SessionsTable"]
        items = dynamodb.scan(TableName=table)["Items"]
        authorizer_calls = stack.gateway.authorizer_calls
        ports = [int(stack.url.rsplit(":", 1)[1]), stack.jwks.port]
    yield {"steps": steps, "received": received, "items": items, "root": root, "driver": driver,
           "authorizer_calls": authorizer_calls, "ports": ports, "threads_before": threads_before}


def test_every_step_gets_the_status_its_scenario_calls_for(scenario):
    failures = [(s.name, s.expected, s.status, s.body) for s in scenario["steps"] if not s.ok]
    assert failures == []
    assert len(scenario["steps"]) >= 25


def test_authorizer_results_are_cached_per_token(scenario):
    personas = {s.persona for s in scenario["steps"] if s.persona}
    # one authorizer call per distinct token (401s are not cached, and each such step is a new call)
    unauthorized = sum(1 for s in scenario["steps"] if s.status == 401 and s.persona)
    assert scenario["authorizer_calls"] <= len(personas) + unauthorized
    assert scenario["authorizer_calls"] < len(scenario["steps"])


def test_outbound_identity_at_the_agent(scenario):
    received = scenario["received"]
    tenants = Counter(r.headers["X-Tenant-Id"] for r in received)
    assert tenants == {"acme": 3, "globex": 2, "initech": 2}
    tokens = scenario["driver"].tokens.values()
    for request in received:
        text = json.dumps(request.headers) + request.body.decode()
        assert "Authorization" not in request.headers
        secrets = [part for token in tokens for part in (token, *token.split(".")) if len(part) > 16]
        assert not any(secret in text for secret in secrets)
        assert {k.lower(): v for k, v in request.headers.items()}["traceparent"].startswith("00-")
    service = [r for r in received if r.headers["X-Principal-Type"] == "service"]
    assert len(service) == 1 and service[0].headers["X-App-Id"] == "billing-worker"


def test_dynamodb_state(scenario):
    bindings = sorted((i["tenant_id"]["S"], i["app_id"]["S"]) for i in scenario["items"])
    # initech closed its session; the rejected attempts created nothing
    assert bindings == [("acme", "billing-worker"), ("acme", "portal"), ("globex", "agent-console")]


def test_every_table_call_is_signed_with_its_tenants_key(scenario, signing_recorder):
    """The stack's BFF takes the same credential path as in Lambda (TENANT_DATA_ROLE_ARN from
    local/env.json, AssumeRole on moto's STS): each tenant's calls carry that tenant's key."""
    signed = signing_recorder.bff_requests()
    assert {r.envelope[0] for r in signed} >= {"acme", "globex", "initech"}
    assert all(r.problem is None for r in signed)
    assert all(r.issued_for == r.envelope for r in signed)


def test_audit_records_in_raw_and_curated_zones(scenario):
    root: Path = scenario["root"]
    raw = [json.loads(line) for path in root.rglob("raw/**/*.jsonl.gz")
           for line in gzip.decompress(path.read_bytes()).decode().splitlines()]
    kinds = Counter(r["event_type"] for r in raw)
    assert kinds["tenant.spoof_rejected"] == 3
    assert kinds["session.rejected"] == 2
    assert kinds["authz.unauthorized"] == 3  # expired, alg none, foreign key; no token never reaches it
    assert kinds["authz.deny"] == 1  # tenant not onboarded
    reached_bff = [s for s in scenario["steps"]
                   if s.path != "/v1/whoami" and s.status != 401 and s.name != "tenant not onboarded"]
    assert kinds["request.completed"] == len(reached_bff)
    compactor = LocalCompactor(root)
    for dt in sorted({r["ts"][:10] for r in raw}):
        compactor.compact(dt)
    with DuckDBEngine(root) as engine:
        _, rows = engine.adhoc("select tenant_id, count(*) from audit_curated where event_type = "
                               "'request.completed' and tenant_id is not null group by 1 order by 1")
    expected = Counter(r["tenant_id"] for r in raw if r["event_type"] == "request.completed" and r["tenant_id"])
    assert dict(rows) == dict(expected)
    assert {"acme", "globex", "initech"} <= set(dict(rows))


def test_clean_shutdown_leaves_no_port_or_thread(scenario):
    for port in scenario["ports"]:
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0
    lingering = {t.name for t in threading.enumerate() if t.is_alive()} - scenario["threads_before"]
    assert not {name for name in lingering if name in ("local-apigw", "jwks-server", "fake-agent")}


def test_port_taken_is_a_clear_error(tmp_path):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        stack = LocalStack(StackConfig(gateway_port=port, issuer_port=0, audit_root=tmp_path),
                           issuer=LocalIssuer(rsa_key(name="stack-issuer")))
        with pytest.raises(PortInUseError, match=str(port)):
            stack.start()
