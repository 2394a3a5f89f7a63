"""Compaction scheduling and wiring: which days an event compacts, configuration from the
environment, the handler module, and the template's schedules and IAM scope. No network."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tenantkit.audit.compaction import CompactionConfig, CompactionEventError, dates_to_compact
from tenantkit.exceptions import ConfigurationError

ROOT = Path(__file__).resolve().parents[2]
DT = "2026-11-28"


@pytest.mark.parametrize(("event", "now", "expected"), [
    ({"mode": "catch_up", "days": 2}, datetime(2026, 11, 28, 2, 30, tzinfo=UTC), ["2026-11-26", "2026-11-27"]),
    ({"mode": "catch_up", "days": 3}, datetime(2026, 3, 1, 2, 30, tzinfo=UTC), ["2026-02-26", "2026-02-27",
                                                                                 "2026-02-28"]),
    ({"mode": "catch_up", "days": 1}, datetime(2027, 1, 1, 0, 10, tzinfo=UTC), ["2026-12-31"]),
    ({"detail-type": "Scheduled Event", "time": "2026-11-28T23:00:00Z"}, datetime(2026, 11, 29, tzinfo=UTC),
     ["2026-11-28"]),
    ({"mode": "hourly"}, datetime(2026, 11, 28, 13, 0, tzinfo=UTC), ["2026-11-28"]),
    ({"dt": "2026-10-01"}, datetime(2026, 11, 28, tzinfo=UTC), ["2026-10-01"]),
])
def test_days_to_compact(event: dict, now: datetime, expected: list[str]):
    assert dates_to_compact(event, now)[1] == expected


def test_recorded_events_select_the_intended_days():
    now = datetime(2026, 11, 28, 2, 30, tzinfo=UTC)
    catch_up = json.loads((ROOT / "events/audit_compaction/daily-catch-up.json").read_text())
    hourly = json.loads((ROOT / "events/audit_compaction/hourly.json").read_text())
    assert dates_to_compact(catch_up, now) == ("catch_up", ["2026-11-26", "2026-11-27"])
    assert dates_to_compact(hourly, now) == ("hourly", ["2026-11-28"])


@pytest.mark.parametrize("event", [
    {"mode": "catch_up", "days": 0}, {"mode": "catch_up", "days": 32}, {"mode": "catch_up", "days": "2"},
    {"mode": "catch_up", "days": True}, {"dt": "2026-11-31"}, {"dt": "28/11/2026"}, {"dt": "2026-11-28' OR 1=1"},
    {"something": "else"}, ["not", "an", "object"],
])
def test_invalid_events_are_rejected(event: object):
    with pytest.raises(CompactionEventError):
        dates_to_compact(event, datetime(2026, 11, 28, tzinfo=UTC))


def test_configuration_from_the_environment():
    env = {"AUDIT_STORE": "s3://tenantkit-audit-dev/lake/v1/", "ATHENA_WORKGROUP": "tenantkit-audit",
           "ATHENA_DATABASE": "tenantkit_audit"}
    config = CompactionConfig.from_env(env)
    assert (config.bucket, config.prefix, config.max_wait_seconds) == ("tenantkit-audit-dev", "lake/v1/", 600)
    assert config.runs_prefix(DT) == "lake/v1/curated/runs/dt=2026-11-28/"
    assert config.legacy_prefix(DT) == "lake/v1/curated/dt=2026-11-28/"
    assert (config.curated_table, config.retire_after_seconds) == ("audit_curated", 3600)
    assert CompactionConfig.from_env({**env, "COMPACTION_RETIRE_AFTER_SECONDS": "7200"}).grace.total_seconds() == 7200
    assert CompactionConfig.from_env({**env, "AUDIT_STORE": "s3://tenantkit-audit-dev/"}).prefix == ""
    assert CompactionConfig.from_env({**env, "AUDIT_STORE": "s3://tenantkit-audit-dev"}).prefix == ""
    assert CompactionConfig.from_env({**env, "COMPACTION_MAX_WAIT_SECONDS": "120"}).max_wait_seconds == 120


@pytest.mark.parametrize(("change", "variable"), [
    ({"AUDIT_STORE": ""}, "AUDIT_STORE"), ({"AUDIT_STORE": "s3://Not_A_Bucket/"}, "AUDIT_STORE"),
    ({"AUDIT_STORE": ".tenantkit/audit"}, "AUDIT_STORE"), ({"AUDIT_STORE": "s3:///prefix"}, "AUDIT_STORE"),
    ({"AUDIT_STORE": "s3://bucket-a/it's"}, "AUDIT_STORE"), ({"AUDIT_STORE": "s3://bucket-a/a//b"}, "AUDIT_STORE"),
    ({"ATHENA_WORKGROUP": ""}, "ATHENA_WORKGROUP"), ({"ATHENA_DATABASE": "db; drop"}, "ATHENA_DATABASE"),
    ({"COMPACTION_MAX_WAIT_SECONDS": "3600"}, "COMPACTION_MAX_WAIT_SECONDS"),
    ({"COMPACTION_RETIRE_AFTER_SECONDS": "60"}, "COMPACTION_RETIRE_AFTER_SECONDS"),
    ({"COMPACTION_RETIRE_AFTER_SECONDS": "soon"}, "COMPACTION_RETIRE_AFTER_SECONDS"),
])
def test_invalid_configuration_is_refused(change: dict, variable: str):
    env = {"AUDIT_STORE": "s3://tenantkit-audit-dev/", "ATHENA_WORKGROUP": "wg", "ATHENA_DATABASE": "db", **change}
    with pytest.raises(ConfigurationError) as caught:
        CompactionConfig.from_env(env)
    assert caught.value.variable == variable


def test_handler_module_wires_the_compactor_from_the_environment(monkeypatch: pytest.MonkeyPatch):
    import importlib.util

    for name, value in {"AUDIT_STORE": "s3://tenantkit-audit-dev/", "ATHENA_WORKGROUP": "wg", "ATHENA_DATABASE": "db",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location("audit_compaction_app", ROOT / "functions/audit_compaction/app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.compactor.config.bucket == "tenantkit-audit-dev"
    assert module.compactor._athena is None and module.compactor._s3 is None  # clients are lazy
    with pytest.raises(CompactionEventError):
        module.lambda_handler({"unexpected": True}, None)


def test_template_schedules_config_and_least_privilege():
    from tenantkit_local.template import function_spec, load_template

    resource = load_template(ROOT / "template.yaml")["Resources"]["AuditCompactionFunction"]["Properties"]
    env = function_spec(ROOT / "template.yaml", "AuditCompactionFunction").environment
    config = CompactionConfig.from_env(env)
    assert (config.bucket, config.prefix) == ("tenantkit-audit-dev", "")
    assert (config.workgroup, config.database, config.max_wait_seconds) == ("tenantkit-dev-audit",
                                                                             "tenantkit_dev_audit", 600)
    assert resource["Timeout"] > config.max_wait_seconds
    events = resource["Events"]
    assert events["Hourly"]["Properties"]["Schedule"] == "rate(1 hour)"
    assert events["DailyCatchUp"]["Properties"]["Schedule"] == "cron(30 2 * * ? *)"
    assert events["DailyCatchUp"]["Properties"]["Input"] == {
        "Fn::Sub": '{"mode": "catch_up", "days": ${CompactionCatchUpDays}}'}
    role = load_template(ROOT / "template.yaml")["Resources"]["AuditCompactionRole"]["Properties"]
    statements = next(p for p in role["Policies"] if p["PolicyName"] == "function")["PolicyDocument"]["Statement"]
    statements = [s for s in statements if s["Sid"] != "FailedRunsToFailureQueue"]  # used by Lambda itself
    actions = {a for s in statements if s["Effect"] == "Allow"
               for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert actions == {
        "athena:StartQueryExecution", "athena:GetQueryExecution", "athena:StopQueryExecution",
        "athena:GetQueryResults",
        "glue:GetDatabase", "glue:GetTable", "glue:GetPartitions", "glue:GetPartition", "glue:CreatePartition",
        "glue:UpdatePartition",
        "s3:ListBucket", "s3:GetBucketLocation", "s3:GetObject", "s3:PutObject", "s3:DeleteObject",
        "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts",
    }
    assert all(s["Resource"] != "*" for s in statements) and not any("*" in a for a in actions)
    # Partition writes: the curated table only (readers' table definitions and audit_raw untouched).
    writes = [s for s in statements if {"glue:CreatePartition", "glue:UpdatePartition"} & set(s["Action"])]
    assert [s["Sid"] for s in writes] == ["SwapCuratedPartitions"]
    tables = [r["Fn::Sub"] for r in writes[0]["Resource"] if ":table/" in r["Fn::Sub"]]
    assert tables == ["arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:table/${AthenaDatabase}/"
                      "audit_curated"]
    deletes = [s for s in statements if "s3:DeleteObject" in s["Action"]]
    assert [json.dumps(s["Resource"]) for s in deletes] == [
        json.dumps({"Fn::Sub": "arn:${AWS::Partition}:s3:::${AuditBucketName}/curated/*"})]
