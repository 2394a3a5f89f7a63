output "queries" {
  description = "The named queries, keyed by file (<pack>/<name>.sql): name, description, workgroup, database."
  value = {
    for f, q in aws_athena_named_query.this : f => {
      name        = q.name
      description = q.description
      workgroup   = q.workgroup
      database    = q.database
    }
  }
}

output "named_query_ids" {
  description = "Athena named query ids keyed by file (<pack>/<name>.sql)."
  value       = { for f, q in aws_athena_named_query.this : f => q.id }
}

output "files" {
  description = "Every .sql file found under queries_dir (<pack>/<name>.sql), sorted."
  value       = sort(tolist(local.files))
}
