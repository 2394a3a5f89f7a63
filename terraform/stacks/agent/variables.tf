# env, app_id and agent_name are the three segments of this stack's state key (ADR 0013).
# They follow the same rule as `tenantkit tf backend-config`: 1-63 of a-z, 0-9 and '-',
# starting and ending with a letter or digit, so the key and the names below agree.

variable "env" {
  description = "Environment (first state key segment), e.g. dev, staging, prod."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", var.env))
    error_message = "env must be 1-63 of a-z, 0-9 and '-', starting and ending with a letter or digit."
  }
}

variable "app_id" {
  description = "Application id (second state key segment), as in the tenant registry."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", var.app_id))
    error_message = "app_id must be 1-63 of a-z, 0-9 and '-', starting and ending with a letter or digit."
  }
}

variable "agent_name" {
  description = "Agent name (third state key segment)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", var.agent_name))
    error_message = "agent_name must be 1-63 of a-z, 0-9 and '-', starting and ending with a letter or digit."
  }

  validation {
    # The IAM role name "<app_id>-<agent_name>-<env>-runtime" must fit IAM's 64 characters.
    condition     = length("${var.app_id}-${var.agent_name}-${var.env}-runtime") <= 64
    error_message = "app_id, agent_name and env together are too long for the runtime role name (64 characters)."
  }
}

variable "region" {
  description = "AWS region of the stack; no default: it comes from deploy/environments.json (tenantkit deploy tfvars), the region the SAM app deploys to."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must look like an AWS region, e.g. us-east-1."
  }
}

variable "log_retention_days" {
  description = "Retention of the agent runtime's log group (a CloudWatch Logs retention value)."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, ... 3653)."
  }
}

variable "kms_key_arn" {
  description = "Optional KMS key for the log group (null: CloudWatch Logs' own encryption)."
  type        = string
  default     = null
}

variable "extra_tags" {
  description = "Additional default tags (stable ownership metadata only, e.g. gitlab_project, cost_center; never a release SHA)."
  type        = map(string)
  default     = {}
}

# --- Bedrock through an application inference profile (modules/inference_profile) ------------

variable "enable_inference_profile" {
  description = "Create this agent's application inference profile(s) and allow the runtime (and evaluator) role to invoke Bedrock only through them. false: no profile, no Bedrock permission."
  type        = bool
  default     = false
  nullable    = false
}

variable "models" {
  description = "Profiles to create, keyed by model role (\"main\" is the one the BFF reports as INFERENCE_PROFILE_ARN); see modules/inference_profile variable models."
  type = map(object({
    copy_from         = string
    routed_model_arns = optional(list(string), [])
    name              = optional(string)
    description       = optional(string)
  }))
  default  = {}
  nullable = false
}

variable "cost_center" {
  description = "Canonical cost tag of the profile (required when enable_inference_profile)."
  type        = string
  default     = null

  validation {
    condition     = !var.enable_inference_profile || try(trimspace(var.cost_center) != "", false)
    error_message = "cost_center is required when enable_inference_profile = true (canonical cost tag)."
  }
}

variable "owner" {
  description = "Canonical owner tag of the profile (required when enable_inference_profile)."
  type        = string
  default     = null

  validation {
    condition     = !var.enable_inference_profile || try(trimspace(var.owner) != "", false)
    error_message = "owner is required when enable_inference_profile = true (canonical cost tag)."
  }
}

variable "create_evaluator_role" {
  description = "Also create an evaluator role (trusted by Lambda) with the same profile-only Bedrock policy."
  type        = bool
  default     = false
  nullable    = false
}

variable "alarm_topic_arn" {
  description = "SNS topic the stack's alarms notify (the SAM app's AlarmTopicArn); null creates them without actions."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_topic_arn == null || can(regex("^arn:[a-z-]+:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$", var.alarm_topic_arn))
    error_message = "alarm_topic_arn must be an SNS topic ARN."
  }
}
