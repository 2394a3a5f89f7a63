# requires-file: ../../../docs/schemas/audit-record.schema.json
#
# Drift guard between the Python model and the catalog: every property of
# docs/schemas/audit-record.schema.json (exported from tenantkit/audit/schema.py) is a column of
# both tables with a compatible Athena type, and there is no other column.
# The requires-file header above is read by terraform/scripts/check.sh: in a copy of
# terraform/ alone (no repository around it) this file is skipped and the summary says so;
# inside the repository checkout a missing schema file fails the check.

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

  # Test-only values (not module variables): the exported schema and the JSON type -> Athena
  # type compatibility table.
  audit_schema = jsondecode(file("../../../docs/schemas/audit-record.schema.json"))
  # The sink's provenance columns (tenantkit.audit.sink.PROVENANCE_FIELDS): not producer fields.
  provenance = ["received_from", "received_via", "received_at"]
  athena_types = {
    string  = ["string"]
    integer = ["int", "bigint"]
    number  = ["double"]
    boolean = ["boolean"]
  }
}

run "columns_match_exported_json_schema" {
  command = plan

  assert {
    condition = (
      toset([for c in aws_glue_catalog_table.raw.storage_descriptor[0].columns : c.name])
      == setunion(toset(keys(var.audit_schema.properties)), var.provenance)
    )
    error_message = "raw columns must be exactly the properties of docs/schemas/audit-record.schema.json plus the sink's provenance"
  }
  assert {
    condition = (
      toset([for c in aws_glue_catalog_table.curated.storage_descriptor[0].columns : c.name])
      == setunion(toset(keys(var.audit_schema.properties)), var.provenance)
    )
    error_message = "curated columns must be exactly the properties of docs/schemas/audit-record.schema.json plus the sink's provenance"
  }
  assert {
    # The raw table reads every field as text; compaction checks each against the schema.
    condition     = alltrue([for c in aws_glue_catalog_table.raw.storage_descriptor[0].columns : c.type == "string"])
    error_message = "every raw column must be a string (compaction checks and converts the JSON schema types)"
  }
  assert {
    condition = alltrue([
      for c in aws_glue_catalog_table.curated.storage_descriptor[0].columns :
      contains(["ts", "received_at"], c.name) ? c.type == "timestamp" : contains(var.provenance, c.name) ? c.type == "string" : contains(
        var.athena_types[try(var.audit_schema.properties[c.name].type, one([for a in var.audit_schema.properties[c.name].anyOf : a.type if a.type != "null"]))],
        c.type,
      )
    ])
    error_message = "every curated column's Athena type must match its JSON schema type (ts and received_at as timestamp)"
  }
}
