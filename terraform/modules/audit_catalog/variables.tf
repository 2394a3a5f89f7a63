# --- naming -------------------------------------------------------------------------------

variable "lake_bucket_name" {
  description = "Audit data-lake bucket: raw/, quarantine/ and curated/ prefixes. The SAM app's AuditBucketName parameter must be this name."
  type        = string

  validation {
    condition = (
      can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.lake_bucket_name))
      && !strcontains(var.lake_bucket_name, "..")
      && !can(regex("^\\d+\\.\\d+\\.\\d+\\.\\d+$", var.lake_bucket_name))
      && !startswith(var.lake_bucket_name, "xn--")
      && !endswith(var.lake_bucket_name, "-s3alias")
    )
    error_message = "lake_bucket_name must be a valid S3 bucket name: 3-63 characters of a-z, 0-9, '.', '-', starting and ending with a letter or digit, no '..', not an IP address, no 'xn--' prefix or '-s3alias' suffix."
  }
}

variable "results_bucket_name" {
  description = "Athena query results bucket (separate from the lake, see docs/terraform.md)."
  type        = string

  validation {
    condition = (
      can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.results_bucket_name))
      && !strcontains(var.results_bucket_name, "..")
      && !can(regex("^\\d+\\.\\d+\\.\\d+\\.\\d+$", var.results_bucket_name))
      && !startswith(var.results_bucket_name, "xn--")
      && !endswith(var.results_bucket_name, "-s3alias")
    )
    error_message = "results_bucket_name must be a valid S3 bucket name: 3-63 characters of a-z, 0-9, '.', '-', starting and ending with a letter or digit, no '..', not an IP address, no 'xn--' prefix or '-s3alias' suffix."
  }

  validation {
    condition     = var.results_bucket_name != var.lake_bucket_name
    error_message = "results_bucket_name must differ from lake_bucket_name: Athena results are not part of the lake."
  }
}

variable "database_name" {
  description = "Glue catalog database (Athena schema) holding audit_raw and audit_curated."
  type        = string

  validation {
    # Athena: lower case, digits and underscore only; Glue limit 255.
    condition     = can(regex("^[a-z][a-z0-9_]{0,254}$", var.database_name))
    error_message = "database_name must match ^[a-z][a-z0-9_]{0,254}$ (Athena needs lower case; no hyphens)."
  }
}

variable "raw_table_name" {
  description = "Glue table over raw/ (JSON lines)."
  type        = string
  default     = "audit_raw"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,254}$", var.raw_table_name))
    error_message = "raw_table_name must match ^[a-z][a-z0-9_]{0,254}$."
  }
}

variable "curated_table_name" {
  description = "Glue table over curated/ (Parquet)."
  type        = string
  default     = "audit_curated"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,254}$", var.curated_table_name))
    error_message = "curated_table_name must match ^[a-z][a-z0-9_]{0,254}$."
  }

  validation {
    condition     = var.curated_table_name != var.raw_table_name
    error_message = "curated_table_name must differ from raw_table_name."
  }
}

variable "workgroup_name" {
  description = "Athena workgroup for audit queries (dashboards, compaction)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,128}$", var.workgroup_name))
    error_message = "workgroup_name must be 1-128 characters of A-Z, a-z, 0-9, '.', '_', '-'."
  }
}

# --- encryption ---------------------------------------------------------------------------

variable "sse_algorithm" {
  description = "Default bucket encryption: \"AES256\" (SSE-S3) or \"aws:kms\" (SSE-KMS with kms_key_arn). Athena results follow: SSE_S3 or SSE_KMS."
  type        = string
  default     = "AES256"

  validation {
    condition     = contains(["AES256", "aws:kms"], var.sse_algorithm)
    error_message = "sse_algorithm must be \"AES256\" or \"aws:kms\"."
  }
}

variable "kms_key_arn" {
  description = "Customer managed KMS key ARN; required when sse_algorithm = \"aws:kms\", must be null otherwise."
  type        = string
  default     = null

  validation {
    condition = (
      var.sse_algorithm == "aws:kms" && !var.create_kms_key
      ? var.kms_key_arn != null && can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
      : var.kms_key_arn == null
    )
    error_message = "kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>) when sse_algorithm = \"aws:kms\" without create_kms_key, and null otherwise."
  }
}

