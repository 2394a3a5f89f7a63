"""template.yaml's audit pipeline, checked as data: who may write what, where failures go, what
alarms. (The same properties the integration tests exercise in code, pinned in the template.)"""

from __future__ import annotations

from typing import Any

import pytest

from tenantkit_local import PROJECT_ROOT
from tenantkit_local.template import load_template

TEMPLATE = load_template(PROJECT_ROOT / "template.yaml")
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
TRUSTED_GROUPS = {"AuthorizerLogGroup", "BffLogGroup"}
AUDIT_QUEUES = ("AuditQueue", "AuditDeadLetterQueue", "AuditLogsFailureQueue")


def of_type(kind: str) -> dict[str, Any]:
    return {name: r for name, r in RESOURCES.items() if r["Type"] == kind}


def ref(value: Any) -> str | None:
    if isinstance(value, dict) and "Ref" in value:
        return value["Ref"]
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        return (target.split(".") if isinstance(target, str) else target)[0]
    return None


def role_of(function: str) -> str:
    """The function's explicit role (SAM ignores a function's ``Policies`` once ``Role`` is set)."""
    props = RESOURCES[function]["Properties"]
    assert "Policies" not in props, f"{function}: Policies next to Role would be ignored"
    role = ref(props["Role"])
    assert role is not None and RESOURCES[role]["Type"] == "AWS::IAM::Role"
    assert "ManagedPolicyArns" not in RESOURCES[role]["Properties"], "no managed policy (BasicExecutionRole)"
    return role


def statements(function: str) -> list[dict[str, Any]]:
    """Every statement of the function's role, both branches of an ``Fn::If`` included."""
    found: list[dict[str, Any]] = []
    for policy in RESOURCES[role_of(function)]["Properties"].get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            if "Fn::If" in statement:
                found += [b for b in statement["Fn::If"][1:] if isinstance(b, dict) and "Effect" in b]
            else:
                found.append(statement)
    return found


def _actions(statement: dict[str, Any]) -> list[Any]:
    value = statement["Action"]
    return [value] if isinstance(value, str) else list(value)


def own_log_group_arn(function: str) -> dict[str, str]:
    """The ARN pattern of the function's own log group (its LogGroupName, as ``Fn::Sub``)."""
    name = "/aws/lambda/" + RESOURCES[function]["Properties"]["FunctionName"]["Fn::Sub"]
    assert any(r["Type"] == "AWS::Logs::LogGroup" and r["Properties"]["LogGroupName"] == {"Fn::Sub": name}
               for r in RESOURCES.values()), f"{function} has no log group of its own"
    return {"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:" + name + ":*"}


def queue_policy_statements(queue: str) -> list[dict[str, Any]]:
    found = [s for p in of_type("AWS::SQS::QueuePolicy").values()
             if queue in {ref(q) for q in p["Properties"]["Queues"]}
             for s in p["Properties"]["PolicyDocument"]["Statement"]]
    assert found, f"{queue} has no queue policy"
    return found


def test_subscription_filters_take_only_the_authorizer_and_bff_groups_into_the_sink():
    filters = of_type("AWS::Logs::SubscriptionFilter")
    assert {ref(f["Properties"]["LogGroupName"]) for f in filters.values()} == TRUSTED_GROUPS
    assert len(filters) == 2
    for f in filters.values():
        assert ref(f["Properties"]["DestinationArn"]) == "AuditSinkFunction"
        assert f["Properties"]["FilterPattern"] == '{ $.record_type = "audit" }'
    permissions = [p["Properties"] for p in of_type("AWS::Lambda::Permission").values()
                   if ref(p["Properties"]["FunctionName"]) == "AuditSinkFunction"]
    assert {ref(p["SourceArn"]) for p in permissions} == TRUSTED_GROUPS
    assert {p["Principal"] for p in permissions} == {"logs.amazonaws.com"}


