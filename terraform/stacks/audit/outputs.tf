output "audit_bucket_name" {
  description = "Pass to the SAM app: sam deploy --parameter-overrides AuditBucketName=<this>."
  value       = module.audit_catalog.lake_bucket_name
}

output "audit_bucket_arn" {
  description = "Audit data-lake bucket ARN (for IAM policies of the sink and compaction)."
  value       = module.audit_catalog.lake_bucket_arn
}

output "athena_results_bucket_name" {
  description = "Athena query results bucket."
  value       = module.audit_catalog.results_bucket_name
}

output "athena_results_bucket_arn" {
  description = "Athena query results bucket ARN."
  value       = module.audit_catalog.results_bucket_arn
}

output "locations" {
  description = "S3 URIs of raw/, quarantine/, curated/ and the Athena results prefix."
  value       = module.audit_catalog.locations
}

output "glue_database_name" {
  description = "Glue database (Athena schema)."
  value       = module.audit_catalog.database_name
}

output "table_names" {
  description = "Glue tables keyed by zone (raw, curated)."
  value       = module.audit_catalog.table_names
}

output "athena_workgroup_name" {
  description = "Athena workgroup for audit queries."
  value       = module.audit_catalog.workgroup_name
}

output "named_queries" {
  description = "Athena named queries keyed by file (<pack>/<name>.sql): name, description, workgroup, database."
  value       = module.named_queries.queries
}

output "named_query_ids" {
  description = "Athena named query ids keyed by file (<pack>/<name>.sql), e.g. for a dashboard that runs them by id."
  value       = module.named_queries.named_query_ids
}

output "compaction_catchup_days" {
  description = "Days compaction re-reads raw/; the SAM CompactionCatchUpDays parameter must equal it (raw retention is validated against it)."
  value       = var.compaction_catchup_days
}

output "cur_table_name" {
  description = "The CUR 2.0 table the cost named queries read."
  value       = module.cur_table.table_name
}
