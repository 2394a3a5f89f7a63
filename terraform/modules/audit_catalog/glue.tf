# Glue Data Catalog: one database, two tables, both with partition projection.
#
# Why projection and not crawlers or MSCK REPAIR TABLE: the layout is fixed and known
# (dt=YYYY-MM-DD[/hour=HH]), so Athena can compute partition locations from the table
# properties. No partition is ever registered: nothing to schedule, nothing to drift, no
# crawler schema inference that could retype a column, and no Glue GetPartitions calls
# slowing queries on a table with tens of thousands of hourly partitions.
#
# Why never partition by tenant_id: tenants are unbounded (every onboarding adds values), so
# dt x hour x tenant multiplies partitions and splits each hour's data into many small
# files, the worst case for S3 listing and Parquet scans; a tenant-shaped prefix would also
# invite per-tenant S3 access patterns that the pooled model does not have. Tenant pruning
# comes from compaction sorting by tenant_id inside each day's Parquet files: row-group
# min/max statistics let Athena skip row groups of other tenants.

resource "aws_glue_catalog_database" "audit" {
  name        = var.database_name
  description = "tenantkit audit records: raw JSON lines and curated Parquet (partition projection)."
}

resource "aws_glue_catalog_table" "raw" {
  name          = var.raw_table_name
  database_name = aws_glue_catalog_database.audit.name
  description   = "Raw zone: gzip JSON lines written by the audit sink, partitioned by the record's own ts (dt, hour). No tenant partition."
  table_type    = "EXTERNAL_TABLE"

  parameters = merge(
    {
      "EXTERNAL"                  = "TRUE"
      "classification"            = "json"
      "compressionType"           = "gzip"
      "projection.enabled"        = "true"
      "storage.location.template" = "${local.raw_location}dt=$${dt}/hour=$${hour}/"
    },
    local.projection_dt,
    local.projection_hour,
  )

  # dt and hour only. See the file header for why tenant_id is never a partition key.
  partition_keys {
    name    = "dt"
    type    = "string"
    comment = "UTC day of ts, yyyy-MM-dd (projected)"
  }
  partition_keys {
    name    = "hour"
    type    = "string"
    comment = "UTC hour of ts, 00-23 (projected)"
  }

  storage_descriptor {
    location      = local.raw_location
    input_format  = "org.apache.hadoop.mapred.TextInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
    compressed    = true

    ser_de_info {
      name                  = "audit-jsonl"
      serialization_library = "org.openx.data.jsonserde.JsonSerDe"
      parameters = {
        # A malformed line fails the query instead of disappearing from an audit count;
        # the sink validates every record and quarantines the invalid ones before raw/.
        "ignore.malformed.json" = "false"
      }
    }

    dynamic "columns" {
      for_each = local.raw_columns
      content {
        name    = columns.value.name
        type    = columns.value.type
        comment = columns.value.comment
      }
    }
  }
}

resource "aws_glue_catalog_table" "curated" {
  name          = var.curated_table_name
  database_name = aws_glue_catalog_database.audit.name
  description   = "Curated zone: Parquet written by compaction (UNLOAD, deduplicated by event_id, sorted by tenant_id), partitioned by dt only."
  table_type    = "EXTERNAL_TABLE"

  parameters = merge(
    {
      "EXTERNAL"                  = "TRUE"
      "classification"            = "parquet"
      "projection.enabled"        = "true"
      "storage.location.template" = "${local.curated_location}dt=$${dt}/"
    },
    local.projection_dt,
  )

  # dt only: one day of a pooled platform is a few well-sized Parquet files. Tenant pruning
  # is by sort order inside them, never by a tenant partition.
  partition_keys {
    name    = "dt"
    type    = "string"
    comment = "UTC day of ts, yyyy-MM-dd (projected)"
  }

  storage_descriptor {
    location      = local.curated_location
    input_format  = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"

    ser_de_info {
      name                  = "audit-parquet"
      serialization_library = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
      parameters = {
        "serialization.format" = "1"
      }
    }

    dynamic "columns" {
      for_each = local.curated_columns
      content {
        name    = columns.value.name
        type    = columns.value.type
        comment = columns.value.comment
      }
    }
  }
}
