"""The demo's synthetic day: shaped like a real day (diurnal, a hot tenant, one attack burst),
every record valid, and all of it stored by the real sink and compacted with nothing lost."""

from __future__ import annotations

import base64
import gzip
import json
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from tenantkit.audit import AuditRecord
from tenantkit_local.compaction import LocalCompactor
from tenantkit_local.duckdb_engine import DuckDBEngine
from tenantkit_local.runner import FunctionRunner
from tenantkit_local.synthetic import ATTACK_HOUR, deliver_day, synthetic_day
from tenantkit_local.template import function_spec

ROOT = Path(__file__).resolve().parents[2]
DAY = date(2026, 11, 29)


@pytest.fixture(scope="module")
def records() -> list[dict]:
    return [json.loads(line) for _function, line in synthetic_day(DAY, 12_000)]


def test_every_record_is_a_valid_audit_record_of_that_day(records: list[dict]):
    for record in records[::97]:
        AuditRecord.model_validate(record)
    assert {r["ts"][:10] for r in records} == {DAY.isoformat()}
    assert len({r["event_id"] for r in records}) == len(records)


def test_the_day_has_a_diurnal_shape_a_hot_tenant_and_one_attack_burst(records: list[dict]):
    allowed = [r for r in records if r["event_type"] == "authz.allow"]
    assert len(allowed) >= 10_000
    per_hour = Counter(int(r["ts"][11:13]) for r in allowed)
    assert per_hour[13] > 3 * per_hour[3]  # busy midday, quiet night
    tenants = Counter(r["tenant_id"] for r in allowed)
    assert tenants.most_common(1)[0][0] == "acme" and tenants["acme"] > tenants["globex"] + tenants["initech"]
    attacker = next(r["principal_id"] for r in records if r["event_type"] == "tenant.spoof_rejected")
    attacks = [r for r in records if r.get("principal_id") == attacker and r["outcome"] == "rejected"]
    assert len(attacks) >= 200
    assert {int(r["ts"][11:13]) for r in attacks} == {ATTACK_HOUR}
    assert len({r["principal_id"] for r in attacks}) == 1


def test_the_real_sink_stores_the_whole_day_and_compaction_keeps_every_record(tmp_path: Path):
    env = {"AuditSinkFunction": {"AUDIT_STORE": str(tmp_path)}}
    sink = FunctionRunner(function_spec(ROOT / "template.yaml", "AuditSinkFunction", env_vars=env))
    sequence = iter(range(10**6))

    def deliver(function: str, lines: list[str]) -> None:
        payload = {"messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": f"/aws/lambda/{function}",
                   "logStream": "synthetic", "subscriptionFilters": [f"{function}Audit"],
                   "logEvents": [{"id": f"{next(sequence):012d}", "timestamp": 0, "message": line} for line in lines]}
        event = {"awslogs": {"data": base64.b64encode(gzip.compress(json.dumps(payload).encode())).decode()}}
        result = sink.invoke(event)
        assert result.error_type is None, result.error_message

    day = deliver_day(DAY, 10_500, deliver, batch=700)
    assert day.requests >= 10_000 and day.records > day.requests
    report = LocalCompactor(tmp_path).compact(DAY.isoformat())
    assert report["rows"] == day.records
    with DuckDBEngine(tmp_path) as engine:
        stored = engine.con.execute("SELECT count(*) FROM audit_curated").fetchone()[0]
    assert stored == day.records
    assert not list(tmp_path.glob("quarantine/**/*.json*"))
