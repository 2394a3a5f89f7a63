# IAM scoping: invoke only through this app/agent's application inference profiles.
#
# Built with jsonencode() in a local, not an aws_iam_policy_document data source: under
# `terraform test` with mock_provider "aws", a data source's computed `json` is a random mock
# string, so the rendered policy could not be inspected. jsonencode() is pure Terraform, so
# the tests assert on the exact document AWS receives.
#
# Actions: Converse and ConverseStream have no IAM actions of their own; AWS authorizes them
# as bedrock:InvokeModel and bedrock:InvokeModelWithResponseStream. These two actions therefore
# cover InvokeModel, InvokeModelWithResponseStream, Converse and ConverseStream.
#
# Resources: AWS authorizes a call through an application inference profile against the
# profile ARN and against every foundation model it routes to (each destination Region of a
# cross-Region profile), so both are listed, and nothing else: no "*", no wildcard Region.
# With restrict_models_to_profile the model statement only applies when the request comes
# through one of these profiles (bedrock:InferenceProfileArn), so a direct model-id call, which
# would escape the cost tags, is denied.

locals {
  invoke_actions = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]

  profile_arns = [for key in sort(keys(aws_bedrock_inference_profile.this)) : aws_bedrock_inference_profile.this[key].arn]

  model_statement = merge(
    {
      Sid      = "RoutedFoundationModelsThroughProfile"
      Effect   = "Allow"
      Action   = local.invoke_actions
      Resource = local.routed_model_arns
    },
    var.restrict_models_to_profile ? {
      Condition = { StringEquals = { "bedrock:InferenceProfileArn" = local.profile_arns } }
    } : {},
  )

  invoke_policy_json = var.enable_inference_profile ? jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "InvokeApplicationInferenceProfiles"
        Effect   = "Allow"
        Action   = local.invoke_actions
        Resource = local.profile_arns
      },
      local.model_statement,
    ]
  }) : null

  roles = {
    for name, spec in {
      runtime   = { create = var.create_runtime_role, services = var.runtime_trusted_services }
      evaluator = { create = var.create_evaluator_role, services = var.evaluator_trusted_services }
    } : name => spec if var.enable_inference_profile && spec.create
  }
}

resource "aws_iam_role" "this" {
  for_each = local.roles

  name                 = "${local.role_name_prefix}-${each.key}"
  description          = "tenantkit ${each.key} for ${local.tags["app_id"]}/${local.tags["agent_name"]}: Bedrock only through its inference profiles"
  permissions_boundary = var.permissions_boundary_arn
  tags                 = local.tags

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { Service = each.value.services }
    }]
  })
}

resource "aws_iam_role_policy" "invoke" {
  for_each = local.roles

  name   = "bedrock-invoke-through-inference-profile"
  role   = aws_iam_role.this[each.key].id
  policy = local.invoke_policy_json
}
