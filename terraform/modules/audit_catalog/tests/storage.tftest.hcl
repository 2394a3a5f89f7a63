# S3: TLS-only bucket policies, encryption, versioning, public access block, lifecycle days.

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

run "buckets_baseline_and_tls_only_policy" {
  command = plan

  assert {
    condition     = toset(keys(aws_s3_bucket.this)) == toset(["lake", "results"])
    error_message = "exactly two buckets: the lake (raw/, quarantine/, curated/) and Athena results"
  }
  assert {
    condition     = aws_s3_bucket.this["lake"].bucket == "tenantkit-audit-test" && aws_s3_bucket.this["results"].bucket == "tenantkit-athena-results-test"
    error_message = "bucket names must come from the variables"
  }
  # Every bucket: a Deny for s3:* on the bucket and its objects when aws:SecureTransport is false.
  assert {
    condition = alltrue([
      for key, name in { lake = "tenantkit-audit-test", results = "tenantkit-athena-results-test" } :
      anytrue([
        for s in jsondecode(aws_s3_bucket_policy.this[key].policy).Statement :
        s.Effect == "Deny"
        && s.Principal == "*"
        && s.Action == "s3:*"
        && try(s.Condition.Bool["aws:SecureTransport"], null) == "false"
        && toset(s.Resource) == toset(["arn:aws:s3:::${name}", "arn:aws:s3:::${name}/*"])
      ])
    ])
    error_message = "each bucket policy must deny s3:* on the bucket and its objects when aws:SecureTransport is false"
  }
  assert {
    condition     = strcontains(aws_s3_bucket_policy.this["lake"].policy, "\"aws:SecureTransport\":\"false\"")
    error_message = "rendered lake policy JSON must carry the aws:SecureTransport condition"
  }
  assert {
    condition     = alltrue([for p in aws_s3_bucket_policy.this : anytrue([for s in jsondecode(p.policy).Statement : s.Effect == "Deny" && try(s.Condition.NumericLessThan["s3:TlsVersion"], null) == "1.2"])])
    error_message = "each bucket policy must deny TLS versions below 1.2"
  }
  assert {
    condition     = alltrue([for p in aws_s3_bucket_policy.this : alltrue([for s in jsondecode(p.policy).Statement : s.Effect == "Deny"])])
    error_message = "the bucket policies grant nothing: access comes from IAM identity policies"
  }
  assert {
    condition     = alltrue([for v in aws_s3_bucket_versioning.this : v.versioning_configuration[0].status == "Enabled"])
    error_message = "versioning must be enabled on every bucket"
  }
  assert {
    condition = alltrue([
      for b in aws_s3_bucket_public_access_block.this :
      b.block_public_acls && b.block_public_policy && b.ignore_public_acls && b.restrict_public_buckets
    ])
    error_message = "every bucket must block all public access"
  }
  assert {
    condition     = alltrue([for o in aws_s3_bucket_ownership_controls.this : o.rule[0].object_ownership == "BucketOwnerEnforced"])
    error_message = "ACLs must be disabled (BucketOwnerEnforced) on every bucket"
  }
  assert {
    condition = alltrue([
      for e in aws_s3_bucket_server_side_encryption_configuration.this :
      one([for r in e.rule : r.apply_server_side_encryption_by_default[0].sse_algorithm]) == "AES256"
    ])
    error_message = "default encryption must be SSE-S3 (AES256) by default"
  }
}

run "lifecycle_defaults" {
  command = plan

  # raw 14 days, quarantine 30 days, curated -> STANDARD_IA at 30 days, Athena results 7 days.
  assert {
    condition     = { for r in aws_s3_bucket_lifecycle_configuration.lake.rule : r.id => r.filter[0].prefix } == { "raw-expire" = "raw/", "quarantine-expire" = "quarantine/", "curated-tiering" = "curated/" }
    error_message = "lake lifecycle rules must be one per zone prefix"
  }
  assert {
    condition     = [for r in aws_s3_bucket_lifecycle_configuration.lake.rule : r.expiration[0].days if r.id == "raw-expire"] == [14]
    error_message = "raw/ must expire after 14 days by default"
  }
  assert {
    condition     = [for r in aws_s3_bucket_lifecycle_configuration.lake.rule : r.expiration[0].days if r.id == "quarantine-expire"] == [30]
    error_message = "quarantine/ must expire after 30 days"
  }
  assert {
    condition = [
      for r in aws_s3_bucket_lifecycle_configuration.lake.rule :
      { for t in r.transition : t.storage_class => t.days } if r.id == "curated-tiering"
    ] == [{ STANDARD_IA = 30 }]
    error_message = "curated/ must move to STANDARD_IA after 30 days and nowhere else by default"
  }
  assert {
    condition     = [for r in aws_s3_bucket_lifecycle_configuration.lake.rule : r.expiration[0].expired_object_delete_marker if r.id == "curated-tiering"] == [true]
    error_message = "curated/ keeps current objects by default and cleans up expired delete markers"
  }
  assert {
    condition     = alltrue([for r in aws_s3_bucket_lifecycle_configuration.lake.rule : r.noncurrent_version_expiration[0].noncurrent_days == 7 && r.status == "Enabled"])
    error_message = "every lake rule must be enabled and remove noncurrent versions (7 days by default)"
  }
  assert {
    condition     = one(aws_s3_bucket_lifecycle_configuration.results.rule).expiration[0].days == 7
    error_message = "Athena results must expire after 7 days"
  }
}
