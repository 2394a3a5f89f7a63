"""The audit record: exported schema documents kept current, model validation, and the one
stdout line emit_audit writes (every field, state-filled identity, keyed session hash)."""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import re
import typing
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from pydantic import ValidationError

from tenantkit.audit import AuditRecord, emit_audit
from tenantkit.audit.quarantine import AUDIT_RECORD_FIELDS
from tenantkit.audit.schema import EventType
from tenantkit.observability import begin_request, bind_identity, end_request, get_logger
from tenantkit.observability.contract import LOG_FIELDS
from tenantkit.observability.pseudonym import UNKEYED_PLACEHOLDER, reset_session_id_policy
from tenantkit_local import PROJECT_ROOT, schemas
from tenantkit_local.cli import main

FIELDS = set(AuditRecord.model_fields)
SESSION = "sess-0123456789abcdef"


def test_the_pydantic_free_field_list_is_the_models_in_order():
    # compaction reads these names without building the model; a field added to one but not the
    # other would silently leave it out of the conflict check
    assert tuple(AuditRecord.model_fields) == AUDIT_RECORD_FIELDS


@pytest.fixture(autouse=True)
def _no_request_state(monkeypatch):
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "audit-test")
    end_request()
    yield
    end_request()


@pytest.fixture
def request_state():
    context = SimpleNamespace(aws_request_id="lambda-req-1", function_name="fn")
    begin_request(context, correlation_id="apigw-req-1")
    bind_identity(app_id="portal", tenant_id="acme", principal_id="tid-1:oid-1", session_id=SESSION)


def audit_lines(capsys) -> list[dict]:
    out = capsys.readouterr().out
    assert out.endswith("\n")
    lines = out.splitlines()
    for line in lines:
        AuditRecord.model_validate_json(line)  # every emitted line is a valid record again
    return [json.loads(line) for line in lines]


# --- exported documents ---------------------------------------------------------------------

def test_exported_documents_are_current():
    assert schemas.stale_documents() == []
    assert main(["schema", "export", "--check"]) == 0
    exported = json.loads((PROJECT_ROOT / "docs" / "schemas" / "log-contract.json").read_text())
    assert exported["log_fields"] == list(LOG_FIELDS)
    audit = json.loads((PROJECT_ROOT / "docs" / "schemas" / "audit-record.schema.json").read_text())
    assert set(audit["properties"]) == FIELDS
    assert audit["additionalProperties"] is False


def test_a_modified_or_missing_copy_is_reported_stale(tmp_path, monkeypatch, capsys):
    written = schemas.write_documents(tmp_path)
    assert schemas.stale_documents(tmp_path) == []
    audit, contract = sorted(written)
    audit.write_text(audit.read_text().replace('"authz.deny"', '"authz.denied"'))
    assert schemas.stale_documents(tmp_path) == [audit]
    contract.unlink()
    assert sorted(schemas.stale_documents(tmp_path)) == [audit, contract]
    monkeypatch.setattr(schemas, "stale_documents", functools.partial(schemas.stale_documents, tmp_path))
    assert main(["schema", "export", "--check"]) == 1
    assert f"stale: {audit}" in capsys.readouterr().err


def test_every_event_type_is_documented():
    prose = (PROJECT_ROOT / "docs" / "observability.md").read_text()
    assert [t for t in typing.get_args(EventType) if f"`{t}`" not in prose] == []


# --- model validation -----------------------------------------------------------------------

def record(**fields) -> AuditRecord:
    return AuditRecord(**{"event_type": "authz.allow", "outcome": "allow", "reason": "verified", **fields})


@pytest.mark.parametrize("fields", [
    {"event_type": "authz.maybe"},
    {"outcome": "allowed"},
    {"surprise": 1},
    {"token": "eyJ..."},
    {"record_type": "log"},
    {"schema_version": "2"},
    {"reason": "Token Expired"},
    {"reason": "1st_reason"},
    {"reason": ""},
    {"reason": "a" * 129},
    {"reason": "token-expired"},
    {"status": 99},
    {"status": 600},
    {"latency_ms": -0.1},
    {"input_tokens": -1},
    {"principal_type": "robot"},
    {"tenant_id": "acme corp"},
    {"session_id": ""},
    {"ts": "2026-11-28T12:00:00+00:00"},
    {"ts": "2026-11-28T12:00:00"},
    {"ts": "2026-11-28 12:00:00Z"},
    {"ts": "2026-11-28T12:00:00.1234567Z"},
    {"event_id": "ABCDEF0123456789ABCDEF0123456789"},
    {"event_id": "0123456789abcdef"},
    {"event_id": "0123456789abcdef0123456789abcdeg"},
])
def test_invalid_records_are_rejected(fields):
    with pytest.raises(ValidationError):
        record(**fields)


@pytest.mark.parametrize("fields", [
    {"status": 100}, {"status": 599}, {"reason": "a" * 128}, {"reason": "scope_missing.v2"},
    {"ts": "2026-11-28T12:00:00Z"}, {"ts": "2026-11-28T12:00:00.123456Z"},
    {"event_id": "0123456789abcdef0123456789abcdef"}, {"session_id": "h1:" + "a" * 32},
    {"session_id": UNKEYED_PLACEHOLDER}, {"latency_ms": 0}, {"input_tokens": 0, "output_tokens": 7},
])
def test_boundary_records_are_accepted(fields):
    assert record(**fields).model_dump()[next(iter(fields))] == next(iter(fields.values()))


def test_records_are_frozen():
    with pytest.raises(ValidationError):
        record().tenant_id = "globex"  # type: ignore[misc]


