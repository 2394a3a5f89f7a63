# Every tunable at a non-default value in one plan: lifecycle days, GLACIER_IR, curated
# expiration, SSE-KMS (buckets and Athena results), scan cutoff, projection range. Also
# proves the boundary values (raw 2 days, catch-up 1 day) are accepted.

mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }
}

variables {
  lake_bucket_name    = "tenantkit-audit-test"
  results_bucket_name = "tenantkit-athena-results-test"
  database_name       = "tenantkit_test_audit"
  workgroup_name      = "tenantkit-test-audit"
}

run "every_tunable_overridden" {
  command = plan

  variables {
    raw_retention_days                 = 2
    compaction_catchup_days            = 1
    curated_ia_transition_days         = 45
    curated_glacier_ir_transition_days = 120
    curated_expiration_days            = 2555
    athena_results_retention_days      = 3
    sse_algorithm                      = "aws:kms"
    kms_key_arn                        = "arn:aws:kms:us-east-1:111122223333:key/0b8d6a1e-1111-2222-3333-444455556666"
    bytes_scanned_cutoff_per_query     = 1073741824
    projection_range_start             = "NOW-90DAYS"
  }

  assert {
    condition     = [for r in aws_s3_bucket_lifecycle_configuration.lake.rule : r.expiration[0].days if r.id == "raw-expire"] == [2]
    error_message = "raw_retention_days must drive the raw/ expiration (2 days is the accepted minimum)"
  }
  assert {
    condition = [
      for r in aws_s3_bucket_lifecycle_configuration.lake.rule :
      { for t in r.transition : t.storage_class => t.days } if r.id == "curated-tiering"
    ] == [{ STANDARD_IA = 45, GLACIER_IR = 120 }]
    error_message = "curated/ must transition to STANDARD_IA then GLACIER_IR at the configured days"
  }
  assert {
    condition     = [for r in aws_s3_bucket_lifecycle_configuration.lake.rule : r.expiration[0].days if r.id == "curated-tiering"] == [2555]
    error_message = "curated_expiration_days must drive the curated/ expiration"
  }
  assert {
    condition     = one(aws_s3_bucket_lifecycle_configuration.results.rule).expiration[0].days == 3
    error_message = "athena_results_retention_days must drive the results expiration"
  }
  assert {
    condition = alltrue([
      for e in aws_s3_bucket_server_side_encryption_configuration.this : alltrue([
        for r in e.rule :
        r.apply_server_side_encryption_by_default[0].sse_algorithm == "aws:kms"
        && r.apply_server_side_encryption_by_default[0].kms_master_key_id == "arn:aws:kms:us-east-1:111122223333:key/0b8d6a1e-1111-2222-3333-444455556666"
        && r.bucket_key_enabled
      ])
    ])
    error_message = "with aws:kms every bucket must default to SSE-KMS with the key and an S3 Bucket Key"
  }
  assert {
    condition = (
      aws_athena_workgroup.audit.configuration[0].result_configuration[0].encryption_configuration[0].encryption_option == "SSE_KMS"
      && aws_athena_workgroup.audit.configuration[0].result_configuration[0].encryption_configuration[0].kms_key_arn == "arn:aws:kms:us-east-1:111122223333:key/0b8d6a1e-1111-2222-3333-444455556666"
    )
    error_message = "with aws:kms Athena results must be SSE_KMS with the same key"
  }
  assert {
    condition     = aws_athena_workgroup.audit.configuration[0].bytes_scanned_cutoff_per_query == 1073741824
    error_message = "bytes_scanned_cutoff_per_query must drive the workgroup cutoff"
  }
  assert {
    condition = (
      aws_glue_catalog_table.raw.parameters["projection.dt.range"] == "NOW-90DAYS,NOW"
      && !contains(keys(aws_glue_catalog_table.curated.parameters), "projection.dt.range")
    )
    error_message = "projection_range_start must drive the raw table's dt range (the curated table registers its partitions)"
  }
}
