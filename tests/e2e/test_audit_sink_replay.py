"""The audit sink's recorded events, replayed through template.yaml's AuditSinkFunction into a
local-directory raw zone: records land where the contract says, invalid ones in quarantine,
and the sink's own log lines follow the field contract."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from tenantkit.audit import AuditRecord
from tenantkit.audit.sink import PROVENANCE_FIELDS
from tenantkit_local.events import load_event
from tenantkit_local.runner import FunctionRunner
from tenantkit_local.template import function_spec

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events" / "audit_sink"

pytestmark = pytest.mark.e2e


@pytest.fixture
def runner(tmp_path: Path) -> FunctionRunner:
    env_vars = {"AuditSinkFunction": {"AUDIT_STORE": str(tmp_path / "lake")}}
    return FunctionRunner(function_spec(ROOT / "template.yaml", "AuditSinkFunction", env_vars=env_vars))


def producer_fields(stored: dict) -> dict:
    return {k: v for k, v in stored.items() if k not in PROVENANCE_FIELDS}


def records_under(root: Path, zone: str) -> list[dict]:
    return [json.loads(line) for path in sorted((root / "lake" / zone).rglob("*.jsonl.gz"))
            for line in gzip.decompress(path.read_bytes()).decode().splitlines()]


def test_cloudwatch_decisions_land_in_the_raw_zone(runner, tmp_path):
    invocation = runner.invoke(load_event(EVENTS / "cloudwatch-authorizer-decisions.json"))
    assert invocation.error_type is None and invocation.response["written"] == 17
    stored = records_under(tmp_path, "raw")
    assert len(stored) == 17 and all(AuditRecord.model_validate(producer_fields(r)) for r in stored)
    assert {r["received_via"] for r in stored} == {"logs"}
    assert {r["received_from"] for r in stored} == {"/aws/lambda/tenantkit-dev-AuthorizerFunction-AbC123"}
    assert {r["event_type"] for r in stored} == {"authz.allow", "authz.deny", "authz.unauthorized"}
    again = runner.invoke(load_event(EVENTS / "cloudwatch-authorizer-decisions.json"))
    assert again.response == invocation.response and len(records_under(tmp_path, "raw")) == 17


def test_sqs_batch_quarantines_the_invalid_record(runner, tmp_path):
    invocation = runner.invoke(load_event(EVENTS / "sqs-batch-with-invalid-record.json"))
    assert invocation.response == {"batchItemFailures": []}
    raw = records_under(tmp_path, "raw")
    # the initech record was sent twice (in two messages, as a retrying producer would): the raw
    # zone keeps both copies, compaction dedups them by event_id
    assert sorted(r["tenant_id"] for r in raw) == ["acme", "globex", "initech", "initech"]
    assert len({r["event_id"] for r in raw}) == 3
    quarantined = records_under(tmp_path, "quarantine")
    assert len(quarantined) == 1 and quarantined[0]["errors"][0].startswith("status")


def test_control_message_writes_nothing_and_logs_follow_the_contract(runner, tmp_path):
    contract = json.loads((ROOT / "docs" / "schemas" / "log-contract.json").read_text())
    control = runner.invoke(load_event(EVENTS / "cloudwatch-control-message.json"))
    assert control.response["written"] == 0 and not (tmp_path / "lake").exists()
    data = runner.invoke(load_event(EVENTS / "cloudwatch-authorizer-decisions.json"))
    lines = [json.loads(line) for line in data.log_lines]
    assert lines and all(set(contract["log_fields"]) <= set(line) for line in lines)
    assert {line["service"] for line in lines} == {"tenantkit-audit-sink"}