def test_defaults_event_id_and_timestamp():
    before = datetime.now(UTC)
    records = [record() for _ in range(10_000)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", r.event_id) for r in records)
    assert len({r.event_id for r in records}) == 10_000
    first = records[0]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z", first.ts)
    stamped = datetime.fromisoformat(first.ts.replace("Z", "+00:00"))
    assert abs((stamped - before).total_seconds()) < 5
    assert (first.schema_version, first.record_type) == ("1", "audit")


# --- emit_audit -----------------------------------------------------------------------------

def test_one_line_with_every_field_filled_from_the_request_state(request_state, capsys):
    returned = emit_audit("authz.allow", "allow", "verified", route="GET /v1/me", status=200, latency_ms=1.5)
    (line,) = audit_lines(capsys)
    assert set(line) == FIELDS and set(LOG_FIELDS) <= set(line)
    assert {k: line[k] for k in ("app_id", "tenant_id", "principal_id", "correlation_id", "function_request_id",
                                 "service", "route", "status", "latency_ms", "event_type", "outcome", "reason",
                                 "record_type", "schema_version")} == {
        "app_id": "portal", "tenant_id": "acme", "principal_id": "tid-1:oid-1", "correlation_id": "apigw-req-1",
        "function_request_id": "lambda-req-1", "service": "audit-test", "route": "GET /v1/me", "status": 200,
        "latency_ms": 1.5, "event_type": "authz.allow", "outcome": "allow", "reason": "verified",
        "record_type": "audit", "schema_version": "1"}
    assert isinstance(line["cold_start"], bool)
    for unknown in ("principal_type", "agent_name", "inference_profile_arn", "input_tokens", "output_tokens"):
        assert line[unknown] is None  # present, null
    assert (line["event_id"], line["ts"]) == (returned.event_id, returned.ts)


def test_without_request_state_every_key_is_still_present(capsys):
    emit_audit("request.rejected", "rejected", "malformed_request")
    (line,) = audit_lines(capsys)
    assert set(line) == FIELDS
    assert line["tenant_id"] is None and line["function_request_id"] is None and line["service"] == "audit-test"


def test_explicit_fields_override_the_state(request_state, capsys):
    emit_audit("tenant.spoof_rejected", "rejected", "tenant_mismatch", tenant_id="globex", correlation_id="c-2",
               agent_name="helper", input_tokens=10, output_tokens=3)
    (line,) = audit_lines(capsys)
    assert (line["tenant_id"], line["correlation_id"], line["app_id"]) == ("globex", "c-2", "portal")
    assert (line["agent_name"], line["input_tokens"], line["output_tokens"]) == ("helper", 10, 3)


def test_invalid_fields_raise_and_write_nothing(request_state, capsys):
    with pytest.raises(ValidationError):
        emit_audit("authz.allow", "allow", "Not A Reason")
    with pytest.raises(ValidationError):
        emit_audit("authz.allow", "allow", "verified", unexpected="x")
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("level", ["ERROR", "CRITICAL"])
def test_audit_bypasses_the_log_level(monkeypatch, capsys, level, request_state):
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", level)
    logger = get_logger(f"audit-level-{level.lower()}")
    logger.info("dropped")
    logger.warning("dropped too")
    assert capsys.readouterr().out == ""  # the logger really is at that level
    emit_audit("authz.deny", "deny", "scope_missing", status=403)
    (line,) = audit_lines(capsys)
    assert line["event_type"] == "authz.deny"


def expected_hash(key: str, session_id: str) -> str:
    return "h1:" + hmac.new(key.encode(), session_id.encode(), hashlib.sha256).hexdigest()[:32]


def test_session_id_is_the_keyed_hash(request_state, capsys, monkeypatch):
    monkeypatch.setenv("TENANTKIT_LOG_HASH_KEY", "audit-test-key")
    reset_session_id_policy()
    returned = emit_audit("session.continued", "allow", "session_valid")
    (line,) = audit_lines(capsys)
    assert re.fullmatch(r"h1:[0-9a-f]{32}", line["session_id"])
    assert line["session_id"] == expected_hash("audit-test-key", SESSION)
    assert SESSION not in json.dumps(line)
    assert returned.session_id == SESSION  # the caller's record keeps the raw id; only the line is hashed


def test_session_hash_is_stable_per_key_and_differs_across_keys(request_state, capsys, monkeypatch):
    seen = []
    for key in ("key-a", "key-a", "key-b"):
        monkeypatch.setenv("TENANTKIT_LOG_HASH_KEY", key)
        reset_session_id_policy()
        emit_audit("session.continued", "allow", "session_valid")
        seen.append(audit_lines(capsys)[0]["session_id"])
    assert seen[0] == seen[1] != seen[2]


def test_session_id_raw_by_choice(request_state, capsys, monkeypatch):
    monkeypatch.setenv("TENANTKIT_SESSION_ID_LOGGING", "raw")
    reset_session_id_policy()
    emit_audit("session.bound", "allow", "session_created")
    assert audit_lines(capsys)[0]["session_id"] == SESSION


def test_session_id_hashed_without_a_key_is_a_placeholder(request_state, capsys, monkeypatch):
    monkeypatch.delenv("TENANTKIT_LOG_HASH_KEY")
    reset_session_id_policy()
    emit_audit("session.bound", "allow", "session_created")
    (line,) = audit_lines(capsys)
    assert line["session_id"] == "redacted:no-hash-key" == UNKEYED_PLACEHOLDER


def test_already_hashed_ids_are_not_hashed_twice(capsys):
    begin_request(SimpleNamespace(aws_request_id="r"), correlation_id=None)
    hashed = expected_hash("test-log-hash-key", SESSION)
    emit_audit("session.continued", "allow", "session_valid", session_id=hashed)
    (line,) = audit_lines(capsys)
    assert line["session_id"] == hashed
    assert line["correlation_id"] == "r"  # no API Gateway id: the Lambda request id
