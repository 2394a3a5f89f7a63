variable "env" {
  description = "Environment name; the SAM app's StageName (same pattern)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,15}$", var.env))
    error_message = "env must match ^[a-z][a-z0-9-]{1,15}$ (the SAM StageName pattern)."
  }
}

variable "app_id" {
  description = "Application id that owns this audit stack; prefixes every resource name."
  type        = string
  default     = "tenantkit"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,23}$", var.app_id)) && !endswith(var.app_id, "-")
    error_message = "app_id must match ^[a-z][a-z0-9-]{1,23}$ and not end with '-' (it is part of S3 bucket names)."
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

variable "lake_bucket_name" {
  description = "Override the lake bucket name (default <app_id>-audit-<env>, the SAM AuditBucketName default for dev)."
  type        = string
  default     = null
}

variable "results_bucket_name" {
  description = "Override the Athena results bucket name (default <app_id>-athena-results-<env>)."
  type        = string
  default     = null
}

variable "workgroup_name" {
  description = "Override the Athena workgroup name (default <app_id>-<env>-audit); deploy/environments.json sets it, the SAM AthenaWorkgroup parameter."
  type        = string
  default     = null
}

variable "database_name" {
  description = "Override the Glue database name (default <app_id>_<env>_audit, '-' as '_'); deploy/environments.json sets it, the SAM AthenaDatabase parameter."
  type        = string
  default     = null
}

variable "cur_data_location" {
  description = "S3 URI of the CUR 2.0 export's data/ prefix, ending with '/' (default s3://<lake bucket>/cur/<app_id>-<env>/data/)."
  type        = string
  default     = null
}

variable "raw_retention_days" {
  description = "Days raw/ objects live (module validation: >= 2 and > compaction_catchup_days)."
  type        = number
  default     = 14
}

variable "compaction_catchup_days" {
  description = "How many days back compaction re-reads raw/."
  type        = number
  default     = 3
}

variable "curated_glacier_ir_transition_days" {
  description = "Optional GLACIER_IR transition for curated/ (null disables)."
  type        = number
  default     = null
}

variable "bytes_scanned_cutoff_per_query" {
  description = "Athena per-query scan cutoff in bytes (default 10 GB)."
  type        = number
  default     = 10737418240
}

variable "sse_algorithm" {
  description = "AES256 (SSE-S3) or aws:kms (with kms_key_arn)."
  type        = string
  default     = "AES256"
}

variable "kms_key_arn" {
  description = "KMS key ARN when sse_algorithm = aws:kms."
  type        = string
  default     = null
}

variable "create_kms_key" {
  description = "Create a customer managed KMS key for the lake and Athena results (with sse_algorithm = aws:kms, kms_key_arn = null)."
  type        = bool
  default     = false
}

variable "object_lock_mode" {
  description = "Object Lock default retention mode of the lake: GOVERNANCE or COMPLIANCE."
  type        = string
  default     = "GOVERNANCE"
}

variable "object_lock_retention_days" {
  description = "Days every lake object version is locked after it is written."
  type        = number
  default     = 14
}

variable "audit_sink_role_arns" {
  description = "IAM role ARN patterns of the audit sink (the only writers of raw/). Default: the SAM app's generated role name."
  type        = list(string)
  default     = ["arn:*:iam::*:role/*-AuditSinkFunctionRole-*"]
}

variable "audit_compaction_role_arns" {
  description = "IAM role ARN patterns of compaction (the only writers of curated/). Default: the SAM app's generated role name."
  type        = list(string)
  default     = ["arn:*:iam::*:role/*-AuditCompactionFunctionRole-*"]
}

variable "force_destroy" {
  description = "Allow destroying non-empty buckets (throwaway environments only)."
  type        = bool
  default     = false
}

variable "extra_tags" {
  description = "Additional default tags (e.g. cost center). The canonical tags app_id, env, stack, managed_by win on conflict."
  type        = map(string)
  default     = {}
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
