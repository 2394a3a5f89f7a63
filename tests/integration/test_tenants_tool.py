"""``tenantkit tenants|apps`` against a moto server on 127.0.0.1, through the real CLI entry point:
concurrent editors (one wins, the other is told, no edit is lost), out-of-band writes undone
loudly, --dry-run, --expect-version, audit records delivered to SQS, and the tool never edits
without an audit destination."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tenantkit.audit.schema import AuditRecord
from tenantkit.registry import TenantRegistry
from tenantkit_local.cli import main
from tenantkit_local.cloud import FAKE_CREDENTIALS, MotoServer
from tenantkit_local.tenants import ConcurrentEditError
from tenantkit_local.tenants.store import RegistryStore

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def moto_server(thread_guard: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    empty = tmp_path_factory.mktemp("aws")
    with pytest.MonkeyPatch.context() as env:
        for name, value in FAKE_CREDENTIALS.items():
            env.setenv(name, value)
        env.setenv("AWS_CONFIG_FILE", str(empty / "config"))
        env.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty / "credentials"))
        for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SSM"):
            env.delenv(name, raising=False)
        server = MotoServer().start()
        yield server
        server.stop()


@pytest.fixture
def registry(moto_server: MotoServer) -> Iterator[dict[str, Any]]:
    """A fresh registry parameter and audit queue per test (unique names: moto state is per process)."""
    name = f"/tenantkit/test-{uuid.uuid4().hex[:8]}/tenant-registry"
    sqs = moto_server.client("sqs")
    queue = sqs.create_queue(QueueName=f"audit-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    target = ["--parameter", name, "--region", "us-east-1", "--endpoint-url", moto_server.endpoint]
    assert main(["tenants", "init", *target]) == 0
    yield {"name": name, "queue": queue, "target": target, "edit": [*target, "--audit-queue-url", queue],
           "ssm": moto_server.client("ssm"), "sqs": sqs}


def stored(ctx: dict[str, Any]) -> tuple[dict[str, Any], int]:
    parameter = ctx["ssm"].get_parameter(Name=ctx["name"])["Parameter"]
    return json.loads(parameter["Value"]), int(parameter["Version"])


def audit_records(ctx: dict[str, Any]) -> list[AuditRecord]:
    records = []
    while True:
        messages = ctx["sqs"].receive_message(QueueUrl=ctx["queue"], MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return records
        for message in messages:
            records.append(AuditRecord.model_validate_json(message["Body"]))
            ctx["sqs"].delete_message(QueueUrl=ctx["queue"], ReceiptHandle=message["ReceiptHandle"])


def guid() -> str:
    return str(uuid.uuid4())


def test_lifecycle_writes_the_registry_the_authorizer_loads_and_audits_each_change(registry, capsys):
    tid, client = guid(), guid()
    assert main(["tenants", "onboard", tid.upper(), "acme", "--display-name", "Acme Corp", *registry["edit"]]) == 0
    assert main(["apps", "register", client, "portal", "--scope", "access_as_user", *registry["edit"]]) == 0
    assert main(["tenants", "suspend", tid, *registry["edit"]]) == 0
    out = capsys.readouterr()
    assert '+      "status": "suspended"' in out.out and '-      "status": "active"' in out.out  # the diff
    document, version = stored(registry)
    loaded = TenantRegistry.from_json(json.dumps(document))  # the authorizer's own model
    assert loaded.tenants[tid].status == "suspended" and loaded.tenants[tid].tenant_id == "acme"
    assert loaded.apps[client].app_id == "portal" and loaded.apps[client].required_scopes == ("access_as_user",)
    assert main(["tenants", "resume", tid, *registry["edit"]]) == 0
    assert main(["apps", "disable", client, *registry["edit"]]) == 0
    assert main(["apps", "enable", client, *registry["edit"]]) == 0
    assert main(["tenants", "suspend", tid, *registry["edit"]]) == 0
    assert main(["tenants", "offboard", tid, *registry["edit"]]) == 0
    document, version = stored(registry)
    assert document["tenants"] == {} and version == 9  # init + 8 edits, one version each

    records = audit_records(registry)
    assert [r.event_type for r in records] == ["tenant.onboarded", "app.registered", "tenant.suspended",
                                               "tenant.resumed", "app.disabled", "app.enabled",
                                               "tenant.suspended", "tenant.offboarded"]
    assert [r.correlation_id for r in records] == [f"ssm:{registry['name']}:{v}" for v in range(2, 10)]
    assert all(r.outcome == "success" and r.service == "tenantkit-cli" and r.principal_id for r in records)
    assert {r.tenant_id for r in records if r.event_type.startswith("tenant.")} == {"acme"}
    assert {r.app_id for r in records if r.event_type.startswith("app.")} == {"portal"}


def test_dry_run_prints_the_diff_and_writes_nothing(registry, capsys):
    tid = guid()
    assert main(["tenants", "onboard", tid, "acme", *registry["edit"], "--dry-run"]) == 0
    out = capsys.readouterr()
    assert f'+    "{tid}": {{' in out.out and "Nothing written" in out.err
    assert stored(registry) == ({"apps": {}, "tenants": {}}, 1)
    assert audit_records(registry) == []
    assert registry["ssm"].get_parameters(Names=[registry["name"] + ".lock"])["Parameters"] == []  # no lock taken


def test_dry_run_needs_no_audit_destination_but_a_real_edit_does(registry, capsys):
    tid = guid()
    assert main(["tenants", "onboard", tid, "acme", *registry["target"], "--dry-run"]) == 0
    assert main(["tenants", "onboard", tid, "acme", *registry["target"]]) == 2
    assert "never made without its audit record" in capsys.readouterr().err
    assert stored(registry)[1] == 1  # refused before anything was written


def test_an_editor_is_told_when_another_holds_the_lock_and_the_winner_is_kept(registry, capsys):
    first, second = guid(), guid()
    holder = RegistryStore(registry["ssm"], registry["name"], owner="arn:aws:sts::123456789012:assumed-role/ops/alice")
    with holder.locked():  # editor A is mid-edit
        assert main(["tenants", "onboard", second, "globex", *registry["edit"]]) == 3
        err = capsys.readouterr().err
        assert "another edit" in err and "alice" in err
        snapshot = holder.read()
        holder.write(json.dumps({"tenants": {first: {"tenant_id": "acme"}}, "apps": {}}), snapshot)
    document, version = stored(registry)
    assert set(document["tenants"]) == {first} and version == 2  # A's edit, untouched
    assert audit_records(registry) == []  # B changed nothing, so B audited nothing
    assert main(["tenants", "onboard", second, "globex", *registry["edit"]]) == 0  # B again: applied on top
    assert set(stored(registry)[0]["tenants"]) == {first, second}


def test_concurrent_editors_never_lose_an_edit(registry, capsys):
    """Whatever the interleaving: every editor either succeeds or is told; every success is kept."""
    tids = [guid() for _ in range(4)]
    results: dict[str, int] = {}
    barrier = threading.Barrier(len(tids))

    def editor(index: int) -> None:
        barrier.wait()
        results[tids[index]] = main(["tenants", "onboard", tids[index], f"tenant-{index}", *registry["edit"]])

    threads = [threading.Thread(target=editor, args=(i,)) for i in range(len(tids))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert set(results.values()) <= {0, 3} and 0 in results.values()
    winners = {tid for tid, code in results.items() if code == 0}
    document, version = stored(registry)
    assert set(document["tenants"]) == winners  # every success is in the registry, nothing else
    assert version == 1 + len(winners)
    assert len(audit_records(registry)) == len(winners)
    assert capsys.readouterr().err.count("another edit") == len(tids) - len(winners)


class OutOfBandWriter:
    """An SSM client proxy: just before the tool's registry write, someone else writes without the lock."""

    def __init__(self, client: Any, name: str, text: str) -> None:
        self._client, self._name, self._text, self.fired = client, name, text, False

    def put_parameter(self, **kwargs: Any) -> Any:
        if kwargs["Name"] == self._name and kwargs.get("Overwrite") and not self.fired:
            self.fired = True
            self._client.put_parameter(Name=self._name, Value=self._text, Type="String", Overwrite=True)
        return self._client.put_parameter(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_an_out_of_band_write_during_the_edit_is_kept_and_the_tool_reports_its_change_undone(registry):
    theirs = json.dumps({"tenants": {guid(): {"tenant_id": "console-edit"}}, "apps": {}})
    proxy = OutOfBandWriter(registry["ssm"], registry["name"], theirs)
    store = RegistryStore(proxy, registry["name"], owner="test")
    snapshot = store.read()
    with store.locked(), pytest.raises(ConcurrentEditError) as caught:
        store.write(json.dumps({"tenants": {guid(): {"tenant_id": "mine"}}, "apps": {}}), snapshot)
    assert "NOT kept" in str(caught.value) and "version 1 -> 2" in str(caught.value)
    document, version = stored(registry)
    assert [e["tenant_id"] for e in document["tenants"].values()] == ["console-edit"]  # theirs survives
    assert version == 4  # 2 theirs, 3 ours (undone), 4 theirs restored


def test_expect_version_refuses_an_edit_when_the_registry_moved(registry, capsys):
    assert main(["tenants", "onboard", guid(), "acme", *registry["edit"], "--expect-version", "1"]) == 0
    assert main(["tenants", "onboard", guid(), "globex", *registry["edit"], "--expect-version", "1"]) == 3
    assert "is at version 2, not 1" in capsys.readouterr().err
    assert [e["tenant_id"] for e in stored(registry)[0]["tenants"].values()] == ["acme"]


def test_a_change_whose_audit_cannot_be_delivered_is_reported_with_the_record(registry, capsys):
    missing = registry["queue"].rsplit("/", 1)[0] + "/no-such-queue"
    code = main(["tenants", "onboard", guid(), "acme", *registry["target"], "--audit-queue-url", missing])
    err = capsys.readouterr().err
    assert code == 4 and "could not be delivered" in err and '"event_type":"tenant.onboarded"' in err


def test_list_and_the_endpoint_from_the_environment(registry, moto_server, monkeypatch, capsys):
    tid = guid()
    assert main(["tenants", "onboard", tid, "acme", *registry["edit"]]) == 0
    capsys.readouterr()
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.endpoint)  # boto3 reads it: no flag needed
    assert main(["tenants", "list", "--parameter", registry["name"], "--region", "us-east-1"]) == 0
    out = capsys.readouterr()
    assert tid in out.out and "acme" in out.out and "active" in out.out and "version 2" in out.err


def test_a_stale_lock_is_removed_only_when_expired_or_forced(registry, capsys):
    crashed = RegistryStore(registry["ssm"], registry["name"], owner="crashed-editor", lock_ttl_seconds=3600)
    lock = crashed.locked()
    lock.__enter__()  # never released: the editor crashed
    assert main(["tenants", "unlock", *registry["target"]]) == 3
    assert "pass --force only if" in capsys.readouterr().err
    assert main(["tenants", "unlock", *registry["target"], "--force"]) == 0
    assert "crashed-editor" in capsys.readouterr().err
    assert main(["tenants", "onboard", guid(), "acme", *registry["edit"]]) == 0
