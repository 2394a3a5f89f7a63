"""Every recorded BFF event, replayed through template.yaml's BffProxyFunction with local
services (moto, a recording agent), gives the outcome its scenario calls for; the inbound
token never leaves the BFF and never reaches a log line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.tokens import rsa_key
from tenantkit.bff.sessions import DynamoDbSessionRepository
from tenantkit_local.cloud import LocalServices, environment
from tenantkit_local.events import EventRenderer, event_files, load_event
from tenantkit_local.issuer import LocalIssuer
from tenantkit_local.replay import proxy_outcome
from tenantkit_local.runner import FunctionRunner
from tenantkit_local.template import function_spec, load_env_vars

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events" / "bff_proxy"

# (status, client-visible reason, audit event_type:reason lines except request.completed)
EXPECTED = {
    "me": (200, None, []),
    "create-session": (201, None, ["session.bound:session_created"]),
    "get-session": (200, None, []),
    "send-message": (200, None, ["session.continued:session_bound_to_caller"]),
    "service-send-message": (200, None, ["session.continued:session_bound_to_caller"]),
    "guest-send-message": (200, None, ["session.continued:session_bound_to_caller"]),
    "delete-session": (204, None, ["session.deleted:session_deleted"]),
    # another tenant's session id names no key the caller's tenant-scoped credentials can reach
    "reject-cross-tenant-session": (404, "session_not_found", ["session.rejected:session_not_found"]),
    "reject-cross-principal-session": (404, "session_not_found", ["session.rejected:session_cross_principal"]),
    "reject-unknown-session": (404, "session_not_found", ["session.rejected:session_not_found"]),
    "reject-spoof-body": (403, "tenant_spoof", ["tenant.spoof_rejected:tenant_spoof"]),
    "reject-spoof-nested-body": (403, "tenant_spoof", ["tenant.spoof_rejected:tenant_spoof"]),
    "reject-spoof-query": (403, "tenant_spoof", ["tenant.spoof_rejected:tenant_spoof"]),
    "reject-spoof-header": (403, "tenant_spoof", ["tenant.spoof_rejected:tenant_spoof"]),
    "reject-spoof-path": (403, "tenant_spoof", ["tenant.spoof_rejected:tenant_spoof"]),
    "reject-abac-scope-missing": (403, "scope_missing", ["abac.deny:scope_missing"]),
    "reject-abac-service-delete": (403, "service_principal_not_permitted",
                                   ["abac.deny:service_principal_not_permitted"]),
    "reject-bad-json": (400, "body_malformed", ["request.rejected:body_malformed"]),
    "reject-unknown-route": (404, "route_not_found", []),
    "reject-no-envelope": (401, "envelope_missing", ["request.rejected:envelope_missing"]),
    # a cached authorizer Allow replayed after the token expired (revocation bound: exp + leeway)
    "reject-token-expired": (401, "token_expired", ["authz.unauthorized:token_expired"]),
}


@pytest.fixture(scope="module")
def signing_start() -> int:
    from support.signing import RECORDER

    return RECORDER.cursor()


@pytest.fixture(scope="module")
def replay(signing_start):
    env_vars = load_env_vars(ROOT / "local" / "env.json")
    registry = env_vars["AuthorizerFunction"]["TENANT_REGISTRY"]
    with LocalServices() as services, environment(services.moto.environment()):
        env_vars["BffProxyFunction"].update(services.function_overrides())
        spec = function_spec(ROOT / "template.yaml", "BffProxyFunction", env_vars=env_vars,
                             resource_names=services.resource_names)
        store = DynamoDbSessionRepository(spec.environment["SESSIONS_TABLE"],
                             clients=services.moto.tenant_scoped_clients())
        renderer = EventRenderer(LocalIssuer(rsa_key(name="bff-replay")), registry_json=registry,
                                 session_factory=lambda envelope: store.create(envelope).session_id)
        runner = FunctionRunner(spec)
        results = {}
        for path in event_files([EVENTS]):
            event = renderer.render(load_event(path))
            results[path.stem] = (event, runner.invoke(event))
        yield results, services, renderer


def test_every_recorded_event_has_an_expectation():
    assert {p.stem for p in event_files([EVENTS])} == set(EXPECTED)


@pytest.mark.e2e
@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_recorded_bff_event(case, replay):
    results, _, _ = replay
    _, invocation = results[case]
    outcome = proxy_outcome(case, invocation)
    status, reason, audits = EXPECTED[case]
    assert outcome.status == status, invocation.response
    assert outcome.reason == (reason or "-")
    assert outcome.audit == (" ".join(audits) or "-")
    completed = [r for r in invocation.log_records() if r.get("event_type") == "request.completed"]
    assert len(completed) == 1 and completed[0]["status"] == status


@pytest.mark.e2e
def test_inbound_token_never_forwarded_or_logged(replay):
    results, services, renderer = replay
    tokens = [renderer.token(p) for p in ("acme-user-v2", "acme-user-v1", "acme-service", "globex-b2b-guest")]
    forwarded = json.dumps([r.headers for r in services.agent.received]) + "".join(
        r.body.decode() for r in services.agent.received)
    assert len(services.agent.received) == 3
    logs = "\n".join(line for _, invocation in results.values() for line in invocation.log_lines)
    for token in tokens:
        for secret in [token, *[s for s in token.split(".") if len(s) > 16]]:
            assert secret not in forwarded and secret not in logs
    assert "authorization" not in forwarded.lower()
    tenants = {r.headers["X-Tenant-Id"] for r in services.agent.received}
    assert tenants == {"acme", "globex"}


@pytest.mark.e2e
def test_bff_lines_follow_the_same_contract_as_the_authorizer(replay):
    """Every BFF stdout line carries the contract fields of docs/schemas/log-contract.json; audit
    lines validate as AuditRecord; service is the BFF's."""
    from tenantkit.audit import AuditRecord

    contract = json.loads((ROOT / "docs" / "schemas" / "log-contract.json").read_text())
    results, _, _ = replay
    audits = 0
    for case, (_, invocation) in results.items():
        for line in invocation.log_lines:
            record = json.loads(line)
            assert set(contract["log_fields"]) <= set(record), (case, line)
            assert record["service"] == "tenantkit-bff"
            if record.get("record_type") == "audit":
                AuditRecord.model_validate_json(line)
                audits += 1
                if record["tenant_id"] is not None:
                    assert record["correlation_id"] == f"replay-{case}"
    assert audits >= len(results)


@pytest.mark.e2e
def test_table_calls_were_signed_with_the_envelope_tenants_keys(replay, signing_start, signing_recorder):
    """Positive control of the suite-wide signing check: the replayed BFF did make table calls,
    each signed with the key AssumeRole issued for its envelope's (tenant, app), one key per
    pair (the function's container assumed the role once per pair)."""
    signed = [r for r in signing_recorder.bff_requests(signing_start) if r.operation]
    assert signed and all(r.problem is None for r in signed)
    assert len({r.envelope for r in signed}) >= 2  # more than one tenant or app, one key each
    assert len({r.access_key for r in signed}) == len({r.envelope for r in signed})
