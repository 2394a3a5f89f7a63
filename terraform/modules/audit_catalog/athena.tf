resource "aws_athena_workgroup" "audit" {
  name          = var.workgroup_name
  description   = "tenantkit audit queries: tenant dashboards, cost joins, compaction."
  state         = "ENABLED"
  force_destroy = var.force_destroy
  tags          = var.tags

  configuration {
    # Clients cannot override the output location, encryption or the scan cutoff.
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true
    bytes_scanned_cutoff_per_query     = var.bytes_scanned_cutoff_per_query
    requester_pays_enabled             = false

    engine_version {
      selected_engine_version = var.athena_engine_version
    }

    result_configuration {
      output_location = local.results_location

      encryption_configuration {
        encryption_option = local.kms ? "SSE_KMS" : "SSE_S3"
        kms_key_arn       = local.kms ? local.kms_key_arn : null
      }

      acl_configuration {
        s3_acl_option = "BUCKET_OWNER_FULL_CONTROL"
      }
    }
  }
}
