# inference_profile: Amazon Bedrock application inference profiles for one app/agent, tagged with
# the tenantkit cost tag standard, and the IAM policy (plus optional runtime/evaluator roles)
# that lets callers invoke models only through them. See docs/cost-attribution.md.

locals {
  # The one tag map of this app/agent: on the profiles here, and (output `tags`) on the app's
  # Lambda functions, DynamoDB tables and S3 buckets, so every cost line of the app carries the
  # same user_app_id / user_agent_name / ... columns in CUR 2.0.
  tags = var.inference_profile_tags

  name_stem = "${local.tags["app_id"]}-${local.tags["agent_name"]}-${local.tags["env"]}"

  # Profile names: ^([0-9a-zA-Z][ _-]?)+$, 1-64 characters.
  profile_names = {
    for key, m in var.models : key => coalesce(
      m.name,
      substr(trim(replace("${local.name_stem}-${key}", "/[^0-9A-Za-z]+/", "-"), "-"), 0, 64),
    )
  }

  # Descriptions: ^([0-9a-zA-Z:.][ _-]?)+$, 1-200 characters (botocore model of
  # CreateInferenceProfile): other characters become spaces, separator runs collapse.
  profile_descriptions = {
    for key, m in var.models : key => coalesce(m.description, substr(trim(replace(replace(
      "tenantkit cost attribution ${local.name_stem} ${key}",
    "/[^0-9A-Za-z:. _-]+/", " "), "/[ _-]{2,}/", " "), " _-"), 0, 200))
  }

  enabled_models = var.enable_inference_profile ? var.models : {}

  # The foundation models each profile routes to: copy_from itself when it is a foundation
  # model (single-Region profile), plus the listed routed_model_arns (required for a
  # cross-Region system profile, one per destination Region).
  routed_model_arns = sort(distinct(flatten([
    for key, m in local.enabled_models : concat(
      strcontains(m.copy_from, ":foundation-model/") ? [m.copy_from] : [],
      m.routed_model_arns,
    )
  ])))

  role_name_prefix = coalesce(
    var.role_name_prefix,
    substr(trim(replace(local.name_stem, "/[^0-9A-Za-z]+/", "-"), "-"), 0, 54),
  )
}

resource "aws_bedrock_inference_profile" "this" {
  for_each = local.enabled_models

  name        = local.profile_names[each.key]
  description = local.profile_descriptions[each.key]
  tags        = local.tags

  model_source {
    copy_from = each.value.copy_from
  }
}
