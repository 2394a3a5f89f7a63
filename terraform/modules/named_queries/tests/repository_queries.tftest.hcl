# requires-file: ../../../queries/compaction/compact_audit_partition.sql
#
# The repository's own queries/ (the module's default queries_dir): one named query per .sql
# file, every one with a header name equal to its file name. In a copy of terraform/ alone this
# file is skipped (see scripts/check.sh); tests/unit/test_named_queries_golden.py compares the
# same set with the Python query-pack loader.

mock_provider "aws" {}

variables {
  workgroup = "tenantkit-dev-audit"
  database  = "tenantkit_dev_audit"
}

run "every_repository_query_file_is_a_named_query" {
  command = plan

  assert {
    condition     = length(aws_athena_named_query.this) == length(fileset("${path.module}/../../../queries", "*/*.sql"))
    error_message = "one named query per queries/<pack>/<name>.sql file"
  }
  assert {
    condition     = length(aws_athena_named_query.this) >= 11
    error_message = "the shipped packs (compaction, tenant_ops, security, sessions, tenant_view) hold at least 11 queries"
  }
  assert {
    condition     = aws_athena_named_query.this["tenant_view/tenant_activity.sql"].name == "tenant_activity"
    error_message = "the tenant view query must be deployed under its header name"
  }
  assert {
    condition     = alltrue([for f, q in aws_athena_named_query.this : q.name == trimsuffix(basename(f), ".sql")])
    error_message = "every named query's name must equal its file name"
  }
}
