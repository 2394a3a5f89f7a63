variable "database_name" {
  description = "Glue database of the audit workgroup: the cost named queries read `cur` unqualified, so the table lives next to audit_raw and audit_curated."
  type        = string
}

variable "table_name" {
  description = "Table name the cost queries read."
  type        = string
  default     = "cur"
}

variable "data_location" {
  description = "S3 URI of the CUR 2.0 export's data/ prefix (s3://<bucket>/<prefix>/<export name>/data/), under which the export writes BILLING_PERIOD=YYYY-MM/ partitions."
  type        = string

  validation {
    condition     = can(regex("^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/([^/]+/)*$", var.data_location))
    error_message = "data_location must be s3://<bucket>/<prefix>/ ending with '/'."
  }
}

variable "projection_range_start" {
  description = "First billing period (YYYY-MM) partition projection knows."
  type        = string
  default     = "2024-01"

  validation {
    condition     = can(regex("^[0-9]{4}-(0[1-9]|1[0-2])$", var.projection_range_start))
    error_message = "projection_range_start must be YYYY-MM."
  }
}
