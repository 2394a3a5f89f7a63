"""``tenantkit sessions migrate-keys`` on moto: old ``SESSION#<id>`` items move to the
tenant-prefixed key, the BFF's repository (tenant-scoped credentials) then finds them, and a
second run (or a run after a crash between copy and delete) changes nothing more."""

from __future__ import annotations

import pytest

from support.bff import envelope
from tenantkit.bff.sessions import DynamoDbSessionRepository, SessionBinding, new_session_id, partition_key, to_item
from tenantkit_local.cli import main
from tenantkit_local.cloud import MotoServer, create_table
from tenantkit_local.session_keys import migrate_session_keys

pytestmark = pytest.mark.integration
NOW = 1_800_000_000
ALICE = envelope()
GUS = envelope(tenant="globex", oid="b4444444-4444-4444-8444-444444444444")
CONSOLE = envelope(app="agent-console")


@pytest.fixture(scope="module")
def moto():
    server = MotoServer().start()
    yield server
    server.stop()


@pytest.fixture
def table(moto, request):
    name = f"sessions-migrate-{abs(hash(request.node.nodeid)) % 10**8}"
    create_table(moto.client("dynamodb"), "SessionsTable", name)
    return name


def old_item(env, *, expires_at: int = NOW + 600, session_id: str | None = None) -> dict:
    binding = SessionBinding(session_id or new_session_id(), env.app_id, env.tenant_id, env.principal_id,
                             env.principal_type, NOW - 60, expires_at)
    item = to_item(binding)
    item["pk"] = {"S": f"SESSION#{binding.session_id}"}
    item["tenant_key"] = {"S": f"APP#{env.app_id}#TENANT#{env.tenant_id}#SHARD#0"}  # the old index key
    return item


def keys(moto, table) -> set[str]:
    return {i["pk"]["S"] for i in moto.client("dynamodb").scan(TableName=table)["Items"]}


def test_live_items_move_and_the_bff_finds_them(moto, table):
    dynamodb = moto.client("dynamodb")
    live = [old_item(e) for e in (ALICE, ALICE, GUS, CONSOLE)]
    expired = old_item(GUS, expires_at=NOW - 1)
    broken = old_item(ALICE)
    del broken["tenant_id"]
    for item in [*live, expired, broken]:
        dynamodb.put_item(TableName=table, Item=item)

    dry = migrate_session_keys(dynamodb, table, dry_run=True, page_size=2, clock=lambda: NOW)
    assert (dry.scanned, dry.copied, dry.expired_dropped, dry.left_invalid) == (6, 4, 1, 1)
    assert len(keys(moto, table)) == 6  # a dry run changes nothing

    report = migrate_session_keys(dynamodb, table, page_size=2, clock=lambda: NOW)
    assert (report.copied, report.expired_dropped, report.left_invalid, report.changed_during_run) == (4, 1, 1, 0)
    expected = {partition_key(i["tenant_id"]["S"], i["app_id"]["S"], i["session_id"]["S"]) for i in live}
    assert keys(moto, table) == expected | {broken["pk"]["S"]}

    repository = DynamoDbSessionRepository(table, clients=moto.tenant_scoped_clients(), clock=lambda: NOW)
    for item, env in zip(live, (ALICE, ALICE, GUS, CONSOLE), strict=True):
        binding = repository.get_for(item["session_id"]["S"], env)
        assert (binding.tenant_id, binding.app_id, binding.principal_id) == (env.tenant_id, env.app_id,
                                                                              env.principal_id)
        assert binding.expires_at == int(item["expires_at"]["N"])
    migrated = dynamodb.get_item(TableName=table, Key={"pk": {"S": partition_key("acme", "portal",
                                                                                 live[0]["session_id"]["S"])}})
    assert migrated["Item"]["tenant_key"]["S"].startswith("T#acme#A#portal#SHARD#")
    assert migrated["Item"]["ttl"] == live[0]["ttl"]

    again = migrate_session_keys(dynamodb, table, clock=lambda: NOW)
    assert (again.scanned, again.copied, again.left_invalid) == (1, 0, 1)  # only the unusable item remains


def test_a_run_interrupted_after_the_copy_completes_on_rerun(moto, table):
    dynamodb = moto.client("dynamodb")
    item = old_item(ALICE)
    dynamodb.put_item(TableName=table, Item=item)
    copy = {**item, "pk": {"S": partition_key("acme", "portal", item["session_id"]["S"])}}
    dynamodb.put_item(TableName=table, Item=copy)  # the crashed run's copy
    report = migrate_session_keys(dynamodb, table, clock=lambda: NOW)
    assert (report.copied, report.already_copied) == (0, 1)
    assert keys(moto, table) == {copy["pk"]["S"]}


def test_cli_migrates_against_an_endpoint(moto, table, capsys, monkeypatch):
    for name, value in moto.environment().items():
        if name != "AWS_ENDPOINT_URL":
            monkeypatch.setenv(name, value)
    dynamodb = moto.client("dynamodb")
    item = old_item(GUS, expires_at=2**40)
    dynamodb.put_item(TableName=table, Item=item)
    assert main(["sessions", "migrate-keys", "--table", table, "--endpoint-url", moto.endpoint,
                 "--region", "us-east-1", "--dry-run"]) == 0
    assert "copied to the tenant-prefixed key: 1 (would be copied)" in capsys.readouterr().out
    assert main(["sessions", "migrate-keys", "--table", table, "--endpoint-url", moto.endpoint,
                 "--region", "us-east-1"]) == 0
    assert keys(moto, table) == {partition_key("globex", "portal", item["session_id"]["S"])}
