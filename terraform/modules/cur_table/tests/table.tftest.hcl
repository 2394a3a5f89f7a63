# The CUR 2.0 table: the columns the cost queries read, Parquet SerDe, billing_period projected
# from the export's BILLING_PERIOD=YYYY-MM/ folders. Plan-only, mocked provider.

mock_provider "aws" {}

variables {
  database_name = "tenantkit_dev_audit"
  data_location = "s3://tenantkit-audit-dev/cur/tenantkit-dev/data/"
}

run "table_read_by_the_cost_queries" {
  command = plan

  assert {
    condition     = aws_glue_catalog_table.cur.name == "cur" && aws_glue_catalog_table.cur.database_name == "tenantkit_dev_audit"
    error_message = "the cost queries read `cur` in the audit database"
  }
  assert {
    condition     = output.columns["resource_tags"] == "map<string,string>" && output.columns["line_item_usage_start_date"] == "timestamp" && output.columns["line_item_unblended_cost"] == "double"
    error_message = "column types must match what the queries do with them (element_at on a map, CAST to DATE, sums)"
  }
  assert {
    condition     = [for k in aws_glue_catalog_table.cur.partition_keys : k.name] == ["billing_period"]
    error_message = "the one partition key is billing_period (the queries filter on it)"
  }
  assert {
    condition     = aws_glue_catalog_table.cur.parameters["storage.location.template"] == "s3://tenantkit-audit-dev/cur/tenantkit-dev/data/BILLING_PERIOD=$${billing_period}/"
    error_message = "projection must map billing_period to the export's BILLING_PERIOD= folders"
  }
  assert {
    condition     = aws_glue_catalog_table.cur.parameters["projection.billing_period.format"] == "yyyy-MM" && aws_glue_catalog_table.cur.parameters["projection.billing_period.interval.unit"] == "MONTHS"
    error_message = "billing periods are months, YYYY-MM"
  }
  assert {
    condition     = aws_glue_catalog_table.cur.storage_descriptor[0].ser_de_info[0].serialization_library == "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    error_message = "CUR 2.0 exports are Parquet"
  }
}

run "rejects_a_location_without_trailing_slash" {
  command = plan

  variables {
    data_location = "s3://tenantkit-audit-dev/cur/data"
  }

  expect_failures = [var.data_location]
}
