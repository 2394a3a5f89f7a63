# Variable validation: bad inputs fail at plan time, before anything reaches AWS.
# A run may list several failing variables; expect_failures then requires every one of them
# to fail (and nothing else). Validations that refer to another variable are tested with that
# other variable valid, since Terraform skips them when it is not.

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

# raw = 1 breaks both raw_retention_days rules (">= 2" and "> compaction_catchup_days", whose
# minimum is 1); expect_failures cannot tell which block fired, so each rule alone keeps this
# run green. The next run isolates the catch-up rule.
run "rejects_raw_retention_of_one_day" {
  command = plan

  variables {
    raw_retention_days = 1
  }

  expect_failures = [var.raw_retention_days]
}

run "rejects_raw_retention_within_compaction_catchup" {
  command = plan

  variables {
    raw_retention_days      = 5
    compaction_catchup_days = 5
  }

  expect_failures = [var.raw_retention_days]
}

run "rejects_cutoff_below_10_mb_and_results_in_the_lake" {
  command = plan

  variables {
    bytes_scanned_cutoff_per_query = 10485759
    results_bucket_name            = "tenantkit-audit-test"
  }

  expect_failures = [var.bytes_scanned_cutoff_per_query, var.results_bucket_name]
}

run "rejects_bad_names_and_standard_ia_before_30_days" {
  command = plan

  variables {
    lake_bucket_name           = "Tenantkit_Audit"
    database_name              = "tenantkit-audit"
    workgroup_name             = "has spaces"
    curated_ia_transition_days = 29
  }

  expect_failures = [var.lake_bucket_name, var.database_name, var.workgroup_name, var.curated_ia_transition_days]
}


run "rejects_kms_without_key_and_glacier_too_early" {
  command = plan

  variables {
    sse_algorithm                      = "aws:kms"
    kms_key_arn                        = null
    curated_glacier_ir_transition_days = 40
  }

  expect_failures = [var.kms_key_arn, var.curated_glacier_ir_transition_days]
}