variable "create_kms_key" {
  description = "Create a customer managed KMS key (rotation on) for the lake and Athena results; needs sse_algorithm = \"aws:kms\" and kms_key_arn = null."
  type        = bool
  default     = false

  validation {
    condition     = !var.create_kms_key || var.sse_algorithm == "aws:kms"
    error_message = "create_kms_key needs sse_algorithm = \"aws:kms\"."
  }
}

variable "kms_reader_arns" {
  description = "With create_kms_key: IAM principal ARN patterns that read the lake through Athena (decrypt through S3 only)."
  type        = list(string)
  default     = []
}

# --- integrity ----------------------------------------------------------------------------

variable "object_lock_mode" {
  description = "Default Object Lock retention mode of the lake: GOVERNANCE (a principal with s3:BypassGovernanceRetention can shorten it) or COMPLIANCE (nobody can)."
  type        = string
  default     = "GOVERNANCE"

  validation {
    condition     = contains(["GOVERNANCE", "COMPLIANCE"], var.object_lock_mode)
    error_message = "object_lock_mode must be \"GOVERNANCE\" or \"COMPLIANCE\"."
  }
}

variable "object_lock_retention_days" {
  description = "Days every object version in the lake is locked after it is written."
  type        = number
  default     = 14

  validation {
    condition     = var.object_lock_retention_days >= 1 && floor(var.object_lock_retention_days) == var.object_lock_retention_days
    error_message = "object_lock_retention_days must be a whole number >= 1."
  }
}

variable "object_lock_bypass_arns" {
  description = "IAM principal ARN patterns allowed s3:BypassGovernanceRetention on the lake; empty = nobody (the bucket policy denies it)."
  type        = list(string)
  default     = []
}

variable "raw_writer_arns" {
  description = "IAM principal ARN patterns that may write raw/ (the audit sink's role). SAM names it <stack>-AuditSinkFunctionRole-<suffix>."
  type        = list(string)
  default     = ["arn:*:iam::*:role/*-AuditSinkFunctionRole-*"]

  validation {
    condition     = length(var.raw_writer_arns) > 0 && alltrue([for a in var.raw_writer_arns : startswith(a, "arn:")])
    error_message = "raw_writer_arns must list at least one IAM principal ARN (pattern)."
  }
}

variable "curated_writer_arns" {
  description = "IAM principal ARN patterns that may write and delete curated/ (the compaction role, which Athena UNLOAD writes as)."
  type        = list(string)
  default     = ["arn:*:iam::*:role/*-AuditCompactionFunctionRole-*"]

  validation {
    condition     = length(var.curated_writer_arns) > 0 && alltrue([for a in var.curated_writer_arns : startswith(a, "arn:")])
    error_message = "curated_writer_arns must list at least one IAM principal ARN (pattern)."
  }
}

# --- lifecycle ----------------------------------------------------------------------------

variable "compaction_catchup_days" {
  description = "How many days back compaction re-reads raw/ (late arrivals, DLQ redrives, a missed schedule). Raw data must outlive this window."
  type        = number
  default     = 3

  validation {
    condition     = var.compaction_catchup_days >= 1 && floor(var.compaction_catchup_days) == var.compaction_catchup_days
    error_message = "compaction_catchup_days must be a whole number >= 1."
  }
}

variable "raw_retention_days" {
  description = "Days raw/ objects (gzip JSON lines) live after they are written. Must exceed the compaction catch-up window."
  type        = number
  default     = 14

  validation {
    condition     = var.raw_retention_days >= 2 && floor(var.raw_retention_days) == var.raw_retention_days
    error_message = "raw_retention_days must be a whole number >= 2: compaction needs at least the previous day's raw data."
  }

  validation {
    condition     = var.raw_retention_days > var.compaction_catchup_days
    error_message = "raw_retention_days must be greater than compaction_catchup_days, or compaction could miss raw data that already expired."
  }
}

variable "quarantine_retention_days" {
  description = "Days quarantine/ objects (schema-invalid records with their reason) live."
  type        = number
  default     = 30

  validation {
    condition     = var.quarantine_retention_days >= 1 && floor(var.quarantine_retention_days) == var.quarantine_retention_days
    error_message = "quarantine_retention_days must be a whole number >= 1."
  }
}

