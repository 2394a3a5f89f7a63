variable "queries_dir" {
  description = "Directory holding the query packs (<pack>/<name>.sql). Default: the repository's queries/ (../../../queries from this module)."
  type        = string
  default     = null
}

variable "workgroup" {
  description = "Athena workgroup the named queries belong to (the audit_catalog module's workgroup_name)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,128}$", var.workgroup))
    error_message = "workgroup must be 1-128 characters of A-Z, a-z, 0-9, '.', '_', '-'."
  }
}

variable "database" {
  description = "Glue database (Athena schema) the queries run in (the audit_catalog module's database_name)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,254}$", var.database))
    error_message = "database must match ^[a-z][a-z0-9_]{0,254}$."
  }
}
