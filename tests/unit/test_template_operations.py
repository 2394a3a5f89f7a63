"""Golden tests of what makes the stack operable: alarms, runbooks, access log, metric filters, WAF."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tenantkit.jwks import JwksCache
from tenantkit.jwks.fetcher import JwksUnavailableError
from tenantkit_local.template import load_template

ROOT = Path(__file__).resolve().parents[2]
RESOURCES = load_template(ROOT / "template.yaml")["Resources"]
ALARMS = {k: v["Properties"] for k, v in RESOURCES.items() if v["Type"] == "AWS::CloudWatch::Alarm"}
TOPIC = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}

# alarm -> (namespace, metric, dimension value, threshold, comparison)
GOLDEN = {
    "AuditDlqDepthAlarm": ("AWS/SQS", "ApproximateNumberOfMessagesVisible",
                           {"Fn::GetAtt": ["AuditDeadLetterQueue", "QueueName"]}, 0),
    "AuditLogsFailureQueueAlarm": ("AWS/SQS", "ApproximateNumberOfMessagesVisible",
                                   {"Fn::GetAtt": ["AuditLogsFailureQueue", "QueueName"]}, 0),
    "CompactionFailureAlarm": ("AWS/SQS", "ApproximateNumberOfMessagesVisible",
                               {"Fn::GetAtt": ["CompactionFailureQueue", "QueueName"]}, 0),
    "AuditSinkErrorsAlarm": ("AWS/Lambda", "Errors", {"Ref": "AuditSinkFunction"}, 0),
    "AuditCompactionErrorsAlarm": ("AWS/Lambda", "Errors", {"Ref": "AuditCompactionFunction"}, 0),
    "AuthorizerErrorsAlarm": ("AWS/Lambda", "Errors", {"Ref": "AuthorizerFunction"}, 0),
    "BffErrorsAlarm": ("AWS/Lambda", "Errors", {"Ref": "BffProxyFunction"}, 0),
    "Api5xxAlarm": ("AWS/ApiGateway", "5XXError", {"Fn::Sub": "tenantkit-${StageName}"}, 0),
    "ApiAuthFailureSpikeAlarm": ("Tenantkit", "ApiAuthFailures", None, {"Ref": "AuthFailureAlarmThreshold"}),
    "JwksRefreshFailuresAlarm": ("Tenantkit", "JwksRefreshFailures", None, 0),
}


@pytest.mark.parametrize("alarm", sorted(GOLDEN))
def test_each_alarm_watches_its_metric(alarm):
    namespace, metric, dimension, threshold = GOLDEN[alarm]
    props = ALARMS[alarm]
    assert (props["Namespace"], props["MetricName"], props["Threshold"]) == (namespace, metric, threshold)
    assert props["ComparisonOperator"] == "GreaterThanThreshold"
    dimensions = props.get("Dimensions", [])
    assert (dimensions[0]["Value"] if dimensions else None) == dimension


def test_the_throttle_alarm_sums_every_function():
    metrics = ALARMS["LambdaThrottlesAlarm"]["Metrics"]
    functions = {m["MetricStat"]["Metric"]["Dimensions"][0]["Value"]["Ref"] for m in metrics if "MetricStat" in m}
    assert functions == {r for r, v in RESOURCES.items() if v["Type"] == "AWS::Serverless::Function"}
    assert all(m["MetricStat"]["Metric"]["MetricName"] == "Throttles" for m in metrics if "MetricStat" in m)


@pytest.mark.parametrize("alarm", sorted(ALARMS))
def test_every_alarm_notifies_the_topic_and_names_an_existing_runbook(alarm):
    props = ALARMS[alarm]
    assert props["AlarmActions"] == TOPIC and props["OKActions"] == TOPIC
    assert props["TreatMissingData"] == "notBreaching"
    runbook = re.search(r"docs/runbooks/(alarm-[a-z0-9-]+\.md)", props["AlarmDescription"])
    assert runbook, alarm
    text = (ROOT / "docs" / "runbooks" / runbook.group(1)).read_text()
    assert alarm in text and "## What to do" in text


def test_there_is_no_runbook_without_an_alarm():
    named = {re.search(r"docs/runbooks/(alarm-[a-z0-9-]+\.md)", p["AlarmDescription"]).group(1)
             for p in ALARMS.values()}
    terraform = "\n".join(f.read_text() for f in (ROOT / "terraform" / "stacks").glob("*/alarms.tf"))
    named |= set(re.findall(r"docs/runbooks/(alarm-[a-z0-9-]+\.md)", terraform))
    assert {p.name for p in (ROOT / "docs" / "runbooks").glob("alarm-*.md")} == named
    assert len(ALARMS) == 12


def test_no_two_alarms_watch_the_same_metric():
    """One condition, one page: a second alarm on the same series would notify twice."""
    watched = [(p.get("Namespace"), p.get("MetricName"), json.dumps(p.get("Dimensions"), sort_keys=True))
               for p in ALARMS.values() if "MetricName" in p]
    assert len(watched) == len(set(watched))


def test_custom_metrics_have_no_dimensions():
    for resource in RESOURCES.values():
        if resource["Type"] == "AWS::Logs::MetricFilter" and resource["Properties"]["MetricTransformations"][0][
                "MetricName"] in ("ApiAuthFailures", "JwksRefreshFailures"):
            assert "Dimensions" not in resource["Properties"]["MetricTransformations"][0]


def test_the_access_log_records_requests_rejected_before_the_authorizer():
    api = RESOURCES["TenantApi"]["Properties"]
    assert api["AccessLogSetting"]["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    line = api["AccessLogSetting"]["Format"]
    sample = re.sub(r"\$context\.[A-Za-z.]+", "0", line)
    fields = json.loads(sample)  # valid JSON once the variables are filled in
    for name in ("requestId", "status", "errorResponseType", "errorMessage", "authorizerError", "authorizerStatus",
                 "wafStatus", "resourcePath", "ip"):
        assert name in fields, name
    assert "$context.error.responseType" in line and "$context.path" not in line  # the route, never raw ids
    assert "principal" not in line


def _filter_field(logical_id: str) -> tuple[str, str]:
    pattern = RESOURCES[logical_id]["Properties"]["FilterPattern"]
    match = re.fullmatch(r'\{ \$\.(\w+) = "([^"]+)" \}', pattern)
    assert match, pattern
    return match.group(1), match.group(2)


def test_the_auth_failure_filter_counts_401_and_403_from_the_access_log():
    props = RESOURCES["ApiAuthFailuresMetricFilter"]["Properties"]
    assert props["LogGroupName"] == {"Ref": "ApiAccessLogGroup"}
    assert props["FilterPattern"] == "{ ($.status = 401) || ($.status = 403) }"
    assert '"status":$context.status,' in RESOURCES["TenantApi"]["Properties"]["AccessLogSetting"]["Format"]


class _Down:
    def fetch(self, uri: str):
        raise JwksUnavailableError("connection refused")


def test_the_jwks_filter_matches_the_line_the_cache_logs_on_a_failed_fetch(capsys):
    key, value = _filter_field("JwksRefreshFailuresMetricFilter")
    assert RESOURCES["JwksRefreshFailuresMetricFilter"]["Properties"]["LogGroupName"] == {"Ref": "AuthorizerLogGroup"}
    assert JwksCache(fetcher=_Down()).prefetch("https://idp.invalid/keys") is False
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    assert any(line.get(key) == value for line in lines), lines


def test_waf_is_optional_and_rate_limits_per_ip():
    acl, association = RESOURCES["ApiWebAcl"], RESOURCES["ApiWebAclAssociation"]
    assert acl["Condition"] == association["Condition"] == "UseWaf"
    rule = acl["Properties"]["Rules"][0]
    assert rule["Action"] == {"Block": {}}
    assert rule["Statement"]["RateBasedStatement"] == {"Limit": {"Ref": "WafRateLimitPerIp"}, "AggregateKeyType": "IP"}
    assert "/restapis/${TenantApi}/stages/${TenantApi.Stage}" in association["Properties"]["ResourceArn"]["Fn::Sub"]