variable "curated_ia_transition_days" {
  description = "Days after which curated/ Parquet moves to STANDARD_IA (S3 minimum: 30)."
  type        = number
  default     = 30

  validation {
    condition     = var.curated_ia_transition_days >= 30 && floor(var.curated_ia_transition_days) == var.curated_ia_transition_days
    error_message = "curated_ia_transition_days must be a whole number >= 30 (S3 rejects STANDARD_IA transitions earlier than 30 days)."
  }
}

variable "curated_glacier_ir_transition_days" {
  description = "Optional: days after which curated/ moves on to GLACIER_IR. null disables. Must be at least 30 days after the STANDARD_IA transition."
  type        = number
  default     = null

  validation {
    condition = (
      var.curated_glacier_ir_transition_days == null
      ? true
      : var.curated_glacier_ir_transition_days >= var.curated_ia_transition_days + 30
    )
    error_message = "curated_glacier_ir_transition_days must be null or >= curated_ia_transition_days + 30 (objects stay 30 days in STANDARD_IA)."
  }
}

variable "curated_expiration_days" {
  description = "Optional: days after which curated/ objects expire. null keeps them (audit retention is a compliance decision)."
  type        = number
  default     = null

  validation {
    condition = (
      var.curated_expiration_days == null
      ? true
      : var.curated_expiration_days > max(var.curated_ia_transition_days, coalesce(var.curated_glacier_ir_transition_days, 0))
    )
    error_message = "curated_expiration_days must be null or later than every curated transition."
  }
}

variable "athena_results_retention_days" {
  description = "Days Athena query results live in the results bucket."
  type        = number
  default     = 7

  validation {
    condition     = var.athena_results_retention_days >= 1 && floor(var.athena_results_retention_days) == var.athena_results_retention_days
    error_message = "athena_results_retention_days must be a whole number >= 1."
  }
}

variable "noncurrent_version_retention_days" {
  description = "Days a noncurrent object version (overwritten or deleted) is kept before it is removed, in every rule. Without it, versioning would keep expired audit data forever."
  type        = number
  default     = 7

  validation {
    condition     = var.noncurrent_version_retention_days >= 1 && floor(var.noncurrent_version_retention_days) == var.noncurrent_version_retention_days
    error_message = "noncurrent_version_retention_days must be a whole number >= 1."
  }
}

# --- catalog and Athena -------------------------------------------------------------------

variable "projection_range_start" {
  description = "Start of the raw table's dt partition projection range (end is NOW), Athena date-projection syntax. The curated table registers its partitions and has no range."
  type        = string
  default     = "NOW-2YEARS"

  validation {
    condition     = can(regex("^NOW-[1-9][0-9]*(DAYS|WEEKS|MONTHS|YEARS)$", var.projection_range_start))
    error_message = "projection_range_start must look like NOW-<n><DAYS|WEEKS|MONTHS|YEARS>, e.g. NOW-2YEARS."
  }
}

variable "bytes_scanned_cutoff_per_query" {
  description = "Athena data usage control: a query scanning more bytes is cancelled. Default 10 GB."
  type        = number
  default     = 10737418240

  validation {
    # Athena's own minimum is 10 MB (10,485,760 bytes).
    condition     = var.bytes_scanned_cutoff_per_query >= 10485760 && floor(var.bytes_scanned_cutoff_per_query) == var.bytes_scanned_cutoff_per_query
    error_message = "bytes_scanned_cutoff_per_query must be a whole number >= 10485760 (10 MB, the Athena minimum)."
  }
}

variable "athena_engine_version" {
  description = "Athena engine version selected by the workgroup."
  type        = string
  default     = "Athena engine version 3"

  validation {
    condition     = contains(["AUTO", "Athena engine version 3"], var.athena_engine_version)
    error_message = "athena_engine_version must be \"AUTO\" or \"Athena engine version 3\" (the query pack is Trino-dialect SQL)."
  }
}

variable "force_destroy" {
  description = "Allow `terraform destroy` to delete non-empty buckets and a workgroup with saved queries. Keep false outside throwaway environments."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Extra tags on every taggable resource (the stack adds default_tags on the provider)."
  type        = map(string)
  default     = {}
}
