# IAM scoping: the invocation policy names the application inference profile ARNs and the
# foundation models they route to, nothing else (no "*", no wildcard Region), and only the
# roles asked for are created. The policy is a jsonencode() local (see iam.tf), so the test
# reads the exact JSON; the profile ARNs are mocked at plan time (Terraform >= 1.11).

mock_provider "aws" {
  override_during = plan

  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::111122223333:role/mock"
    }
  }
}

override_resource {
  target          = aws_bedrock_inference_profile.this["main"]
  override_during = plan
  values = {
    arn = "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/main0000001"
  }
}

override_resource {
  target          = aws_bedrock_inference_profile.this["judge"]
  override_during = plan
  values = {
    arn = "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/judge000001"
  }
}

variables {
  enable_inference_profile = true
  inference_profile_tags = {
    app_id      = "portal"
    agent_name  = "support-bot"
    env         = "prod"
    cost_center = "cc-1234"
    owner       = "platform@example.com"
  }
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
    }
  }
}

run "policy_names_only_profiles_and_routed_models" {
  command = plan

  variables {
    create_runtime_role   = true
    create_evaluator_role = true
  }

  assert {
    condition     = jsondecode(output.invoke_policy_json).Statement[0].Resource == ["arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/judge000001", "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/main0000001"]
    error_message = "statement 1 must allow exactly the module's application inference profiles"
  }
  assert {
    condition = jsondecode(output.invoke_policy_json).Statement[1].Resource == [
      "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0",
      "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0",
      "arn:aws:bedrock:us-east-2::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0",
      "arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0",
    ]
    error_message = "statement 2 must allow exactly the routed foundation models (derived + listed)"
  }
  assert {
    condition     = length(jsondecode(output.invoke_policy_json).Statement) == 2
    error_message = "the policy has exactly two statements"
  }
  assert {
    condition = alltrue(flatten([
      for s in jsondecode(output.invoke_policy_json).Statement : [
        for r in s.Resource : !strcontains(r, "*") && (strcontains(r, ":application-inference-profile/") || strcontains(r, "::foundation-model/"))
      ]
    ]))
    error_message = "no resource may be a wildcard or anything but a profile or foundation-model ARN"
  }
  assert {
    condition = alltrue([
      for s in jsondecode(output.invoke_policy_json).Statement :
      s.Effect == "Allow" && s.Action == ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
    ])
    error_message = "only InvokeModel / InvokeModelWithResponseStream (which also authorize Converse / ConverseStream)"
  }
  assert {
    condition     = jsondecode(output.invoke_policy_json).Statement[1].Condition.StringEquals["bedrock:InferenceProfileArn"] == jsondecode(output.invoke_policy_json).Statement[0].Resource
    error_message = "the routed models must be usable only through the module's profiles"
  }
  assert {
    condition     = !can(jsondecode(output.invoke_policy_json).Statement[0].Condition)
    error_message = "the profile statement itself carries no condition"
  }
  assert {
    condition     = toset(keys(aws_iam_role.this)) == toset(["runtime", "evaluator"])
    error_message = "both roles when both are asked for"
  }
  assert {
    condition     = aws_iam_role.this["runtime"].name == "portal-support-bot-prod-runtime" && aws_iam_role.this["evaluator"].name == "portal-support-bot-prod-evaluator"
    error_message = "role names derive from the canonical tags"
  }
  assert {
    condition     = jsondecode(aws_iam_role.this["runtime"].assume_role_policy).Statement[0].Principal.Service == ["bedrock-agentcore.amazonaws.com"]
    error_message = "the runtime role is assumable by AgentCore by default"
  }
  assert {
    condition     = jsondecode(aws_iam_role.this["evaluator"].assume_role_policy).Statement[0].Principal.Service == ["lambda.amazonaws.com"]
    error_message = "the evaluator role is assumable by Lambda by default"
  }
  assert {
    condition = alltrue([
      for key in ["runtime", "evaluator"] : aws_iam_role_policy.invoke[key].policy == output.invoke_policy_json
    ])
    error_message = "both roles must use the same scoped invocation policy"
  }
  assert {
    condition     = aws_iam_role.this["runtime"].tags == var.inference_profile_tags
    error_message = "the roles carry the app/agent tag map"
  }
  assert {
    condition     = output.inference_profile_arns == { judge = "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/judge000001", main = "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/main0000001" }
    error_message = "ARN output per models key"
  }
  assert {
    condition     = output.inference_profile_arn == null
    error_message = "the single-ARN output is null when there are several profiles"
  }
}

run "roles_are_optional" {
  command = plan

  variables {
    create_runtime_role = true
  }

  assert {
    condition     = keys(aws_iam_role.this) == ["runtime"] && keys(aws_iam_role_policy.invoke) == ["runtime"]
    error_message = "only the runtime role when only it is asked for"
  }
}

run "no_roles_by_default" {
  command = plan

  assert {
    condition     = length(aws_iam_role.this) == 0 && output.invoke_policy_json != null
    error_message = "no role unless asked; the policy document is still output for other roles"
  }
}

run "unrestricted_models_drop_only_the_condition" {
  command = plan

  variables {
    restrict_models_to_profile = false
  }

  assert {
    condition     = !can(jsondecode(output.invoke_policy_json).Statement[1].Condition) && length(jsondecode(output.invoke_policy_json).Statement[1].Resource) == 4
    error_message = "restrict_models_to_profile = false removes the condition, never widens the resources"
  }
}
