# Both buckets get the same baseline from one for_each, so no control can be forgotten on one
# of them: versioning, default encryption, public access block, bucket-owner-enforced
# ownership (ACLs off) and a policy that denies any request not made over TLS.

resource "aws_s3_bucket" "this" {
  for_each = local.buckets

  bucket        = each.value
  force_destroy = var.force_destroy
  # The lake keeps every object version for the Object Lock retention (integrity.tf).
  object_lock_enabled = each.key == "lake"
  tags                = merge(var.tags, { "tenantkit:zone" = each.key == "lake" ? "audit-lake" : "athena-results" })
}

resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each = aws_s3_bucket.this

  bucket                  = each.value.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.sse_algorithm
      kms_master_key_id = local.kms ? local.kms_key_arn : null
    }
    # S3 Bucket Keys cut KMS request costs for the many small raw objects.
    bucket_key_enabled = local.kms
  }
}

locals {
  # Built from names (not the bucket resources' computed ARNs) so the policy is known at plan
  # time and can be asserted in `terraform test`.
  bucket_policies = {
    for key, name in local.buckets : key => jsonencode({
      Version = "2012-10-17"
      Statement = concat([
        {
          Sid       = "DenyInsecureTransport"
          Effect    = "Deny"
          Principal = "*"
          Action    = "s3:*"
          Resource = [
            "arn:${data.aws_partition.current.partition}:s3:::${name}",
            "arn:${data.aws_partition.current.partition}:s3:::${name}/*",
          ]
          Condition = { Bool = { "aws:SecureTransport" = "false" } }
        },
        {
          Sid       = "DenyOutdatedTls"
          Effect    = "Deny"
          Principal = "*"
          Action    = "s3:*"
          Resource = [
            "arn:${data.aws_partition.current.partition}:s3:::${name}",
            "arn:${data.aws_partition.current.partition}:s3:::${name}/*",
          ]
          Condition = { NumericLessThan = { "s3:TlsVersion" = "1.2" } }
        },
      ], [for s in local.integrity_statements : s if key == "lake"])
    })
  }
}

resource "aws_s3_bucket_policy" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id
  policy = local.bucket_policies[each.key]

  # PutBucketPolicy and PutPublicAccessBlock on a fresh bucket race otherwise.
  depends_on = [aws_s3_bucket_public_access_block.this]
}

# --- lifecycle ----------------------------------------------------------------------------
# Expiration counts from each object's creation (its write time, not its dt partition), so
# a late record redriven into an old dt partition still lives raw_retention_days.
# With versioning on, an expiration only adds a delete marker: every rule also removes
# noncurrent versions, or "expired" audit data would stay in the bucket for ever. Rules with
# Expiration days also clean up expired delete markers; the curated rule (no expiration by
# default) does that explicitly.

resource "aws_s3_bucket_lifecycle_configuration" "lake" {
  bucket = aws_s3_bucket.this["lake"].id

  rule {
    id     = "raw-expire"
    status = "Enabled"
    filter {
      prefix = local.raw_prefix
    }
    expiration {
      days = var.raw_retention_days
    }
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_retention_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  rule {
    id     = "quarantine-expire"
    status = "Enabled"
    filter {
      prefix = local.quarantine_prefix
    }
    expiration {
      days = var.quarantine_retention_days
    }
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_retention_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  rule {
    id     = "curated-tiering"
    status = "Enabled"
    filter {
      prefix = local.curated_prefix
    }
    transition {
      days          = var.curated_ia_transition_days
      storage_class = "STANDARD_IA"
    }
    dynamic "transition" {
      for_each = var.curated_glacier_ir_transition_days == null ? [] : [var.curated_glacier_ir_transition_days]
      content {
        days          = transition.value
        storage_class = "GLACIER_IR"
      }
    }
    expiration {
      days                         = var.curated_expiration_days
      expired_object_delete_marker = var.curated_expiration_days == null ? true : null
    }
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_retention_days
    }
    abort_incomplete_multipart_upload {
      # Athena UNLOAD writes curated Parquet with multipart uploads.
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_s3_bucket_lifecycle_configuration" "results" {
  bucket = aws_s3_bucket.this["results"].id

  rule {
    id     = "athena-results-expire"
    status = "Enabled"
    filter {}
    expiration {
      days = var.athena_results_retention_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}
