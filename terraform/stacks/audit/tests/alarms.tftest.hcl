# The audit stack's alarm: failed queries of its own workgroup, notifying the given topic (or nobody).

mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }
}

variables {
  env    = "dev"
  region = "eu-west-1"
}

run "failed_queries_of_the_audit_workgroup" {
  command = plan

  variables {
    alarm_topic_arn = "arn:aws:sns:eu-west-1:123456789012:tenantkit-dev-alarms"
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.athena_failed_queries.dimensions == tomap({ WorkGroup = "tenantkit-dev-audit", QueryState = "FAILED", QueryType = "DML" })
    error_message = "the alarm must watch FAILED DML queries of the stack's own workgroup"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.athena_failed_queries.alarm_actions == toset(["arn:aws:sns:eu-west-1:123456789012:tenantkit-dev-alarms"]) && aws_cloudwatch_metric_alarm.athena_failed_queries.ok_actions == toset(["arn:aws:sns:eu-west-1:123456789012:tenantkit-dev-alarms"])
    error_message = "the alarm must notify alarm_topic_arn on ALARM and OK"
  }
  assert {
    condition     = strcontains(aws_cloudwatch_metric_alarm.athena_failed_queries.alarm_description, "docs/runbooks/alarm-athena-failed-queries.md")
    error_message = "the alarm must name its runbook"
  }
}

run "no_topic_no_actions" {
  command = plan

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.athena_failed_queries.alarm_actions) == 0
    error_message = "without alarm_topic_arn the alarm exists without actions"
  }
}

run "rejects_a_topic_that_is_not_sns" {
  command = plan

  variables {
    alarm_topic_arn = "arn:aws:sqs:eu-west-1:123456789012:queue"
  }

  expect_failures = [var.alarm_topic_arn]
}
