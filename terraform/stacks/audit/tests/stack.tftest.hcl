# The dev stack wires the module with names that match the SAM app's parameter defaults
# (template.yaml: AuditBucketName, AthenaWorkgroup, AthenaDatabase, AthenaResultsBucket,
# AthenaResultsPrefix).
# Plan-only against a mocked AWS provider (the provider block's region/default_tags are not
# exercised by the mock).

mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }
}

variables {
  env    = "dev"
  region = "eu-west-1"
}

run "dev_names_match_sam_defaults" {
  command = plan

  assert {
    condition     = output.audit_bucket_name == "tenantkit-audit-dev"
    error_message = "the dev lake bucket must be tenantkit-audit-dev, the SAM AuditBucketName default"
  }
  assert {
    condition     = output.athena_results_bucket_name == "tenantkit-athena-results-dev"
    error_message = "results bucket must be <app_id>-athena-results-<env>"
  }
  assert {
    condition     = output.glue_database_name == "tenantkit_dev_audit" && output.athena_workgroup_name == "tenantkit-dev-audit"
    error_message = "database and workgroup names must derive from app_id and env"
  }
  assert {
    condition     = output.table_names == { raw = "audit_raw", curated = "audit_curated" }
    error_message = "the stack must expose both tables"
  }
  assert {
    condition     = output.locations.raw == "s3://tenantkit-audit-dev/raw/" && output.locations.quarantine == "s3://tenantkit-audit-dev/quarantine/"
    error_message = "raw/ and quarantine/ must be the prefixes the SAM sink role may write"
  }
  assert {
    condition     = output.locations.results == "s3://tenantkit-athena-results-dev/athena-results/"
    error_message = "results location must match the SAM defaults AthenaResultsBucket/AthenaResultsPrefix"
  }
}

run "hyphenated_app_id_gives_a_valid_database_name" {
  command = plan

  variables {
    env    = "prod-eu"
    app_id = "claims-portal"
  }

  assert {
    condition     = output.glue_database_name == "claims_portal_prod_eu_audit"
    error_message = "hyphens must become underscores in the Glue database name"
  }
  assert {
    condition     = output.audit_bucket_name == "claims-portal-audit-prod-eu"
    error_message = "bucket names keep hyphens"
  }
}

run "rejects_invalid_env" {
  command = plan

  variables {
    env = "Prod_1"
  }

  expect_failures = [var.env]
}
