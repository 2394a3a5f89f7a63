"""The SessionRepository port: the in-memory adapter keeps the rules of the DynamoDB one (whose
behaviour on moto is tests/integration/test_bff_sessions.py), and the BFF runs on either."""

from __future__ import annotations

import json

import pytest

from support.bff import envelope, proxy_event
from tenantkit.abac import PolicyEngine
from tenantkit.bff import BffApi, BffConfig, BffService, InMemorySessionRepository, load_bff
from tenantkit.bff.errors import SessionExpiredError, SessionNotFoundError
from tenantkit.bff.sessions import DynamoDbSessionRepository, SessionConflictError
from tenantkit.exceptions import TenantkitError

ALICE = envelope()
BOB = envelope(oid="a2222222-2222-4222-8222-222222222222")
GUS = envelope(tenant="globex", oid="b4444444-4444-4444-8444-444444444444")
ALICE_CONSOLE = envelope(app="agent-console")


class Clock:
    now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_bind_get_delete_and_conflict():
    repository = InMemorySessionRepository(ttl_seconds=60, clock=Clock())
    binding = repository.create(ALICE)
    assert repository.get_for(binding.session_id, ALICE) == binding
    with pytest.raises(SessionConflictError):
        repository.bind(binding.session_id, BOB)
    assert isinstance(SessionConflictError("x"), TenantkitError)
    repository.delete(binding.session_id, ALICE)
    with pytest.raises(SessionNotFoundError):
        repository.get_for(binding.session_id, ALICE)


@pytest.mark.parametrize(("intruder", "reason"), [(GUS, "session_not_found"), (ALICE_CONSOLE, "session_not_found"),
                                                   (BOB, "session_cross_principal")])
def test_foreign_sessions_are_not_found(intruder, reason):
    repository = InMemorySessionRepository()
    session_id = repository.create(ALICE).session_id
    with pytest.raises(SessionNotFoundError) as raised:
        repository.get_for(session_id, intruder)
    assert raised.value.reason == reason and raised.value.public_reason == "session_not_found"
    with pytest.raises(SessionNotFoundError):
        repository.delete(session_id, intruder)
    assert repository.get_for(session_id, ALICE).principal_id == ALICE.principal_id


def test_expired_and_malformed():
    clock = Clock()
    repository = InMemorySessionRepository(ttl_seconds=60, clock=clock)
    session_id = repository.create(ALICE).session_id
    clock.now += 60
    with pytest.raises(SessionExpiredError):
        repository.get_for(session_id, ALICE)
    with pytest.raises(SessionNotFoundError) as raised:
        repository.get_for("SESSION#x", ALICE)
    assert raised.value.reason == "session_id_malformed"


def test_the_bff_runs_on_the_in_memory_adapter(capsys):
    config = BffConfig(sessions_table="unused", upstream_mode="http", upstream_url="http://127.0.0.1:9/x")
    service = BffService(config=config, store=InMemorySessionRepository(), upstream=None,  # type: ignore[arg-type]
                         policy=PolicyEngine.default())
    api = BffApi(lambda: service)
    created = api.handle(proxy_event("POST", "/v1/sessions", ALICE), None)
    assert created["statusCode"] == 201
    session_id = json.loads(created["body"])["session_id"]
    assert api.handle(proxy_event("GET", f"/v1/sessions/{session_id}", ALICE), None)["statusCode"] == 200
    assert api.handle(proxy_event("GET", f"/v1/sessions/{session_id}", GUS), None)["statusCode"] == 404


def test_dynamodb_adapter_needs_exactly_one_client_source():
    with pytest.raises(ValueError):
        DynamoDbSessionRepository("t")
    with pytest.raises(ValueError):
        DynamoDbSessionRepository("t", clients=object(), client_factory=object)  # type: ignore[arg-type]


@pytest.mark.parametrize("role", [None, "", "not-an-arn", "arn:aws:iam::123:role/x", "arn:aws:s3:::bucket"])
def test_bff_without_a_valid_tenant_data_role_is_misconfigured_503(role, capsys):
    env = {"SESSIONS_TABLE": "t", "UPSTREAM_MODE": "http", "UPSTREAM_URL": "http://127.0.0.1:9/x"}
    if role is not None:
        env["TENANT_DATA_ROLE_ARN"] = role
    api = load_bff(env)
    response = api.handle(proxy_event("POST", "/v1/sessions", ALICE), None)
    assert response["statusCode"] == 503 and json.loads(response["body"])["reason"] == "service_misconfigured"
    assert "TENANT_DATA_ROLE_ARN" in capsys.readouterr().out


def test_bff_with_a_role_builds_tenant_scoped_clients():
    from tenantkit.bff import build_session_repository
    from tenantkit.bff.credentials import TenantScopedClients

    config = BffConfig.from_env({"SESSIONS_TABLE": "t", "UPSTREAM_MODE": "http", "UPSTREAM_URL": "https://agent.example/x",
                                 "TENANT_REGISTRY": '{"tenants": {}, "apps": {}}',
                                 "TENANT_DATA_ROLE_ARN": "arn:aws:iam::123456789012:role/tenant-data"})
    repository = build_session_repository(config)
    assert isinstance(repository, DynamoDbSessionRepository)
    assert isinstance(repository._clients, TenantScopedClients)
    assert repository._clients.role_arn == config.tenant_data_role_arn


class RefusingClient:
    """What DynamoDB answers when IAM refuses a key outside the credentials' LeadingKeys."""

    def __init__(self, code: str) -> None:
        self.code = code

    def _refuse(self, **_: object) -> None:
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": self.code, "Message": "User: arn:aws:sts::1:assumed-role/x is not "
                                                                    "authorized ... T#acme#A#portal#S#s_CANARY"}},
                          "GetItem")

    put_item = get_item = delete_item = _refuse


class RefusingClients:
    def __init__(self, code: str) -> None:
        self.code = code

    def client_for(self, tenant_id: str, app_id: str) -> RefusingClient:
        return RefusingClient(self.code)


@pytest.mark.parametrize(("code", "reason"), [("AccessDeniedException", "session_store_access_denied"),
                                              ("ProvisionedThroughputExceededException", "session_store_unavailable")])
@pytest.mark.parametrize(("method", "path"), [("POST", "/v1/sessions"), ("GET", "/v1/sessions/s_" + "A" * 43),
                                              ("DELETE", "/v1/sessions/s_" + "A" * 43)])
def test_a_refused_or_failed_table_call_is_503_and_audited(code, reason, method, path, capsys):
    config = BffConfig(sessions_table="t", upstream_mode="http", upstream_url="http://127.0.0.1:9/x")
    repository = DynamoDbSessionRepository("t", clients=RefusingClients(code))
    api = BffApi(lambda: BffService(config=config, store=repository, upstream=None,  # type: ignore[arg-type]
                                    policy=PolicyEngine.default()))
    capsys.readouterr()
    response = api.handle(proxy_event(method, path, ALICE), None)
    out = capsys.readouterr().out
    assert response["statusCode"] == 503
    assert json.loads(response["body"])["reason"] == "session_store_unavailable"
    audits = [json.loads(line) for line in out.splitlines() if '"record_type":"audit"' in line]
    assert [(a["event_type"], a["reason"]) for a in audits] == [("upstream.error", reason),
                                                                ("request.completed", "http_503")]
    assert "CANARY" not in out and "CANARY" not in response["body"]
