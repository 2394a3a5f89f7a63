output "table_name" {
  description = "The CUR table name (the cost queries read it unqualified)."
  value       = aws_glue_catalog_table.cur.name
}

output "columns" {
  description = "Declared columns, name => type."
  value       = { for c in local.columns : c.name => c.type }
}

output "data_location" {
  description = "S3 URI the table reads (the export's data/ prefix)."
  value       = aws_glue_catalog_table.cur.storage_descriptor[0].location
}
