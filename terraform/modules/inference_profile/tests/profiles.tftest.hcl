# Profiles exist only when enable_inference_profile is true; they copy from the given model
# source and carry the tag map, which is also returned for the app's other resources.

mock_provider "aws" {}

variables {
  inference_profile_tags = {
    app_id      = "portal"
    agent_name  = "support-bot"
    env         = "dev"
    cost_center = "cc-1234"
    owner       = "platform@example.com"
    team        = "agents"
  }
  models = {
    main = {
      copy_from = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0"
    }
  }
  create_runtime_role   = true
  create_evaluator_role = true
}

run "disabled_by_default_creates_nothing" {
  command = plan

  assert {
    condition     = length(aws_bedrock_inference_profile.this) == 0
    error_message = "no inference profile may be planned when enable_inference_profile is false"
  }
  assert {
    condition     = length(aws_iam_role.this) == 0 && length(aws_iam_role_policy.invoke) == 0
    error_message = "no role or policy may be planned when enable_inference_profile is false"
  }
  assert {
    condition     = output.inference_profile_arns == {} && output.inference_profile_arn == null
    error_message = "ARN outputs must be empty/null when disabled"
  }
  assert {
    condition     = output.invoke_policy_json == null && output.role_arns == {} && length(output.routed_model_arns) == 0
    error_message = "policy, role and routed-model outputs must be empty when disabled"
  }
  assert {
    condition     = output.tags == var.inference_profile_tags
    error_message = "the validated tag map must be returned even when disabled (other resources reuse it)"
  }
}

run "explicitly_disabled_with_models_creates_nothing" {
  command = plan

  variables {
    enable_inference_profile = false
  }

  assert {
    condition     = length(aws_bedrock_inference_profile.this) == 0 && length(aws_iam_role.this) == 0
    error_message = "enable_inference_profile = false must plan no profile and no role"
  }
}

run "enabled_foundation_model_profile" {
  command = plan

  variables {
    enable_inference_profile = true
  }

  assert {
    condition     = length(aws_bedrock_inference_profile.this) == 1
    error_message = "one profile per models entry when enabled"
  }
  assert {
    condition     = aws_bedrock_inference_profile.this["main"].name == "portal-support-bot-dev-main"
    error_message = "default profile name is <app_id>-<agent_name>-<env>-<key>, sanitized"
  }
  assert {
    condition     = aws_bedrock_inference_profile.this["main"].model_source[0].copy_from == "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0"
    error_message = "the profile must copy from the configured foundation model"
  }
  assert {
    condition     = aws_bedrock_inference_profile.this["main"].tags == var.inference_profile_tags
    error_message = "the profile must carry exactly the canonical + extended tag map"
  }
  assert {
    condition     = output.tags == var.inference_profile_tags
    error_message = "the tags output must be the same map"
  }
  assert {
    condition     = aws_bedrock_inference_profile.this["main"].description == "tenantkit cost attribution portal-support-bot-dev main"
    error_message = "the default description is derived and sanitized"
  }
  assert {
    condition     = can(regex("^([0-9a-zA-Z:.][ _-]?)+$", aws_bedrock_inference_profile.this["main"].description))
    error_message = "the default description must satisfy Bedrock's description pattern"
  }
  assert {
    condition     = output.routed_model_arns == tolist(["arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0"])
    error_message = "a foundation-model source routes to itself (derived)"
  }
}

run "enabled_cross_region_and_second_model" {
  command = plan

  variables {
    enable_inference_profile = true
    models = {
      main = {
        copy_from = "arn:aws:bedrock:us-east-1:111122223333:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0"
        routed_model_arns = [
          "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0",
          "arn:aws:bedrock:us-east-2::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0",
          "arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0",
        ]
      }
      judge = {
        copy_from = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0"
        name      = "portal-judge"
      }
    }
  }

  assert {
    condition     = toset(keys(aws_bedrock_inference_profile.this)) == toset(["main", "judge"])
    error_message = "one profile per models entry"
  }
  assert {
    condition     = aws_bedrock_inference_profile.this["main"].model_source[0].copy_from == "arn:aws:bedrock:us-east-1:111122223333:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0"
    error_message = "a profile may copy from a cross-Region system inference profile"
  }
  assert {
    condition     = aws_bedrock_inference_profile.this["judge"].name == "portal-judge"
    error_message = "an explicit name wins over the derived one"
  }
  assert {
    condition = alltrue([
      for p in values(aws_bedrock_inference_profile.this) :
      can(regex("^([0-9a-zA-Z][ _-]?)+$", p.name)) && length(p.name) <= 64
      && can(regex("^([0-9a-zA-Z:.][ _-]?)+$", p.description)) && length(p.description) <= 200
    ])
    error_message = "every profile name and description must satisfy Bedrock's patterns"
  }
  assert {
    condition     = length(output.routed_model_arns) == 4
    error_message = "routed models: the three listed destination Regions plus the judge's own foundation model"
  }
}

run "awkward_tag_values_still_give_valid_names" {
  command = plan

  variables {
    enable_inference_profile = true
    inference_profile_tags = {
      app_id      = "portal/v2"
      agent_name  = "support bot@team"
      env         = "prod -- eu:west"
      cost_center = "cc-1234"
      owner       = "platform@example.com"
    }
  }

  assert {
    condition     = aws_bedrock_inference_profile.this["main"].name == "portal-v2-support-bot-team-prod-eu-west-main"
    error_message = "the derived name keeps only letters, digits and single hyphens"
  }
  assert {
    condition     = can(regex("^([0-9a-zA-Z:.][ _-]?)+$", aws_bedrock_inference_profile.this["main"].description))
    error_message = "the derived description must satisfy Bedrock's description pattern"
  }
  assert {
    condition     = aws_iam_role.this["runtime"].name == "portal-v2-support-bot-team-prod-eu-west-runtime"
    error_message = "role names are sanitized the same way"
  }
}
