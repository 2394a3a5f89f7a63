# named_queries: every queries/<pack>/<name>.sql becomes one Athena named query, with the name and
# description read from the file's metadata header (tenantkit_local/querypack.py defines the
# format). A new file needs no Terraform change. The whole file is deployed, header included, so
# the Athena console shows the parameters next to the SQL.
#
#   -- name: requests_per_tenant_hour          (equals the file name without .sql)
#   -- description: first line                 (continued on "--   " lines, joined by spaces)
#   --   second line
#   -- table: audit_curated
#   -- parameters:
#   --   from_dt: date  -- ...

locals {
  queries_dir = coalesce(var.queries_dir, "${path.module}/../../../queries")
  files       = fileset(local.queries_dir, "*/*.sql")

  # The header is the run of comment lines the file starts with.
  sources = { for f in local.files : f => replace(file("${local.queries_dir}/${f}"), "\r\n", "\n") }
  headers = { for f, text in local.sources : f => regex("^(?:[ \\t]*--[^\\n]*(?:\\n|$))*", text) }

  parsed = {
    for f, header in local.headers : f => {
      stem = trimsuffix(basename(f), ".sql")
      pack = dirname(f)
      name = try(regex("(?m)^[ \\t]*--[ \\t]?name:[ \\t]*(.*?)[ \\t]*$", header)[0], null)
      # "description:" line, then the continuation lines ("--" + 2 or more spaces); blank "--"
      # lines in between are skipped, as the loader does.
      description_block = try(regex(
        "(?m)^[ \\t]*--[ \\t]?description:[ \\t]*(.*?)[ \\t]*\\n((?:[ \\t]*--(?:[ \\t]{2,}\\S[^\\n]*|[ \\t-]*)(?:\\n|$))*)",
        "${header}\n",
      ), null)
      query = local.sources[f]
    }
  }

  queries = {
    for f, p in local.parsed : f => {
      stem = p.stem
      pack = p.pack
      name = p.name
      description = p.description_block == null ? null : join(" ", concat(
        [p.description_block[0]],
        [for m in regexall("(?m)^[ \\t]*--[ \\t]{2,}(\\S.*?)[ \\t]*$", p.description_block[1]) : m[0]],
      ))
      query = p.query
    }
  }

  names      = [for q in values(local.queries) : q.name]
  duplicates = distinct([for n in local.names : n if length([for m in local.names : m if m == n]) > 1])
}

resource "aws_athena_named_query" "this" {
  for_each = local.queries

  name        = each.value.name
  description = each.value.description
  workgroup   = var.workgroup
  database    = var.database
  query       = each.value.query

  lifecycle {
    precondition {
      condition     = each.value.name != null && each.value.description != null
      error_message = "${each.key}: the metadata header needs '-- name:' and '-- description:' lines (see queries/compaction/compact_audit_partition.sql)."
    }
    precondition {
      condition     = each.value.name == each.value.stem && can(regex("^[a-z][a-z0-9_]{0,127}$", each.value.name))
      error_message = "${each.key}: the header name must be snake_case and equal the file name without .sql."
    }
    precondition {
      condition     = length(local.duplicates) == 0
      error_message = "query names must be unique across packs; duplicated: ${join(", ", local.duplicates)}."
    }
    precondition {
      condition     = length(each.value.description == null ? "" : each.value.description) <= 1024 && length(each.value.query) <= 262144
      error_message = "${each.key}: Athena limits a named query's description to 1024 characters and its text to 262144 bytes."
    }
  }
}
