# The agent stack wires modules/inference_profile: with enable_inference_profile the runtime role
# (and the evaluator role when asked) may invoke Bedrock only on the agent's profile and the
# foundation models it routes to, only through the profile; the profile ARN is an output the
# SAM app takes as InferenceProfileArn. Disabled: no profile and no Bedrock permission at all.

mock_provider "aws" {
  override_during = plan

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
  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::123456789012:role/mock"
    }
  }
}

override_resource {
  target          = module.inference_profile.aws_bedrock_inference_profile.this["main"]
  override_during = plan
  values = {
    arn = "arn:aws:bedrock:eu-west-1:123456789012:application-inference-profile/main0000001"
  }
}

variables {
  env         = "prod"
  app_id      = "portal"
  agent_name  = "support-agent"
  region      = "eu-west-1"
  cost_center = "cc-1234"
  owner       = "platform-team"
  models = {
    main = {
      copy_from = "arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.anthropic.claude-3-haiku-20240307-v1:0"
      routed_model_arns = [
        "arn:aws:bedrock:eu-west-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
        "arn:aws:bedrock:eu-central-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
      ]
    }
  }
}

run "enabled_runtime_role_invokes_only_through_the_profile" {
  command = plan

  variables {
    enable_inference_profile = true
    create_evaluator_role    = true
  }

  assert {
    condition     = output.inference_profile_arn == "arn:aws:bedrock:eu-west-1:123456789012:application-inference-profile/main0000001"
    error_message = "the main profile ARN is the stack output SAM consumes"
  }
  assert {
    condition     = length(aws_iam_role_policy.bedrock) == 1 && aws_iam_role_policy.bedrock[0].role == aws_iam_role.runtime.id
    error_message = "the runtime role gets the profile invocation policy"
  }
  assert {
    condition     = jsondecode(aws_iam_role_policy.bedrock[0].policy).Statement[0].Resource == ["arn:aws:bedrock:eu-west-1:123456789012:application-inference-profile/main0000001"]
    error_message = "statement 1: the agent's profile, nothing else"
  }
  assert {
    condition = jsondecode(aws_iam_role_policy.bedrock[0].policy).Statement[1].Resource == [
      "arn:aws:bedrock:eu-central-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
      "arn:aws:bedrock:eu-west-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
    ]
    error_message = "statement 2: exactly the routed foundation models"
  }
  assert {
    condition     = jsondecode(aws_iam_role_policy.bedrock[0].policy).Statement[1].Condition.StringEquals["bedrock:InferenceProfileArn"] == ["arn:aws:bedrock:eu-west-1:123456789012:application-inference-profile/main0000001"]
    error_message = "routed models only through the profile (a direct model call escapes the cost tags)"
  }
  assert {
    condition     = !strcontains(aws_iam_role_policy.bedrock[0].policy, "\"*\"") && !strcontains(aws_iam_role_policy.bedrock[0].policy, ":*:")
    error_message = "no wildcard resource or Region"
  }
  assert {
    condition     = output.evaluator_role_arn != null && module.inference_profile.invoke_policy_json == aws_iam_role_policy.bedrock[0].policy
    error_message = "the evaluator role is created with the same policy as the runtime role"
  }
  assert {
    condition     = module.inference_profile.tags["cost_center"] == "cc-1234" && module.inference_profile.tags["app_id"] == "portal" && module.inference_profile.tags["env"] == "prod"
    error_message = "the profile carries the canonical cost tags of this app/agent/env"
  }
}

run "disabled_no_profile_no_bedrock" {
  command = plan

  variables {
    enable_inference_profile = false
  }

  assert {
    condition     = length(aws_iam_role_policy.bedrock) == 0 && output.inference_profile_arn == null && output.inference_profile_arns == {}
    error_message = "disabled: no profile, no Bedrock permission on the runtime role"
  }
  assert {
    condition     = output.evaluator_role_arn == null
    error_message = "disabled: no evaluator role"
  }
}

run "enabled_requires_cost_tags" {
  command = plan

  variables {
    enable_inference_profile = true
    cost_center              = null
  }

  expect_failures = [var.cost_center]
}
