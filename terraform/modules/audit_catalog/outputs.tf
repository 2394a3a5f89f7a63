output "lake_bucket_name" {
  description = "Audit data-lake bucket (pass to the SAM app as AuditBucketName)."
  value       = aws_s3_bucket.this["lake"].bucket
}

output "lake_bucket_arn" {
  description = "Audit data-lake bucket ARN."
  value       = aws_s3_bucket.this["lake"].arn
}

output "results_bucket_name" {
  description = "Athena query results bucket."
  value       = aws_s3_bucket.this["results"].bucket
}

output "results_bucket_arn" {
  description = "Athena query results bucket ARN."
  value       = aws_s3_bucket.this["results"].arn
}

output "locations" {
  description = "S3 URIs of the zones and of the Athena results prefix."
  value = {
    raw        = local.raw_location
    quarantine = local.quarantine_location
    curated    = local.curated_location
    results    = local.results_location
  }
}

output "database_name" {
  description = "Glue database (Athena schema)."
  value       = aws_glue_catalog_database.audit.name
}

output "raw_table_name" {
  description = "Glue table over raw/ (JSON lines, dt/hour projection)."
  value       = aws_glue_catalog_table.raw.name
}

output "curated_table_name" {
  description = "Glue table over curated/ (Parquet, one registered partition per dt, written by compaction)."
  value       = aws_glue_catalog_table.curated.name
}

output "table_names" {
  description = "Both table names, keyed by zone."
  value = {
    raw     = aws_glue_catalog_table.raw.name
    curated = aws_glue_catalog_table.curated.name
  }
}

output "workgroup_name" {
  description = "Athena workgroup (enforced configuration)."
  value       = aws_athena_workgroup.audit.name
}

output "audit_columns" {
  description = "Audit columns (name and Athena type) of the curated table, for consumers that generate SQL."
  value       = [for c in local.curated_columns : { name = c.name, type = c.type }]
}
