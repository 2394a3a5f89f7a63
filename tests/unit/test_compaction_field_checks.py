"""The compaction SQL's field checks stay in step with the audit record schema and with each other.

Both compaction queries read the raw zone as text (every raw column a string) and decide, per
line, which field (if any) keeps it out of the curated day. The two queries must decide the same
way (a line the compaction SELECT drops is one the rejects query reports), and the checks must
accept exactly the values the record schema accepts for each field's constraint: the event
types and outcomes, the identifier and reason patterns, the length caps, the integer ranges.
"""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest

from tenantkit.audit.schema import AuditRecord, EventType, Outcome
from tenantkit.identifiers import AUDIT_ID
from tenantkit_local.duckdb_engine import CURATED_COLUMNS, RAW_COLUMNS
from tenantkit_local.querypack import QUERIES_DIR

SQL_FILES = [QUERIES_DIR / "compaction" / f"{name}.sql"
             for name in ("compact_audit_partition", "audit_partition_rejects")]


def problem_case(path: Path) -> str:
    text = path.read_text()
    block = text[text.index("CASE\n"):text.index("END AS problem")]
    return " ".join(block.split())


def quoted_list(case: str, field: str) -> set[str]:
    match = re.search(rf"WHEN {field} NOT IN \(([^)]*)\)", case)
    assert match, f"no NOT IN list for {field}"
    return set(re.findall(r"'([^']*)'", match.group(1)))


def literal_args(alias: object) -> set[str]:
    return set(typing.get_args(alias))


def max_length(field: str) -> int:
    for item in AuditRecord.model_fields[field].metadata:
        if getattr(item, "max_length", None) is not None:
            return int(item.max_length)
    raise AssertionError(f"{field} has no max_length")


def test_both_queries_check_the_fields_the_same_way():
    compact, rejects = (problem_case(path) for path in SQL_FILES)
    assert compact == rejects


def test_enumerations_are_the_schemas():
    case = problem_case(SQL_FILES[0])
    assert quoted_list(case, "event_type") == literal_args(EventType)
    assert quoted_list(case, "outcome") == literal_args(Outcome)
    assert quoted_list(case, "principal_type") == {"user", "service"}
    assert "WHEN schema_version <> '1'" in case and "WHEN record_type <> 'audit'" in case


@pytest.mark.parametrize("field", ["app_id", "tenant_id", "principal_id", "session_id", "correlation_id"])
def test_identifiers_use_the_schemas_pattern(field: str):
    body = AUDIT_ID.removeprefix("^").removesuffix("$")
    assert f"WHEN NOT regexp_like({field}, '\\A{body}\\z')" in problem_case(SQL_FILES[0])


@pytest.mark.parametrize("field", ["service", "route", "agent_name", "inference_profile_arn", "function_request_id"])
def test_text_fields_are_capped_like_the_schema_and_refuse_objects(field: str):
    case, cap = problem_case(SQL_FILES[0]), max_length(field)
    assert f"WHEN length({field}) > {cap} THEN '{field}: longer than {cap} characters'" in case
    assert f"WHEN {field} LIKE '{{%}}' OR {field} LIKE '[%]' THEN '{field}: an object or array, not text'" in case


def test_every_reason_names_a_column():
    reasons = re.findall(r"THEN '([a-z_]+): ", problem_case(SQL_FILES[0]))
    assert set(reasons) - {"line"} <= set(RAW_COLUMNS)  # "line": the whole line is not a JSON object
    assert "line" in reasons
    # 'line' only when every raw column reads null: an object of record fields is judged field by field
    line_when = problem_case(SQL_FILES[0]).split("WHEN ", 1)[1].split(" THEN 'line: ")[0]
    assert set(re.findall(r"(\w+) IS NULL", line_when)) == set(RAW_COLUMNS)
    assert set(AuditRecord.model_fields) <= set(reasons)


def test_the_raw_zone_is_read_as_text_like_the_glue_raw_table():
    assert set(RAW_COLUMNS.values()) == {"VARCHAR"}
    assert list(RAW_COLUMNS) == list(CURATED_COLUMNS)
    main = (Path(__file__).resolve().parents[2] / "terraform/modules/audit_catalog/main.tf").read_text()
    assert 'merge(c, { type = "string" })]' in main.split("raw_columns =")[1].splitlines()[0]
