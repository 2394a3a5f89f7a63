# --- switch and tag standard ----------------------------------------------------------------

variable "enable_inference_profile" {
  description = "Create the application inference profiles (and the roles asked for). false: nothing is created, the ARN outputs are empty, the tag map is still validated and returned."
  type        = bool
  default     = false
  nullable    = false
}

# Canonical tags (required, non-empty): app_id, agent_name, env, cost_center, owner. Any other
# key is an extended tag. Character rule: the general AWS tag rule is [\p{L}\p{Z}\p{N}_.:/=+\-@].
# Terraform's regex() is Go RE2, which does know \p{L}, but this module enforces the ASCII-safe
# subset [A-Za-z0-9 _.:/=+@-]: Bedrock's own CreateInferenceProfile model only accepts
# [a-zA-Z0-9\s._:/=+@-] for tags, and the keys become CUR 2.0 resource_tags keys (user_<key>)
# and Athena map lookups, where non-ASCII letters and look-alike characters cause silent join
# misses. Tabs and newlines (\s) are refused too. Stricter than AWS, never looser.
variable "inference_profile_tags" {
  description = "Tag map for the profiles and, via the `tags` output, for the app's Lambda/DynamoDB/S3 resources. Required canonical keys: app_id, agent_name, env, cost_center, owner; extended keys allowed (AWS tag rules, ASCII-safe characters, at most 50 tags)."
  type        = map(string)
  nullable    = false

  validation {
    condition = alltrue([
      for key in ["app_id", "agent_name", "env", "cost_center", "owner"] :
      trimspace(lookup(var.inference_profile_tags, key, "")) != ""
    ])
    error_message = "inference_profile_tags is missing canonical tag(s) (absent or empty): ${join(", ", [for key in ["app_id", "agent_name", "env", "cost_center", "owner"] : key if trimspace(lookup(var.inference_profile_tags, key, "")) == ""])}. Every app/agent must set app_id, agent_name, env, cost_center and owner."
  }

  validation {
    condition = alltrue([
      for key in keys(var.inference_profile_tags) :
      length(key) <= 128 && can(regex("^[A-Za-z0-9 _.:/=+@-]+$", key)) && !startswith(lower(key), "aws:")
    ])
    error_message = "inference_profile_tags has invalid key(s): ${join(", ", [for key in keys(var.inference_profile_tags) : "\"${key}\"" if !(length(key) <= 128 && can(regex("^[A-Za-z0-9 _.:/=+@-]+$", key)) && !startswith(lower(key), "aws:"))])}. Keys are 1-128 characters of A-Z a-z 0-9 space _ . : / = + @ - and must not start with \"aws:\"."
  }

  validation {
    condition = alltrue([
      for key, value in var.inference_profile_tags :
      length(value) <= 256 && can(regex("^[A-Za-z0-9 _.:/=+@-]*$", value))
    ])
    error_message = "inference_profile_tags has invalid value(s) for key(s): ${join(", ", [for key, value in var.inference_profile_tags : key if !(length(value) <= 256 && can(regex("^[A-Za-z0-9 _.:/=+@-]*$", value)))])}. Values are at most 256 characters of A-Z a-z 0-9 space _ . : / = + @ -."
  }

  validation {
    condition     = length(var.inference_profile_tags) <= 50
    error_message = "inference_profile_tags has ${length(var.inference_profile_tags)} tags; AWS allows at most 50 per resource."
  }
}

# --- profiles -------------------------------------------------------------------------------

