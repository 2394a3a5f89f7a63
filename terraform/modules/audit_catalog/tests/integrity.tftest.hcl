# Integrity of the lake: Object Lock (governance by default, compliance as an option, retention
# a variable), a bucket policy that lets only the sink write raw/ and only compaction write
# curated/, no deletes outside the lifecycle, and the customer managed KMS key option.

mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }
  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "111122223333"
    }
  }
  mock_data "aws_region" {
    defaults = {
      name = "eu-west-1"
    }
  }
  mock_resource "aws_kms_key" {
    defaults = {
      arn    = "arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555"
      key_id = "11111111-2222-3333-4444-555555555555"
    }
  }
}

variables {
  lake_bucket_name    = "tenantkit-audit-test"
  results_bucket_name = "tenantkit-athena-results-test"
  database_name       = "tenantkit_test_audit"
  workgroup_name      = "tenantkit-test-audit"

  # Test-only helper: statements of the lake policy by Sid.
  lake = "arn:aws:s3:::tenantkit-audit-test"
}

run "object_lock_governance_by_default" {
  command = plan

  assert {
    condition     = aws_s3_bucket.this["lake"].object_lock_enabled == true && aws_s3_bucket.this["results"].object_lock_enabled == false
    error_message = "Object Lock must be enabled on the lake bucket (only)"
  }
  assert {
    condition     = aws_s3_bucket_object_lock_configuration.lake.rule[0].default_retention[0].mode == "GOVERNANCE"
    error_message = "the default retention mode must be GOVERNANCE"
  }
  assert {
    condition     = aws_s3_bucket_object_lock_configuration.lake.rule[0].default_retention[0].days == 14
    error_message = "the default retention must be 14 days"
  }
}

run "object_lock_compliance_option" {
  command = plan

  variables {
    object_lock_mode           = "COMPLIANCE"
    object_lock_retention_days = 400
  }

  assert {
    condition = (
      aws_s3_bucket_object_lock_configuration.lake.rule[0].default_retention[0].mode == "COMPLIANCE"
      && aws_s3_bucket_object_lock_configuration.lake.rule[0].default_retention[0].days == 400
    )
    error_message = "object_lock_mode and object_lock_retention_days must reach the lock configuration"
  }
}

run "only_the_pipeline_writes_and_nobody_deletes_evidence" {
  command = plan

  variables {
    raw_writer_arns     = ["arn:aws:iam::111122223333:role/prod-AuditSinkFunctionRole-ABC"]
    curated_writer_arns = ["arn:aws:iam::111122223333:role/prod-AuditCompactionFunctionRole-DEF"]
  }

  assert {
    condition = length([for s in jsondecode(aws_s3_bucket_policy.this["lake"].policy).Statement : s if s.Sid == "OnlyTheSinkWritesRaw"]) == 1 && alltrue([
      for s in jsondecode(aws_s3_bucket_policy.this["lake"].policy).Statement :
      s.Effect == "Deny" && s.Action == "s3:PutObject"
      && s.Resource == ["${var.lake}/raw/*"]
      && s.Condition.ArnNotLike["aws:PrincipalArn"] == ["arn:aws:iam::111122223333:role/prod-AuditSinkFunctionRole-ABC"]
      if s.Sid == "OnlyTheSinkWritesRaw"
    ])
    error_message = "raw/ must be writable only by raw_writer_arns"
  }
  assert {
    condition = length([for s in jsondecode(aws_s3_bucket_policy.this["lake"].policy).Statement : s if s.Sid == "OnlyCompactionWritesCurated"]) == 1 && alltrue([
      for s in jsondecode(aws_s3_bucket_policy.this["lake"].policy).Statement :
      s.Effect == "Deny"
      && toset(s.Action) == toset(["s3:PutObject", "s3:DeleteObject"]) && s.Resource == ["${var.lake}/curated/*"]
      && s.Condition.ArnNotLike["aws:PrincipalArn"] == ["arn:aws:iam::111122223333:role/prod-AuditCompactionFunctionRole-DEF"]
      if s.Sid == "OnlyCompactionWritesCurated"
    ])
    error_message = "curated/ must be writable (and deletable) only by curated_writer_arns"
  }
  assert {
    condition = length([for s in jsondecode(aws_s3_bucket_policy.this["lake"].policy).Statement : s if s.Sid == "OnlyThePipelineWritesQuarantine"]) == 1 && alltrue([
      for s in jsondecode(aws_s3_bucket_policy.this["lake"].policy).Statement :
      s.Resource == ["${var.lake}/quarantine/*"]
      && length(s.Condition.ArnNotLike["aws:PrincipalArn"]) == 2
      if s.Sid == "OnlyThePipelineWritesQuarantine"
    ])
    error_message = "quarantine/ must be writable only by the sink and compaction"
  }
  assert {
    condition = length([for s in jsondecode(aws_s3_bucket_policy.this["lake"].policy).Statement : s if s.Sid == "NoDeletesOfEvidence"]) == 1 && alltrue([
      for s in jsondecode(aws_s3_bucket_policy.this["lake"].policy).Statement :
      s.Effect == "Deny" && s.Action == "s3:DeleteObject" && !can(s.Condition)
      && toset(s.Resource) == toset(["${var.lake}/raw/*", "${var.lake}/quarantine/*"])
      if s.Sid == "NoDeletesOfEvidence"
    ])
    error_message = "nobody may delete in raw/ or quarantine/ (the lifecycle expires them)"
  }
  assert {
    condition = length([for s in jsondecode(aws_s3_bucket_policy.this["lake"].policy).Statement : s if s.Sid == "NoVersionDeletes"]) == 1 && alltrue([
      for s in jsondecode(aws_s3_bucket_policy.this["lake"].policy).Statement :
      s.Action == "s3:DeleteObjectVersion" && s.Resource == ["${var.lake}/*"] && !can(s.Condition)
      if s.Sid == "NoVersionDeletes"
    ])
    error_message = "nobody may delete object versions anywhere in the lake"
  }
  assert {
    condition = length([for s in jsondecode(aws_s3_bucket_policy.this["lake"].policy).Statement : s if s.Sid == "NoGovernanceBypass"]) == 1 && alltrue([
      for s in jsondecode(aws_s3_bucket_policy.this["lake"].policy).Statement :
      s.Action == "s3:BypassGovernanceRetention" && !can(s.Condition)
      if s.Sid == "NoGovernanceBypass"
    ])
    error_message = "with no object_lock_bypass_arns nobody may bypass governance retention"
  }
  assert {
    condition     = !strcontains(aws_s3_bucket_policy.this["results"].policy, "OnlyTheSinkWritesRaw")
    error_message = "the writer rules belong to the lake, not the results bucket"
  }
}

