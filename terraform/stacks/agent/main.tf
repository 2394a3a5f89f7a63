# One agent of one application in one environment: the agent runtime's execution role and
# its log group. Deployed once per <env>/<app_id>/<agent_name>, each with its own state.

locals {
  name      = "${var.app_id}-${var.agent_name}-${var.env}"
  state_key = "${var.env}/${var.app_id}/${var.agent_name}/terraform.tfstate"
  log_group = "/tenantkit/${var.env}/${var.app_id}/${var.agent_name}"
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

resource "aws_cloudwatch_log_group" "agent" {
  name              = local.log_group
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

data "aws_iam_policy_document" "assume" {
  statement {
    sid     = "AgentCoreRuntime"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["bedrock-agentcore.amazonaws.com"]
    }

    # Confused-deputy guard: only runtimes of this account may assume the role.
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "runtime" {
  name                 = "${local.name}-runtime"
  description          = "Execution role of agent ${var.agent_name} (${var.app_id}, ${var.env})"
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  max_session_duration = 3600
}

data "aws_iam_policy_document" "logs" {
  statement {
    sid       = "WriteOwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["arn:${data.aws_partition.current.partition}:logs:${var.region}:${data.aws_caller_identity.current.account_id}:log-group:${local.log_group}:*"]
  }
}

resource "aws_iam_role_policy" "logs" {
  name   = "logs"
  role   = aws_iam_role.runtime.id
  policy = data.aws_iam_policy_document.logs.json
}

# Bedrock: the agent's application inference profile(s), cost-tagged, and a policy that allows
# InvokeModel / InvokeModelWithResponseStream (Converse, ConverseStream) only on those profiles
# and the foundation models they route to, only through the profiles. The runtime role above gets
# it; the module creates the evaluator role when asked. Disabled: nothing, and no Bedrock access.
module "inference_profile" {
  source = "../../modules/inference_profile"

  enable_inference_profile = var.enable_inference_profile
  models                   = var.models
  inference_profile_tags = merge(var.extra_tags, {
    app_id      = var.app_id
    agent_name  = var.agent_name
    env         = var.env
    cost_center = coalesce(var.cost_center, "unassigned")
    owner       = coalesce(var.owner, "unassigned")
  })
  create_runtime_role   = false
  create_evaluator_role = var.create_evaluator_role
}

resource "aws_iam_role_policy" "bedrock" {
  count = var.enable_inference_profile ? 1 : 0

  name   = "bedrock-invoke-through-inference-profile"
  role   = aws_iam_role.runtime.id
  policy = module.inference_profile.invoke_policy_json
}
