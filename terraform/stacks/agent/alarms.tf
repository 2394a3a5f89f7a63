# Errors the agent runtime logs (JSON lines with level ERROR, the tenantkit log contract), counted
# without dimensions in a metric of this agent. Notifies alarm_topic_arn (the SAM app's
# AlarmTopicArn). Runbook docs/runbooks/alarm-agent-errors.md.
resource "aws_cloudwatch_log_metric_filter" "agent_errors" {
  name           = "${local.name}-errors"
  log_group_name = aws_cloudwatch_log_group.agent.name
  pattern        = "{ $.level = \"ERROR\" }"

  metric_transformation {
    namespace = "Tenantkit"
    name      = "AgentErrors-${local.name}"
    value     = "1"
    unit      = "Count"
  }
}

resource "aws_cloudwatch_metric_alarm" "agent_errors" {
  alarm_name          = "${local.name}-errors"
  alarm_description   = "Agent ${var.agent_name} logged errors. Runbook docs/runbooks/alarm-agent-errors.md"
  namespace           = "Tenantkit"
  metric_name         = aws_cloudwatch_log_metric_filter.agent_errors.metric_transformation[0].name
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]
  ok_actions          = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]
}
