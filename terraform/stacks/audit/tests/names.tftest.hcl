# The names deploy/environments.json gives the stack are the names it outputs, unchanged: the
# SAM parameters AuditBucketName, AthenaResultsBucket, AthenaWorkgroup, AthenaDatabase and
# CompactionCatchUpDays are checked against these outputs by `tenantkit deploy plan`, which
# relies on this pass-through. The CUR 2.0 table the cost queries read is in the same database.

mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }
}

variables {
  env                     = "staging"
  region                  = "eu-west-1"
  lake_bucket_name        = "acme-audit-lake-staging"
  results_bucket_name     = "acme-athena-staging"
  workgroup_name          = "acme-staging-wg"
  database_name           = "acme_staging_db"
  compaction_catchup_days = 4
}

run "outputs_pass_the_given_names_through" {
  command = plan

  assert {
    condition     = output.audit_bucket_name == var.lake_bucket_name && output.athena_results_bucket_name == var.results_bucket_name
    error_message = "bucket outputs must be exactly the names given"
  }
  assert {
    condition     = output.athena_workgroup_name == var.workgroup_name && output.glue_database_name == var.database_name
    error_message = "workgroup and database outputs must be exactly the names given"
  }
  assert {
    condition     = output.compaction_catchup_days == 4
    error_message = "compaction_catchup_days is output for the SAM CompactionCatchUpDays parameter"
  }
}

run "cur_table_next_to_the_audit_tables" {
  command = plan

  assert {
    condition     = output.cur_table_name == "cur" && module.cur_table.columns["resource_tags"] == "map<string,string>"
    error_message = "the cost queries read `cur` in the audit database"
  }
  assert {
    condition     = alltrue([for q in values(output.named_queries) : q.database == "acme_staging_db"])
    error_message = "every named query (cost included) runs in the database that holds cur"
  }
}

run "cur_location_defaults_into_the_lake" {
  command = plan

  assert {
    condition     = module.cur_table.data_location == "s3://acme-audit-lake-staging/cur/tenantkit-staging/data/"
    error_message = "without an override the export delivers into the lake bucket under cur/<app_id>-<env>/"
  }
}

run "cur_location_override" {
  command = plan

  variables {
    cur_data_location = "s3://billing-exports-123/cur2/acme/data/"
  }

  assert {
    condition     = module.cur_table.data_location == "s3://billing-exports-123/cur2/acme/data/"
    error_message = "an export in its own bucket is read where it is"
  }
}
