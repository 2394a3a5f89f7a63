# The agent stack per environment, plan-only against a mocked AWS provider: names and the
# state key derive from env/app_id/agent_name, the role trusts only AgentCore runtimes of this
# account, and segments that could escape the key prefix are rejected (ADR 0013).

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
  # The real data source renders JSON; the mock would return a random string.
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{}"
    }
  }
}

variables {
  app_id     = "portal"
  agent_name = "support-agent"
  region     = "eu-west-1"
}

run "dev" {
  command = plan

  variables {
    env = "dev"
  }

  assert {
    condition     = output.state_key == "dev/portal/support-agent/terraform.tfstate"
    error_message = "the state key must be <env>/<app_id>/<agent_name>/terraform.tfstate"
  }
  assert {
    condition     = output.runtime_role_name == "portal-support-agent-dev-runtime" && output.log_group_name == "/tenantkit/dev/portal/support-agent"
    error_message = "role and log group names must derive from app_id, agent_name and env"
  }
  assert {
    condition     = aws_cloudwatch_log_group.agent.retention_in_days == 30
    error_message = "the log group must expire (30 days by default)"
  }
}

run "staging" {
  command = plan

  variables {
    env = "staging"
  }

  assert {
    condition     = output.state_key == "staging/portal/support-agent/terraform.tfstate"
    error_message = "staging has its own state key"
  }
}

run "prod" {
  command = plan

  variables {
    env                = "prod"
    log_retention_days = 365
  }

  assert {
    condition     = output.state_key == "prod/portal/support-agent/terraform.tfstate" && aws_cloudwatch_log_group.agent.retention_in_days == 365
    error_message = "prod has its own state key and takes the retention override"
  }
}

run "rejects_a_traversal_segment" {
  command = plan

  variables {
    env    = "dev"
    app_id = "../prod"
  }

  expect_failures = [var.app_id]
}

run "rejects_uppercase_and_underscores" {
  command = plan

  variables {
    env        = "dev"
    agent_name = "Support_Agent"
  }

  expect_failures = [var.agent_name]
}

run "rejects_an_unknown_retention" {
  command = plan

  variables {
    env                = "dev"
    log_retention_days = 10
  }

  expect_failures = [var.log_retention_days]
}
