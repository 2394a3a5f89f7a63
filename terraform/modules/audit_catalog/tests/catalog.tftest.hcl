# Glue catalog: partition projection on audit_raw, registered partitions on audit_curated, the column contract, no tenant partition.
# Plan-only against a mocked AWS provider: no credentials, no network.

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

run "raw_table_partition_projection_without_tenant_partition" {
  command = plan

  assert {
    condition     = aws_glue_catalog_table.raw.name == "audit_raw" && aws_glue_catalog_table.raw.database_name == "tenantkit_test_audit"
    error_message = "raw table must be audit_raw in the audit database"
  }
  assert {
    condition     = aws_glue_catalog_table.raw.parameters["projection.enabled"] == "true"
    error_message = "raw table must enable partition projection"
  }
  assert {
    condition = (
      aws_glue_catalog_table.raw.parameters["projection.dt.type"] == "date"
      && aws_glue_catalog_table.raw.parameters["projection.dt.format"] == "yyyy-MM-dd"
      && aws_glue_catalog_table.raw.parameters["projection.dt.range"] == "NOW-2YEARS,NOW"
      && aws_glue_catalog_table.raw.parameters["projection.dt.interval"] == "1"
      && aws_glue_catalog_table.raw.parameters["projection.dt.interval.unit"] == "DAYS"
    )
    error_message = "raw dt projection must be date, yyyy-MM-dd, NOW-2YEARS..NOW, 1 DAYS"
  }
  assert {
    condition = (
      aws_glue_catalog_table.raw.parameters["projection.hour.type"] == "integer"
      && aws_glue_catalog_table.raw.parameters["projection.hour.range"] == "0,23"
      && aws_glue_catalog_table.raw.parameters["projection.hour.digits"] == "2"
    )
    error_message = "raw hour projection must be integer 0..23 with 2 digits (00-23)"
  }
  assert {
    condition     = aws_glue_catalog_table.raw.parameters["storage.location.template"] == "s3://tenantkit-audit-test/raw/dt=$${dt}/hour=$${hour}/"
    error_message = "raw location template must match the sink's raw/dt=YYYY-MM-DD/hour=HH/ keys"
  }
  assert {
    condition     = aws_glue_catalog_table.raw.storage_descriptor[0].location == "s3://tenantkit-audit-test/raw/"
    error_message = "raw table location must be the raw/ prefix"
  }
  assert {
    condition     = aws_glue_catalog_table.raw.storage_descriptor[0].ser_de_info[0].serialization_library == "org.openx.data.jsonserde.JsonSerDe"
    error_message = "raw table must read JSON lines with the OpenX JSON SerDe"
  }
  assert {
    condition     = aws_glue_catalog_table.raw.storage_descriptor[0].input_format == "org.apache.hadoop.mapred.TextInputFormat"
    error_message = "raw table must use the text input format (gzip is detected from the .gz suffix)"
  }

  # No tenant partition, anywhere: tenant_id is an ordinary column.
  assert {
    condition     = [for k in aws_glue_catalog_table.raw.partition_keys : k.name] == ["dt", "hour"]
    error_message = "raw partition keys must be exactly dt, hour"
  }
  assert {
    condition     = alltrue([for k in aws_glue_catalog_table.raw.partition_keys : k.type == "string"])
    error_message = "raw partition keys must be strings"
  }
  assert {
    condition = length(concat(
      [for k in aws_glue_catalog_table.raw.partition_keys : k.name if strcontains(k.name, "tenant")],
      [for k in aws_glue_catalog_table.curated.partition_keys : k.name if strcontains(k.name, "tenant")],
      [for p in keys(aws_glue_catalog_table.raw.parameters) : p if strcontains(p, "tenant")],
      [for p in keys(aws_glue_catalog_table.curated.parameters) : p if strcontains(p, "tenant")],
    )) == 0
    error_message = "no table may partition or project by tenant"
  }
  assert {
    condition     = contains([for c in aws_glue_catalog_table.raw.storage_descriptor[0].columns : c.name], "tenant_id")
    error_message = "tenant_id must be a regular column"
  }
}

run "curated_table_registered_partitions" {
  command = plan

  assert {
    condition     = aws_glue_catalog_table.curated.name == "audit_curated"
    error_message = "curated table must be audit_curated"
  }
  # Compaction switches a day by pointing its registered partition at a new run prefix; with
  # projection on, Athena would ignore that partition and read a fixed location instead.
  assert {
    condition     = length([for p in keys(aws_glue_catalog_table.curated.parameters) : p if startswith(p, "projection.")]) == 0
    error_message = "curated table must not use partition projection (its partitions are registered by compaction)"
  }
  assert {
    condition     = !contains(keys(aws_glue_catalog_table.curated.parameters), "storage.location.template")
    error_message = "curated table must not derive locations from a template"
  }
  assert {
    condition     = aws_glue_catalog_table.curated.storage_descriptor[0].location == "s3://tenantkit-audit-test/curated/"
    error_message = "curated table location must be the curated/ zone"
  }
  assert {
    condition     = [for k in aws_glue_catalog_table.curated.partition_keys : k.name] == ["dt"]
    error_message = "curated table must be partitioned by dt only"
  }
  assert {
    condition     = [for k in aws_glue_catalog_table.curated.partition_keys : k.type] == ["string"]
    error_message = "curated dt must be a string (compaction registers yyyy-MM-dd values)"
  }
  assert {
    condition     = aws_glue_catalog_table.curated.storage_descriptor[0].ser_de_info[0].serialization_library == "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    error_message = "curated table must be Parquet"
  }
}

run "columns_match_the_audit_record" {
  command = plan

  assert {
    condition = [for c in aws_glue_catalog_table.raw.storage_descriptor[0].columns : c.name] == [
      "schema_version", "event_id", "ts", "record_type", "event_type", "outcome", "reason",
      "service", "app_id", "tenant_id", "principal_id", "principal_type", "session_id",
      "correlation_id", "route", "status", "latency_ms", "agent_name", "inference_profile_arn",
      "input_tokens", "output_tokens", "cold_start", "function_request_id",
      "received_from", "received_via", "received_at",
    ]
    error_message = "raw columns must be every AuditRecord field, in model order, then the sink's provenance"
  }
  assert {
    condition = (
      [for c in aws_glue_catalog_table.raw.storage_descriptor[0].columns : c.name]
      == [for c in aws_glue_catalog_table.curated.storage_descriptor[0].columns : c.name]
    )
    error_message = "raw and curated must have the same columns"
  }
  assert {
    condition     = alltrue([for c in aws_glue_catalog_table.raw.storage_descriptor[0].columns : c.type == "string"])
    error_message = "raw columns must all be strings: compaction checks and converts each field, so a mistyped field cannot fail the day"
  }
  assert {
    condition = {
      for c in aws_glue_catalog_table.curated.storage_descriptor[0].columns : c.name => c.type
      if c.type != "string"
      } == {
      ts            = "timestamp"
      received_at   = "timestamp"
      status        = "int"
      latency_ms    = "double"
      input_tokens  = "bigint"
      output_tokens = "bigint"
      cold_start    = "boolean"
    }
    error_message = "curated columns must type ts and received_at as timestamp, status int, latency_ms double, tokens bigint, cold_start boolean"
  }
}
