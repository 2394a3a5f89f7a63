# cur_table: the Glue table over a CUR 2.0 data export (Parquet) that the cost query pack reads
# as `cur` (queries/cost/*.sql). Partition projection on billing_period (the export's
# BILLING_PERIOD=YYYY-MM/ folders): no crawler, no partition to register each month.
#
# The columns are the ones the queries read (columns.json, kept equal to the queries by
# tests/unit/test_cur_table.py); Athena maps Parquet columns by name and ignores the rest.

locals {
  columns = jsondecode(file("${path.module}/columns.json")).columns
}

resource "aws_glue_catalog_table" "cur" {
  name          = var.table_name
  database_name = var.database_name
  description   = "CUR 2.0 data export (Parquet), partitioned by billing_period (projected). Read by the cost named queries."
  table_type    = "EXTERNAL_TABLE"

  parameters = {
    "EXTERNAL"                                = "TRUE"
    "classification"                          = "parquet"
    "projection.enabled"                      = "true"
    "projection.billing_period.type"          = "date"
    "projection.billing_period.format"        = "yyyy-MM"
    "projection.billing_period.range"         = "${var.projection_range_start},NOW"
    "projection.billing_period.interval"      = "1"
    "projection.billing_period.interval.unit" = "MONTHS"
    "storage.location.template"               = "${var.data_location}BILLING_PERIOD=$${billing_period}/"
  }

  partition_keys {
    name    = "billing_period"
    type    = "string"
    comment = "YYYY-MM (projected from the export's BILLING_PERIOD= folders)"
  }

  storage_descriptor {
    location      = var.data_location
    input_format  = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"

    ser_de_info {
      name                  = "cur2-parquet"
      serialization_library = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    }

    dynamic "columns" {
      for_each = local.columns
      content {
        name = columns.value.name
        type = columns.value.type
      }
    }
  }
}