run "a_named_governance_bypass" {
  command = plan

  variables {
    object_lock_bypass_arns = ["arn:aws:iam::111122223333:role/break-glass"]
  }

  assert {
    condition = length([for s in jsondecode(aws_s3_bucket_policy.this["lake"].policy).Statement : s if s.Sid == "NoGovernanceBypass"]) == 1 && alltrue([
      for s in jsondecode(aws_s3_bucket_policy.this["lake"].policy).Statement :
      s.Condition.ArnNotLike["aws:PrincipalArn"] == ["arn:aws:iam::111122223333:role/break-glass"]
      if s.Sid == "NoGovernanceBypass"
    ])
    error_message = "object_lock_bypass_arns must be the only exception to the bypass deny"
  }
}

run "customer_managed_key_option" {
  command = apply

  variables {
    sse_algorithm   = "aws:kms"
    create_kms_key  = true
    kms_reader_arns = ["arn:aws:iam::111122223333:role/auditor"]
  }

  assert {
    condition     = length(aws_kms_key.audit) == 1 && aws_kms_key.audit[0].enable_key_rotation
    error_message = "create_kms_key must create one key with rotation on"
  }
  assert {
    condition = alltrue([
      for e in aws_s3_bucket_server_side_encryption_configuration.this :
      one([for r in e.rule : r.apply_server_side_encryption_by_default[0].kms_master_key_id]) == aws_kms_key.audit[0].arn
    ])
    error_message = "both buckets must default to the created key"
  }
  assert {
    condition     = aws_athena_workgroup.audit.configuration[0].result_configuration[0].encryption_configuration[0].kms_key_arn == aws_kms_key.audit[0].arn
    error_message = "Athena results must be encrypted with the created key"
  }
  assert {
    condition = length([for s in jsondecode(aws_kms_key.audit[0].policy).Statement : s if s.Sid == "PipelineAndReadersThroughS3"]) == 1 && alltrue([
      for s in jsondecode(aws_kms_key.audit[0].policy).Statement :
      s.Condition.StringEquals["kms:ViaService"] == "s3.eu-west-1.amazonaws.com"
      && s.Condition.StringEquals["kms:CallerAccount"] == "111122223333"
      && contains(s.Condition.ArnLike["aws:PrincipalArn"], "arn:aws:iam::111122223333:role/auditor")
      && contains(s.Condition.ArnLike["aws:PrincipalArn"], "arn:*:iam::*:role/*-AuditSinkFunctionRole-*")
      && toset(s.Action) == toset(["kms:GenerateDataKey", "kms:Decrypt", "kms:DescribeKey"])
      if s.Sid == "PipelineAndReadersThroughS3"
    ])
    error_message = "the key policy must let the pipeline and the readers use the key through S3 only"
  }
  assert {
    condition = length([for s in jsondecode(aws_s3_bucket_policy.this["lake"].policy).Statement : s if s.Sid == "OnlyTheAuditKey"]) == 1 && alltrue([
      for s in jsondecode(aws_s3_bucket_policy.this["lake"].policy).Statement :
      s.Condition.StringNotEqualsIfExists["s3:x-amz-server-side-encryption-aws-kms-key-id"] == aws_kms_key.audit[0].arn
      if s.Sid == "OnlyTheAuditKey"
    ])
    error_message = "the lake must refuse objects encrypted under another key"
  }
}

run "rejects_a_key_without_kms_and_an_unknown_lock_mode" {
  command = plan

  variables {
    create_kms_key   = true
    object_lock_mode = "LEGAL_HOLD"
  }

  expect_failures = [var.create_kms_key, var.object_lock_mode]
}

run "rejects_no_writers" {
  command = plan

  variables {
    raw_writer_arns = []
  }

  expect_failures = [var.raw_writer_arns]
}
