# Glue Data Catalog: one database, two tables.
#
# audit_raw uses partition projection: the layout is fixed and known (dt=YYYY-MM-DD/hour=HH),
# so Athena computes partition locations from the table properties. No raw partition is ever
# registered: nothing to schedule, nothing to drift, no crawler schema inference that could
# retype a column, and no Glue GetPartitions calls slowing queries over tens of thousands of
# hourly partitions.
#
# audit_curated uses REGISTERED partitions, one per day, written only by compaction: each run
# UNLOADs the day into a prefix of its own (curated/runs/dt=<dt>/run=<stamp>-<id>/) and then
# points the day's partition at it with one Glue call (CreatePartition / UpdatePartition), so
# a query plans over the old day or the new one, never both, never none. Projection cannot
# express this: storage.location.template derives a location from partition values only, and
# a run id is not one (an "injected" run key would make every query name the run). The cost is
# one GetPartitions call per query (one partition per day: a few thousand over years).
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
        # A line that is not a JSON object reads as a row of nulls (it does not vanish and does
        # not fail the day): compaction quarantines it as 'line: not a JSON object of the record'.
        # The sink validates every record and quarantines the invalid ones before raw/.
        "ignore.malformed.json" = "true"
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
  description   = "Curated zone: Parquet written by compaction (UNLOAD, deduplicated by event_id, sorted by tenant_id), partitioned by dt only; each day's partition is registered by compaction and points at one immutable run prefix."
  table_type    = "EXTERNAL_TABLE"

  # No projection (see the file header): with projection enabled Athena ignores registered
  # partitions, and the pointer swap is what keeps a day whole while it is recompacted.
  parameters = {
    "EXTERNAL"       = "TRUE"
    "classification" = "parquet"
  }

  # dt only: one day of a pooled platform is a few well-sized Parquet files. Tenant pruning
  # is by sort order inside them, never by a tenant partition.
  partition_keys {
    name    = "dt"
    type    = "string"
    comment = "UTC day of ts, yyyy-MM-dd (registered by compaction)"
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
