"""Compaction survives raw lines with mistyped, missing or oversize fields (the local engine).

The sink quarantines such records at ingest; these are lines that reached the raw zone some
other way (an older sink, a restore, a hand copy). The raw table reads every field as text, and
the compaction SELECT checks each field against the record schema, so:

* the day compacts, whatever mix of bad lines it holds;
* every valid record is in the curated day exactly once (identical redeliveries included);
* every bad line is in the day's quarantine object as ``compaction.unconvertible`` with a reason
  that names the field;
* nothing is lost: valid + quarantined + dropped redeliveries = the lines of the raw zone.
"""

from __future__ import annotations

import gzip
import json
import typing
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tenantkit.audit.rejects import quarantine_key
from tenantkit.audit.schema import AuditRecord, EventType, Outcome
from tenantkit.identifiers import AUDIT_ID
from tenantkit_local.compaction import LocalCompactor
from tenantkit_local.duckdb_engine import DuckDBEngine

pytestmark = pytest.mark.integration

DT = "2026-11-28"
EVENT_TYPES = sorted(typing.get_args(EventType))
OUTCOMES = sorted(typing.get_args(Outcome))
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=40).filter(
    lambda s: not (s[:1] in "{[" and s[-1:] in "}]"))
IDENTIFIER = st.from_regex(AUDIT_ID.replace("{0,255}", "{0,40}"), fullmatch=True)

# Wrong JSON types, nulls and oversize values per field; each reads (as text) as something the
# field's schema rejects. A JSON number in a text field reads as its digits and is not in this
# list: the raw table cannot tell "42" from 42 (see docs/audit-pipeline.md).
NESTED = [{}, {"k": "v"}, [], [1, "2"], {"a": {"b": [None]}}]
OVERSIZE = "x" * 5000
BAD_VALUES: dict[str, list[Any]] = {
    "event_id": [None, 12345, True, "NOT-HEX", "a" * 33, "A" * 32, *NESTED],
    "ts": [None, 12345, 1.5, False, "yesterday", "2026-11-28T25:10:00Z", "2026-11-29T01:00:00Z", OVERSIZE, *NESTED],
    "schema_version": [None, "2", 2, False, *NESTED],
    "record_type": [None, "metric", 7, True, *NESTED],
    "event_type": [None, "authz.maybe", 3, True, *NESTED],
    "outcome": [None, "perhaps", 0, False, *NESTED],
    "reason": [None, "Bad Reason", 5, 1.5, "r" * 200, *NESTED],  # not true: it reads as the code "true"
    "service": ["s" * 129, *NESTED],
    "app_id": ["-leading-dash", "has space", OVERSIZE, *NESTED],
    "tenant_id": ["", "tenant\n", "x" * 257, *NESTED],
    "principal_id": ["{not-an-id}", *NESTED],
    "principal_type": ["robot", 1, True, *NESTED],
    "session_id": ["\u00e9t\u00e9", *NESTED],
    "correlation_id": ["a b", *NESTED],
    "route": ["r" * 301, *NESTED],
    "status": ["abc", 99, 600, 200.5, True, 12345678901234567890, *NESTED],
    "latency_ms": ["fast", -1, -0.5, True, "1e999", *NESTED],
    "agent_name": ["a" * 129, *NESTED],
    "inference_profile_arn": ["a" * 2049, *NESTED],
    "input_tokens": [-5, 1.5, "many", True, 10**30, *NESTED],
    "output_tokens": [-1, 2.25, "none", False, *NESTED],
    "cold_start": ["yes", 1, 0, "maybe", *NESTED],
    "function_request_id": ["f" * 129, *NESTED],
    "received_via": ["pigeon", 1, *NESTED],
    "received_at": ["yesterday", 5, True, *NESTED],
    "received_from": ["q" * 2049, *NESTED],
}


