# requires-file: ../../../queries/tenant_view/tenant_activity.sql
#
# The stack deploys the repository's queries/ as named queries in its own workgroup and
# database. Skipped in a copy of terraform/ alone (no queries/ beside it), see scripts/check.sh.

mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }
}

variables {
  env    = "dev"
  region = "eu-west-1"
}

run "named_queries_in_the_audit_workgroup" {
  command = plan

  assert {
    condition     = length(output.named_queries) == length(fileset("${path.module}/../../../queries", "*/*.sql"))
    error_message = "the stack must deploy one named query per queries/<pack>/<name>.sql file"
  }
  assert {
    condition     = output.named_queries["tenant_ops/requests_per_tenant_hour.sql"].name == "requests_per_tenant_hour"
    error_message = "named queries are keyed by file and named from the header"
  }
  assert {
    condition = alltrue([
      for q in values(output.named_queries) : q.workgroup == "tenantkit-dev-audit" && q.database == "tenantkit_dev_audit"
    ])
    error_message = "every named query must live in the stack's workgroup and Glue database"
  }
}