def test_the_sink_trusts_exactly_the_subscribed_groups():
    variables = RESOURCES["AuditSinkFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["AUDIT_LOG_GROUPS"] == {"Fn::Sub": "${AuthorizerLogGroup},${BffLogGroup}"}
    assert variables["AUDIT_MAX_AGE_DAYS"] == {"Ref": "AuditMaxRecordAgeDays"}


@pytest.mark.parametrize("function", ["AuditSinkFunction", "AuditCompactionFunction"])
def test_audit_functions_may_not_write_the_trusted_log_groups(function: str):
    denies = [s for s in statements(function) if s["Effect"] == "Deny"
              and {"logs:PutLogEvents", "logs:CreateLogStream"} <= set(s["Action"])]
    assert denies and {ref(r) for r in denies[0]["Resource"]} == TRUSTED_GROUPS
    log_grants = [s for s in statements(function) if s["Effect"] == "Allow"
                  and any(str(a).startswith("logs:") for a in _actions(s))]
    # No extra log permissions: the function may write its own log group and nothing else.
    assert [(sorted(s["Action"]), s["Resource"]) for s in log_grants] == [
        (["logs:CreateLogStream", "logs:PutLogEvents"], own_log_group_arn(function))]


def test_exhausted_log_deliveries_go_to_their_own_failure_queue():
    config = RESOURCES["AuditSinkFunction"]["Properties"]["EventInvokeConfig"]
    assert ref(config["DestinationConfig"]["OnFailure"]["Destination"]) == "AuditLogsFailureQueue"
    redrive = RESOURCES["AuditQueue"]["Properties"]["RedrivePolicy"]
    assert ref(redrive["deadLetterTargetArn"]) == "AuditDeadLetterQueue"
    sends = [s for s in statements("AuditSinkFunction") if s["Effect"] == "Allow" and s["Action"] == "sqs:SendMessage"]
    assert [ref(s["Resource"]) for s in sends] == ["AuditLogsFailureQueue"]


@pytest.mark.parametrize("queue", AUDIT_QUEUES)
def test_every_audit_queue_is_tls_only_and_encrypted(queue: str):
    assert RESOURCES[queue]["Properties"]["SqsManagedSseEnabled"] is True
    tls = [s for s in queue_policy_statements(queue) if s["Effect"] == "Deny"
           and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"]
    assert tls and tls[0]["Action"] == "sqs:*" and tls[0]["Principal"] == "*"


def test_only_named_producers_send_to_the_audit_queue():
    by_sid = {s["Sid"]: s for s in queue_policy_statements("AuditQueue")}
    deny = by_sid["OnlyNamedProducersSend"]
    assert (deny["Effect"], deny["Action"], deny["Principal"]) == ("Deny", "sqs:SendMessage", "*")
    assert deny["Condition"]["ArnNotLike"]["aws:PrincipalArn"] == {"Ref": "AuditQueueProducerArns"}
    assert TEMPLATE["Parameters"]["AuditQueueProducerArns"]["Default"] == "none"  # none unless named
    only_sink = {s["Sid"]: s for s in queue_policy_statements("AuditLogsFailureQueue")}["OnlyTheSinkParksDeliveries"]
    sink_role = {"Fn::GetAtt": [role_of("AuditSinkFunction"), "Arn"]}
    assert only_sink["Condition"]["ArnNotEquals"]["aws:PrincipalArn"] == sink_role


def test_failure_queues_and_conflicts_alarm():
    alarms = of_type("AWS::CloudWatch::Alarm")
    queue_alarms = {ref(a["Properties"]["Dimensions"][0]["Value"]) for a in alarms.values()
                    if a["Properties"].get("Namespace") == "AWS/SQS"}
    assert {"AuditLogsFailureQueue", "AuditDeadLetterQueue"} <= queue_alarms
    conflicts = [a["Properties"] for a in alarms.values() if a["Properties"].get("MetricName") == "AuditConflicts"]
    assert conflicts and conflicts[0]["Threshold"] == 1
    filters = [f["Properties"] for f in of_type("AWS::Logs::MetricFilter").values()
               if f["Properties"]["MetricTransformations"][0]["MetricName"] == "AuditConflicts"]
    assert {ref(f["LogGroupName"]) for f in filters} == {"AuditSinkLogGroup", "AuditCompactionLogGroup"}
    assert all(f["FilterPattern"] == "{ $.audit_conflicts > 0 }" for f in filters)
