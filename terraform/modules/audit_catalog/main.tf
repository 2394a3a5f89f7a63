# audit_catalog: the audit pipeline's data lake on S3, its Glue catalog (raw: partition
# projection; curated: partitions registered by compaction) and the Athena workgroup that
# queries it. See docs/terraform.md for the design.

data "aws_partition" "current" {}

locals {
  # One lake bucket with zone prefixes (the SAM app's AuditBucketName / AUDIT_STORE contract
  # and the sink's prefix-scoped s3:PutObject), one separate bucket for Athena results.
  raw_prefix        = "raw/"
  quarantine_prefix = "quarantine/"
  curated_prefix    = "curated/"
  results_prefix    = "athena-results/"

  buckets = {
    lake    = var.lake_bucket_name
    results = var.results_bucket_name
  }

  raw_location        = "s3://${var.lake_bucket_name}/${local.raw_prefix}"
  quarantine_location = "s3://${var.lake_bucket_name}/${local.quarantine_prefix}"
  curated_location    = "s3://${var.lake_bucket_name}/${local.curated_prefix}"
  results_location    = "s3://${var.results_bucket_name}/${local.results_prefix}"

  kms         = var.sse_algorithm == "aws:kms"
  kms_key_arn = var.create_kms_key ? aws_kms_key.audit[0].arn : var.kms_key_arn

  # Every AuditRecord field (layers/tenantkit/tenantkit/audit/schema.py), in model order, with
  # its Athena type. The raw zone keeps `ts` as the ISO-8601 text the producers wrote; the
  # curated zone stores it as a timestamp. The schema_sync test compares this list with
  # docs/schemas/audit-record.schema.json.
  audit_columns = [
    { name = "schema_version", type = "string", comment = "audit schema version, \"1\"" },
    { name = "event_id", type = "string", comment = "unique per record, dedup key of compaction" },
    { name = "ts", type = "string", comment = "UTC ISO-8601 with Z" },
    { name = "record_type", type = "string", comment = "always \"audit\"" },
    { name = "event_type", type = "string", comment = "authz.allow, session.bound, request.completed, ..." },
    { name = "outcome", type = "string", comment = "allow, deny, unauthorized, rejected, success, error" },
    { name = "reason", type = "string", comment = "stable snake_case reason code" },
    { name = "service", type = "string", comment = "emitting service (POWERTOOLS_SERVICE_NAME)" },
    { name = "app_id", type = "string", comment = "envelope app id" },
    { name = "tenant_id", type = "string", comment = "envelope tenant id (from the validated token only)" },
    { name = "principal_id", type = "string", comment = "envelope principal id" },
    { name = "principal_type", type = "string", comment = "user or service" },
    { name = "session_id", type = "string", comment = "keyed hash (h1:...) unless configured raw" },
    { name = "correlation_id", type = "string", comment = "API Gateway request id or Lambda request id" },
    { name = "route", type = "string", comment = "METHOD /resource/{template}" },
    { name = "status", type = "int", comment = "HTTP status" },
    { name = "latency_ms", type = "double", comment = "handler latency, milliseconds" },
    { name = "agent_name", type = "string", comment = "cost attribution: agent" },
    { name = "inference_profile_arn", type = "string", comment = "cost attribution: application inference profile" },
    { name = "input_tokens", type = "bigint", comment = "cost attribution: model input tokens" },
    { name = "output_tokens", type = "bigint", comment = "cost attribution: model output tokens" },
    { name = "cold_start", type = "boolean", comment = "first invocation of the container" },
    { name = "function_request_id", type = "string", comment = "Lambda request id" },
  ]

  # The audit sink's provenance stamp (tenantkit.audit.sink.PROVENANCE_FIELDS): set by the sink,
  # never by a producer (the record schema forbids these names); compaction ranks copies by it.
  provenance_columns = [
    { name = "received_from", type = "string", comment = "sink: log group name (CloudWatch Logs) or queue ARN (SQS)" },
    { name = "received_via", type = "string", comment = "sink: logs or sqs; logs outranks sqs in dedup" },
    { name = "received_at", type = "string", comment = "sink: the service's arrival time, UTC ISO-8601" },
  ]

  # The raw table reads every field as a string (the JSON SerDe gives a JSON string its value and
  # any other JSON value its text), so a line with a mistyped field still reads: compaction checks
  # each field and quarantines that line instead of failing the day's query on one cast.
  raw_columns = [for c in concat(local.audit_columns, local.provenance_columns) : merge(c, { type = "string" })]
  curated_columns = [
    for c in concat(local.audit_columns, local.provenance_columns) :
    contains(["ts", "received_at"], c.name) ? merge(c, { type = "timestamp" }) : c
  ]

  # Partition projection of the raw table: Athena computes partition locations from these
  # parameters at query time. Nothing registers raw partitions (no Glue crawler, no MSCK
  # REPAIR, no ALTER TABLE ADD PARTITION), so a new hour is queryable the moment its first
  # object lands. (The curated table's partitions are registered by compaction: glue.tf.)
  projection_dt = {
    "projection.dt.type"          = "date"
    "projection.dt.format"        = "yyyy-MM-dd"
    "projection.dt.range"         = "${var.projection_range_start},NOW"
    "projection.dt.interval"      = "1"
    "projection.dt.interval.unit" = "DAYS"
  }

  projection_hour = {
    "projection.hour.type"   = "integer"
    "projection.hour.range"  = "0,23"
    "projection.hour.digits" = "2"
  }
}