variable "models" {
  description = <<-EOT
    Application inference profiles for this app/agent, keyed by a short model role ("main",
    "judge"). copy_from: a foundation-model ARN (single Region) or a system-defined
    (cross-Region) inference-profile ARN. routed_model_arns: the foundation-model ARNs the
    profile routes to; derived (= copy_from) for a foundation model, required for a
    cross-Region profile (one ARN per destination Region). name: optional profile name
    (default <app_id>-<agent_name>-<env>-<key>, sanitized, 64 characters at most).
  EOT
  type = map(object({
    copy_from         = string
    routed_model_arns = optional(list(string), [])
    name              = optional(string)
    description       = optional(string)
  }))
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for key in keys(var.models) : can(regex("^[a-z][a-z0-9_-]{0,31}$", key))])
    error_message = "models keys must match ^[a-z][a-z0-9_-]{0,31}$ (e.g. \"main\", \"judge\")."
  }

  validation {
    # The CloudFormation/API pattern for InferenceProfileModelSource.CopyFrom.
    condition = alltrue([
      for m in values(var.models) :
      can(regex("^arn:aws(-[a-z]+)*:bedrock:[0-9a-z-]{1,20}:([0-9]{12})?:(inference-profile|foundation-model)/[a-zA-Z0-9-:.]+$", m.copy_from))
    ])
    error_message = "models[*].copy_from must be a foundation-model ARN (arn:aws:bedrock:<region>::foundation-model/<id>) or a system inference-profile ARN (arn:aws:bedrock:<region>:<account>:inference-profile/<id>)."
  }

  validation {
    condition = alltrue(flatten([
      for m in values(var.models) : [
        for arn in m.routed_model_arns :
        can(regex("^arn:aws(-[a-z]+)*:bedrock:[0-9a-z-]{1,20}::foundation-model/[a-zA-Z0-9-:.]+$", arn))
      ]
    ]))
    error_message = "models[*].routed_model_arns must be foundation-model ARNs with an explicit Region (arn:aws:bedrock:<region>::foundation-model/<id>); no wildcards."
  }

  validation {
    condition = alltrue([
      for m in values(var.models) :
      length(m.routed_model_arns) > 0 if strcontains(m.copy_from, ":inference-profile/")
    ])
    error_message = "models copying from a cross-Region inference profile must list routed_model_arns: the foundation-model ARN in every destination Region (AWS authorizes the profile and each routed model)."
  }

  validation {
    condition = alltrue([
      for m in values(var.models) :
      m.name == null ? true : can(regex("^([0-9a-zA-Z][ _-]?)+$", m.name)) && length(m.name) <= 64
    ])
    error_message = "models[*].name must match ^([0-9a-zA-Z][ _-]?)+$ and be at most 64 characters."
  }

  validation {
    condition = alltrue([
      for m in values(var.models) :
      m.description == null ? true : can(regex("^([0-9a-zA-Z:.][ _-]?)+$", m.description)) && length(m.description) <= 200
    ])
    error_message = "models[*].description must match ^([0-9a-zA-Z:.][ _-]?)+$ (Bedrock's rule: letters, digits, ':' and '.', single separators) and be at most 200 characters."
  }

  validation {
    condition     = !var.enable_inference_profile || length(var.models) > 0
    error_message = "enable_inference_profile = true needs at least one entry in models."
  }
}

# --- IAM ------------------------------------------------------------------------------------

variable "restrict_models_to_profile" {
  description = "Allow the routed foundation models only when the call comes through this module's profiles (condition bedrock:InferenceProfileArn). A direct model-id call, which would bypass the cost tags, is then denied."
  type        = bool
  default     = true
  nullable    = false
}

variable "create_runtime_role" {
  description = "Create an IAM role for the agent runtime with the profile invocation policy (only when enable_inference_profile)."
  type        = bool
  default     = false
  nullable    = false
}

variable "create_evaluator_role" {
  description = "Create an IAM role for the evaluator with the same invocation policy (only when enable_inference_profile)."
  type        = bool
  default     = false
  nullable    = false
}

variable "runtime_trusted_services" {
  description = "Service principals allowed to assume the runtime role."
  type        = list(string)
  default     = ["bedrock-agentcore.amazonaws.com"]
  nullable    = false

  validation {
    condition     = length(var.runtime_trusted_services) > 0 && alltrue([for s in var.runtime_trusted_services : can(regex("^[a-z0-9.-]+\\.amazonaws\\.com$", s))])
    error_message = "runtime_trusted_services must list service principals such as bedrock-agentcore.amazonaws.com."
  }
}

variable "evaluator_trusted_services" {
  description = "Service principals allowed to assume the evaluator role."
  type        = list(string)
  default     = ["lambda.amazonaws.com"]
  nullable    = false

  validation {
    condition     = length(var.evaluator_trusted_services) > 0 && alltrue([for s in var.evaluator_trusted_services : can(regex("^[a-z0-9.-]+\\.amazonaws\\.com$", s))])
    error_message = "evaluator_trusted_services must list service principals such as lambda.amazonaws.com."
  }
}

variable "role_name_prefix" {
  description = "Prefix of the role names (<prefix>-runtime, <prefix>-evaluator). Default: <app_id>-<agent_name>-<env>, sanitized."
  type        = string
  default     = null

  validation {
    condition     = var.role_name_prefix == null || can(regex("^[A-Za-z0-9+=,.@_-]{1,54}$", var.role_name_prefix))
    error_message = "role_name_prefix must be 1-54 characters of A-Z a-z 0-9 + = , . @ _ - (role names are at most 64)."
  }
}

variable "permissions_boundary_arn" {
  description = "Optional permissions boundary for the roles."
  type        = string
  default     = null
}
