# The audit stack for one environment: the data lake, Glue catalog and Athena workgroup of the
# audit pipeline (module audit_catalog). The SAM app (template.yaml) consumes
# lake_bucket_name as its AuditBucketName parameter.

locals {
  name_prefix = "${var.app_id}-${var.env}"
}

module "audit_catalog" {
  source = "../../modules/audit_catalog"

  lake_bucket_name    = coalesce(var.lake_bucket_name, "${var.app_id}-audit-${var.env}")
  results_bucket_name = coalesce(var.results_bucket_name, "${var.app_id}-athena-results-${var.env}")
  database_name       = coalesce(var.database_name, replace("${var.app_id}_${var.env}_audit", "-", "_"))
  workgroup_name      = coalesce(var.workgroup_name, "${local.name_prefix}-audit")

  sse_algorithm                      = var.sse_algorithm
  kms_key_arn                        = var.kms_key_arn
  raw_retention_days                 = var.raw_retention_days
  compaction_catchup_days            = var.compaction_catchup_days
  curated_glacier_ir_transition_days = var.curated_glacier_ir_transition_days
  bytes_scanned_cutoff_per_query     = var.bytes_scanned_cutoff_per_query
  force_destroy                      = var.force_destroy
  create_kms_key                     = var.create_kms_key
  object_lock_mode                   = var.object_lock_mode
  object_lock_retention_days         = var.object_lock_retention_days
  raw_writer_arns                    = var.audit_sink_role_arns
  curated_writer_arns                = var.audit_compaction_role_arns
}

# Every queries/<pack>/<name>.sql as an Athena named query in the audit workgroup and database:
# tenant dashboards, security and session views, the tenant view, compaction. A new file
# needs no Terraform change (modules/named_queries reads name and description from its header).
module "named_queries" {
  source = "../../modules/named_queries"

  workgroup = module.audit_catalog.workgroup_name
  database  = module.audit_catalog.database_name
}

# The CUR 2.0 data export table the cost named queries read as `cur` (queries/cost/*.sql), in the
# same database, so every named query deployed above runs. The export itself is configured in
# Billing and Cost Management (docs/cost-attribution.md); by default it delivers into the lake
# bucket under cur/.
module "cur_table" {
  source = "../../modules/cur_table"

  database_name = module.audit_catalog.database_name
  data_location = coalesce(var.cur_data_location, "s3://${module.audit_catalog.lake_bucket_name}/cur/${local.name_prefix}/data/")
}
