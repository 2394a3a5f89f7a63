# Athena workgroup: enforced configuration, scan cutoff, encrypted results in the results bucket.

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

run "workgroup_defaults" {
  command = plan

  assert {
    condition     = aws_athena_workgroup.audit.name == "tenantkit-test-audit" && aws_athena_workgroup.audit.state == "ENABLED"
    error_message = "workgroup must be named from the variable and enabled"
  }
  assert {
    condition     = aws_athena_workgroup.audit.configuration[0].enforce_workgroup_configuration == true
    error_message = "workgroup configuration must be enforced (clients cannot override output, encryption or cutoff)"
  }
  assert {
    condition     = aws_athena_workgroup.audit.configuration[0].bytes_scanned_cutoff_per_query == 10737418240
    error_message = "default per-query scan cutoff must be 10 GB"
  }
  assert {
    condition     = aws_athena_workgroup.audit.configuration[0].result_configuration[0].output_location == "s3://tenantkit-athena-results-test/athena-results/"
    error_message = "query results must go to the results bucket's athena-results/ prefix"
  }
  assert {
    condition = (
      aws_athena_workgroup.audit.configuration[0].result_configuration[0].encryption_configuration[0].encryption_option == "SSE_S3"
      && aws_athena_workgroup.audit.configuration[0].result_configuration[0].encryption_configuration[0].kms_key_arn == null
    )
    error_message = "query results must be encrypted (SSE_S3 by default)"
  }
  assert {
    condition     = aws_athena_workgroup.audit.configuration[0].engine_version[0].selected_engine_version == "Athena engine version 3"
    error_message = "workgroup must select Athena engine version 3"
  }
  assert {
    condition     = aws_athena_workgroup.audit.configuration[0].publish_cloudwatch_metrics_enabled == true
    error_message = "workgroup must publish CloudWatch metrics (scanned bytes per query)"
  }
  assert {
    condition     = output.workgroup_name == "tenantkit-test-audit" && output.database_name == "tenantkit_test_audit"
    error_message = "outputs must expose the workgroup and database names"
  }
  assert {
    condition     = output.table_names == { raw = "audit_raw", curated = "audit_curated" }
    error_message = "outputs must expose both table names"
  }
}
