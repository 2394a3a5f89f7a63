# One aws_athena_named_query per .sql file of a fixture query tree, with the name and the
# (multi-line) description read from each file's header; plan only, mocked AWS provider.

mock_provider "aws" {}

variables {
  queries_dir = "tests/fixtures/queries"
  workgroup   = "tenantkit-test-audit"
  database    = "tenantkit_test_audit"
}

run "one_named_query_per_file" {
  command = plan

  assert {
    condition     = length(aws_athena_named_query.this) == 3
    error_message = "three .sql files must plan exactly three named queries"
  }
  assert {
    condition     = toset(keys(aws_athena_named_query.this)) == toset(["alpha/first_query.sql", "alpha/second_query.sql", "beta/third_query.sql"])
    error_message = "named queries must be keyed by <pack>/<name>.sql"
  }
  assert {
    condition     = join(",", output.files) == "alpha/first_query.sql,alpha/second_query.sql,beta/third_query.sql"
    error_message = "the files output must list every .sql file, sorted"
  }
}

run "names_and_descriptions_come_from_the_header" {
  command = plan

  assert {
    condition     = aws_athena_named_query.this["alpha/first_query.sql"].name == "first_query"
    error_message = "the name must be the header's name, not a name in a body comment"
  }
  assert {
    condition     = aws_athena_named_query.this["alpha/first_query.sql"].description == "A description on three lines, continued here and after a blank comment line."
    error_message = "continuation lines (\"--\" + 2 spaces) must be joined with single spaces, trailing blanks and blank comment lines dropped"
  }
  assert {
    condition     = aws_athena_named_query.this["alpha/second_query.sql"].description == "One line only."
    error_message = "a one-line description must be taken as is"
  }
  assert {
    condition     = aws_athena_named_query.this["beta/third_query.sql"].name == "third_query" && aws_athena_named_query.this["beta/third_query.sql"].description == "Windows line endings, still parsed."
    error_message = "CRLF files must parse like LF files"
  }
  assert {
    condition     = aws_athena_named_query.this["alpha/first_query.sql"].query == file("tests/fixtures/queries/alpha/first_query.sql")
    error_message = "the whole file, header included, must be the query text"
  }
  assert {
    condition = alltrue([
      for q in values(aws_athena_named_query.this) : q.workgroup == "tenantkit-test-audit" && q.database == "tenantkit_test_audit"
    ])
    error_message = "every named query must be in the given workgroup and database"
  }
  assert {
    condition     = output.queries["alpha/second_query.sql"] == { name = "second_query", description = "One line only.", workgroup = "tenantkit-test-audit", database = "tenantkit_test_audit" }
    error_message = "the queries output must carry name, description, workgroup and database per file"
  }
}

run "empty_directory_plans_nothing" {
  command = plan

  variables {
    queries_dir = "tests/fixtures/does-not-exist"
  }

  assert {
    condition     = length(aws_athena_named_query.this) == 0 && length(output.files) == 0
    error_message = "no .sql files, no named queries"
  }
}

run "header_name_must_equal_the_file_name" {
  command = plan

  variables {
    queries_dir = "tests/fixtures/mismatch"
  }

  expect_failures = [aws_athena_named_query.this]
}

run "names_must_be_unique_across_packs" {
  command = plan

  variables {
    queries_dir = "tests/fixtures/duplicate"
  }

  expect_failures = [aws_athena_named_query.this]
}

run "a_file_without_a_header_fails" {
  command = plan

  variables {
    queries_dir = "tests/fixtures/headerless"
  }

  expect_failures = [aws_athena_named_query.this]
}

run "rejects_an_invalid_database_name" {
  command = plan

  variables {
    database = "Tenantkit-Audit"
  }

  expect_failures = [var.database]
}
