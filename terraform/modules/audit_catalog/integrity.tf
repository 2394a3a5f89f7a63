# Integrity of the lake: the evidence cannot be overwritten away, deleted or written by anyone
# but the pipeline.
#
# * S3 Object Lock with a default retention on the lake bucket: every object version (raw/,
#   quarantine/, curated/) is kept for object_lock_retention_days, whatever a caller deletes or
#   overwrites. GOVERNANCE by default (a principal with s3:BypassGovernanceRetention, denied
#   below to all but object_lock_bypass_arns, can still shorten it); COMPLIANCE as an option
#   (nobody can, not even the root user, until the retention ends). Default retention is
#   bucket-wide: S3 has no per-prefix default.
# * Bucket policy (Deny only; access itself comes from IAM identity policies): raw/ is written
#   only by raw_writer_arns (the audit sink's role), curated/ only by curated_writer_arns
#   (compaction's role, which Athena UNLOAD writes as), quarantine/ by both; nobody deletes in
#   raw/ or quarantine/, nobody deletes object versions anywhere: removal is the lifecycle's
#   (lifecycle rules are not requests and are not subject to the bucket policy).
# * SSE-KMS with a customer managed key as an option (create_kms_key): rotation on, a key policy
#   letting the pipeline and the readers use it only through S3 in this account, and a bucket
#   policy refusing objects encrypted under any other key.

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

locals {
  lake_arn = "arn:${data.aws_partition.current.partition}:s3:::${var.lake_bucket_name}"

  integrity_statements = concat(
    [
      {
        Sid       = "OnlyTheSinkWritesRaw"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:PutObject"
        Resource  = ["${local.lake_arn}/${local.raw_prefix}*"]
        Condition = { ArnNotLike = { "aws:PrincipalArn" = var.raw_writer_arns } }
      },
      {
        Sid       = "OnlyCompactionWritesCurated"
        Effect    = "Deny"
        Principal = "*"
        Action    = ["s3:PutObject", "s3:DeleteObject"]
        Resource  = ["${local.lake_arn}/${local.curated_prefix}*"]
        Condition = { ArnNotLike = { "aws:PrincipalArn" = var.curated_writer_arns } }
      },
      {
        Sid       = "OnlyThePipelineWritesQuarantine"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:PutObject"
        Resource  = ["${local.lake_arn}/${local.quarantine_prefix}*"]
        Condition = { ArnNotLike = { "aws:PrincipalArn" = distinct(concat(var.raw_writer_arns, var.curated_writer_arns)) } }
      },
      {
        Sid       = "NoDeletesOfEvidence"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:DeleteObject"
        Resource  = ["${local.lake_arn}/${local.raw_prefix}*", "${local.lake_arn}/${local.quarantine_prefix}*"]
      },
      {
        Sid       = "NoVersionDeletes"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:DeleteObjectVersion"
        Resource  = ["${local.lake_arn}/*"]
      },
      merge(
        {
          Sid       = "NoGovernanceBypass"
          Effect    = "Deny"
          Principal = "*"
          Action    = "s3:BypassGovernanceRetention"
          Resource  = ["${local.lake_arn}/*"]
        },
        length(var.object_lock_bypass_arns) == 0 ? {} : {
          Condition = { ArnNotLike = { "aws:PrincipalArn" = var.object_lock_bypass_arns } }
        },
      ),
    ],
    var.create_kms_key ? [
      {
        Sid       = "OnlyTheAuditKey"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:PutObject"
        Resource  = ["${local.lake_arn}/*"]
        Condition = {
          StringNotEqualsIfExists = { "s3:x-amz-server-side-encryption-aws-kms-key-id" = aws_kms_key.audit[0].arn }
        }
      },
    ] : [],
  )
}

resource "aws_s3_bucket_object_lock_configuration" "lake" {
  bucket = aws_s3_bucket.this["lake"].id

  rule {
    default_retention {
      mode = var.object_lock_mode
      days = var.object_lock_retention_days
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

# --- optional customer managed key --------------------------------------------------------

resource "aws_kms_key" "audit" {
  count = var.create_kms_key ? 1 : 0

  description             = "tenantkit audit lake (${var.lake_bucket_name}) and Athena results"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  tags                    = var.tags

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        # Key administration stays with the account (IAM decides who): without it the key
        # could become unmanageable.
        Sid       = "AccountAdministersTheKey"
        Effect    = "Allow"
        Principal = { AWS = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        # The pipeline and the readers: data keys only, only through S3 (and Athena's result
        # writes, which go through S3 too), only callers of this account.
        Sid       = "PipelineAndReadersThroughS3"
        Effect    = "Allow"
        Principal = { AWS = "*" }
        Action    = ["kms:GenerateDataKey", "kms:Decrypt", "kms:DescribeKey"]
        Resource  = "*"
        Condition = {
          StringEquals = {
            "kms:CallerAccount" = data.aws_caller_identity.current.account_id
            "kms:ViaService"    = "s3.${data.aws_region.current.name}.amazonaws.com"
          }
          ArnLike = { "aws:PrincipalArn" = distinct(concat(var.raw_writer_arns, var.curated_writer_arns, var.kms_reader_arns)) }
        }
      },
    ]
  })
}

resource "aws_kms_alias" "audit" {
  count = var.create_kms_key ? 1 : 0

  name          = "alias/${var.lake_bucket_name}"
  target_key_id = aws_kms_key.audit[0].key_id
}