@st.composite
def valid_records(draw: st.DrawFn) -> dict[str, Any]:
    second = draw(st.integers(0, 86_399))
    fraction = draw(st.sampled_from(["", ".5", ".123", ".000001"]))
    values: dict[str, Any] = {
        "event_id": uuid.UUID(int=draw(st.integers(0, 2**128 - 1))).hex,
        "ts": f"{DT}T{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}{fraction}Z",
        "event_type": draw(st.sampled_from(EVENT_TYPES)),
        "outcome": draw(st.sampled_from(OUTCOMES)),
        "reason": draw(st.from_regex(r"[a-z][a-z0-9_.]{0,20}", fullmatch=True)),
    }
    optional = {
        "service": TEXT, "app_id": IDENTIFIER, "tenant_id": IDENTIFIER, "principal_id": IDENTIFIER,
        "principal_type": st.sampled_from(["user", "service"]), "session_id": IDENTIFIER,
        "correlation_id": IDENTIFIER, "route": TEXT, "status": st.integers(100, 599),
        "latency_ms": st.floats(0, 1e12, allow_nan=False) | st.integers(0, 10**6),
        "agent_name": TEXT, "inference_profile_arn": TEXT,
        "input_tokens": st.integers(0, 10**15), "output_tokens": st.integers(0, 10**15),
        "cold_start": st.booleans(), "function_request_id": TEXT,
    }
    for name, strategy in optional.items():
        values[name] = draw(st.none() | strategy)
    record = json.loads(AuditRecord(**values).model_dump_json())  # valid by the schema, by construction
    if draw(st.booleans()):  # stamped by a sink, or an older unstamped line
        record |= {"received_from": "arn:aws:sqs:us-east-1:123456789012:tenantkit-audit", "received_via": "sqs",
                   "received_at": f"{DT}T23:59:59.000Z"}
    return record


