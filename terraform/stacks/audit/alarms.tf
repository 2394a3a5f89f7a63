# Failed Athena queries in the audit workgroup (the compaction UNLOAD, named queries): the
# workgroup publishes its metrics (publish_cloudwatch_metrics_enabled). Notifies alarm_topic_arn,
# the topic the SAM app's alarms use (AlarmTopicArn). Runbook docs/runbooks/alarm-athena-failed-queries.md.
resource "aws_cloudwatch_metric_alarm" "athena_failed_queries" {
  alarm_name          = "${local.name_prefix}-athena-failed-queries"
  alarm_description   = "A query failed in the audit workgroup. Runbook docs/runbooks/alarm-athena-failed-queries.md"
  namespace           = "AWS/Athena"
  metric_name         = "TotalExecutionTime"
  statistic           = "SampleCount"
  period              = 3600
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]
  ok_actions          = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]

  dimensions = {
    WorkGroup  = module.audit_catalog.workgroup_name
    QueryState = "FAILED"
    QueryType  = "DML"
  }
}
