# The agent stack's alarm: ERROR lines of the agent's own log group, notifying the given topic.

mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }
  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
    }
  }
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{}"
    }
  }
}

variables {
  region     = "eu-west-1"
  env        = "dev"
  app_id     = "portal"
  agent_name = "support"
}

run "errors_of_the_agent_log_group" {
  command = plan

  variables {
    alarm_topic_arn = "arn:aws:sns:eu-west-1:123456789012:tenantkit-dev-alarms"
  }

  assert {
    condition     = aws_cloudwatch_log_metric_filter.agent_errors.log_group_name == "/tenantkit/dev/portal/support" && aws_cloudwatch_log_metric_filter.agent_errors.pattern == "{ $.level = \"ERROR\" }"
    error_message = "the filter must count ERROR lines of the agent's own log group"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.agent_errors.metric_name == "AgentErrors-portal-support-dev" && aws_cloudwatch_metric_alarm.agent_errors.dimensions == null
    error_message = "one metric per agent, no dimensions"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.agent_errors.alarm_actions == toset(["arn:aws:sns:eu-west-1:123456789012:tenantkit-dev-alarms"])
    error_message = "the alarm must notify alarm_topic_arn"
  }
}