@st.composite
def bad_records(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    record = draw(valid_records())
    field = draw(st.sampled_from(sorted(BAD_VALUES)))
    if field.startswith("received_") and "received_via" not in record:
        record |= {"received_from": "/aws/lambda/tenantkit-bff", "received_via": "logs",
                   "received_at": f"{DT}T23:59:59.000Z"}
    if draw(st.booleans()) and BAD_VALUES[field][0] is None:
        del record[field]  # missing, not null: the raw table cannot tell them apart either
    else:
        record[field] = draw(st.sampled_from(BAD_VALUES[field]))
    return field, record


def write_raw(root: Path, lines: list[str], objects: int) -> None:
    for index in range(objects):
        folder = root / "raw" / f"dt={DT}" / f"hour={index % 24:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        body = "".join(line + "\n" for line in lines[index::objects])
        (folder / f"legacy-{index}.jsonl.gz").write_bytes(gzip.compress(body.encode(), mtime=0))


def unconvertible(root: Path) -> list[dict[str, Any]]:
    path = root / quarantine_key(DT)
    if not path.exists():
        return []
    entries = [json.loads(line) for line in gzip.decompress(path.read_bytes()).decode().splitlines()]
    return [e for e in entries if e["reason"] == "compaction.unconvertible"]


# No shrinking: each example is a DuckDB compaction, and the unshrunk example already names the field.
@settings(max_examples=30, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(valid=st.lists(valid_records(), min_size=1, max_size=12, unique_by=lambda r: r["event_id"]),
       bad=st.lists(bad_records(), max_size=12, unique_by=lambda bad: str(bad[1].get("event_id"))),
       redelivered=st.lists(st.integers(0, 11), max_size=4),
       order=st.randoms(use_true_random=False), objects=st.integers(1, 3))
def test_mistyped_missing_or_oversize_fields_are_quarantined_and_the_day_compacts(
        tmp_path_factory, valid, bad, redelivered, order, objects):
    root = tmp_path_factory.mktemp("raw")
    good_ids = {r["event_id"] for r in valid}
    bad = [(field, r) for field, r in bad if str(r.get("event_id")) not in good_ids]  # a fresh id, or a broken one
    copies = [valid[i % len(valid)] for i in redelivered]
    lines = [json.dumps(r) for r in [*valid, *copies, *(r for _, r in bad)]]
    order.shuffle(lines)
    write_raw(root, lines, objects)

    report = LocalCompactor(root).compact(DT)

    with DuckDBEngine(root) as engine:
        _, rows = engine.adhoc("SELECT event_id FROM audit_curated WHERE dt = ?", [DT])
    curated_ids = Counter(row[0] for row in rows)
    assert curated_ids == Counter(good_ids)  # every valid record once; no bad one
    entries = unconvertible(root)
    assert Counter(e["errors"][0].split(":")[0] for e in entries) == Counter(field for field, _ in bad)
    for field, record in bad:
        if field != "event_id":  # its event_id is intact: its own entry names the field
            [entry] = [e for e in entries if e["event_id"] == record["event_id"]]
            assert entry["errors"][0].startswith(f"{field}: ")
    assert report["rows"] + report["unconvertible"] + len(copies) == len(lines)
    assert report["audit_conflicts"] == 0


def test_a_line_with_a_huge_value_is_quarantined_and_the_day_compacts(tmp_path: Path):
    good = json.loads(AuditRecord(event_id=uuid.uuid4().hex, ts=f"{DT}T10:00:00Z", event_type="authz.allow",
                                  outcome="allow", reason="verified").model_dump_json())
    huge = {**good, "event_id": uuid.uuid4().hex, "route": "GET /" + "r" * (20 * 1024 * 1024)}
    write_raw(tmp_path, [json.dumps(good), json.dumps(huge)], 1)
    report = LocalCompactor(tmp_path).compact(DT)
    assert (report["rows"], report["unconvertible"]) == (1, 1)
    [entry] = unconvertible(tmp_path)
    assert (entry["event_id"], entry["errors"]) == (huge["event_id"], ["route: longer than 300 characters"])


# Lines that are not a JSON object of the record: the reader (DuckDB's ignore_errors, the OpenX
# SerDe's ignore.malformed.json on Athena) gives each a row of nulls, which compaction quarantines.
# Bytes that are not UTF-8 and JSON texts that are not objects are in the class; blank lines are
# not lines of the record (both readers skip them). A duplicate key is not: DuckDB keeps the first
# value where the OpenX SerDe rejects the line (docs/audit-pipeline.md); the sink never writes one.
GARBAGE = st.one_of(
    st.text(st.characters(exclude_characters="\r\n", exclude_categories=("Cs",)), min_size=1, max_size=60)
    .filter(lambda s: s.strip() and not s.lstrip().startswith("{")).map(str.encode),
    st.binary(min_size=1, max_size=40).filter(lambda b: b.strip() and b"\n" not in b and b"\r" not in b
                                              and not b.lstrip().startswith(b"{")),
    st.sampled_from([b"null", b"5", b'"text"', b"[]", b'[{"event_id": "0"}]', b"{", b'{"event_id":', b"{}",
                     b'{"ts": "2026-11-28T10:00:00Z"',  b'{"a": 1} {"b": 2}', b'{"event_id": "\xff\xfe"}',
                     b'{"unknown": "field"}']),
)


@settings(max_examples=25, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(valid=st.lists(valid_records(), min_size=1, max_size=8, unique_by=lambda r: r["event_id"]),
       garbage=st.lists(GARBAGE, min_size=1, max_size=8), order=st.randoms(use_true_random=False),
       objects=st.integers(1, 3))
def test_lines_that_are_not_a_json_object_are_quarantined_and_the_day_compacts(
        tmp_path_factory, valid, garbage, order, objects):
    root = tmp_path_factory.mktemp("raw")
    lines = [json.dumps(r).encode() for r in valid] + garbage
    order.shuffle(lines)
    for index in range(objects):
        folder = root / "raw" / f"dt={DT}" / f"hour={index:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"hand-copy-{index}.jsonl.gz").write_bytes(
            gzip.compress(b"".join(line + b"\n" for line in lines[index::objects]), mtime=0))

    report = LocalCompactor(root).compact(DT)

    with DuckDBEngine(root) as engine:
        _, rows = engine.adhoc("SELECT event_id FROM audit_curated WHERE dt = ?", [DT])
    assert Counter(row[0] for row in rows) == Counter(r["event_id"] for r in valid)
    entries = unconvertible(root)
    assert len(entries) == len(garbage) == report["unconvertible"]
    assert {e["errors"][0] for e in entries} == {"line: not a JSON object of the record"}
    assert report["rows"] + report["unconvertible"] == len(lines)


# A JSON object of record fields that lacks the headline ones (event_id, ts, outcome, ...) is a
# record with fields missing, not a line that is not a JSON object: its reason names event_id,
# whatever other fields it carries. Only a line in which every raw column reads null is 'line: ...'.
OTHER_FIELDS = {"service": "orders", "app_id": "app-1", "tenant_id": "acme", "principal_id": "p-1",
                "principal_type": "user", "session_id": "s-1", "correlation_id": "c-1", "route": "GET /orders",
                "status": 200, "latency_ms": 1.5, "agent_name": "agent", "input_tokens": 3, "output_tokens": 4,
                "cold_start": False, "function_request_id": "f-1", "received_at": f"{DT}T10:00:00Z",
                "received_from": "arn:aws:logs:eu-west-1:123456789012:log-group:g", "inference_profile_arn": "arn:x"}


@settings(max_examples=10, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(fields=st.dictionaries(st.sampled_from(sorted(OTHER_FIELDS)), st.none(), min_size=1))
def test_an_object_lacking_only_the_headline_fields_is_quarantined_as_missing_its_event_id(tmp_path_factory, fields):
    root = tmp_path_factory.mktemp("raw")
    write_raw(root, [json.dumps({name: OTHER_FIELDS[name] for name in fields})], 1)

    report = LocalCompactor(root).compact(DT)

    [entry] = unconvertible(root)
    assert entry["errors"] == ["event_id: missing"]
    assert (report["rows"], report["unconvertible"]) == (0, 1)
