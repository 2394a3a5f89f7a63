"""The audit line's cheap redaction path writes exactly what the full path writes.

``dumps_flat_record`` skips the recursive sensitive-key scan for flat records whose key set is
known clean; these properties hold it byte-equal to ``dumps_redacted`` for every input, and the
emitted audit line equal to ``contract_line`` (the path every log line takes)."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from tenantkit.audit import emit_audit
from tenantkit.audit.emit import audit_line
from tenantkit.audit.schema import AuditRecord
from tenantkit.observability import begin_request, bind_identity, end_request
from tenantkit.observability.formatter import contract_line
from tenantkit.observability.redaction import SENSITIVE_KEYS, dumps_flat_record, dumps_redacted, is_sensitive_key
from tenantkit.observability.state import current_log_fields

SECRETISH = st.sampled_from([
    "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", "Bearer abc.def", "?code=xyz", "&token=abc", "Cookie: a=b",
    'token": "abc', "secret", "SessionToken=FQoG", "Basic dXNlcjpwYXNz", "plain", "", "/v1/me", "é\u2028",
])
# Characters that change under JSON escaping or sit in the rules (the gate must see through both).
TRICKY = st.text(alphabet=st.sampled_from(list('token:=\\"\n\r\t\u2028eyJ.abc-_ ?&;Bb')), max_size=30)
TEXT = st.one_of(SECRETISH, TRICKY, st.text(max_size=40),
                 st.builds(lambda a, b: a + b, SECRETISH, st.text(max_size=10)))
SCALAR = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), TEXT)
KEY = st.one_of(st.sampled_from(sorted(AuditRecord.model_fields)), st.sampled_from(sorted(SENSITIVE_KEYS)),
                st.sampled_from(["Refresh-Token", "X-Api-Key", "routeX", "my_token", "cookie_count", "eyJkey"]),
                st.text(max_size=12), TRICKY)
JSONISH = st.recursive(SCALAR, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(KEY, inner, max_size=3)), max_leaves=8)


def test_no_audit_field_is_a_sensitive_key():
    assert not [name for name in AuditRecord.model_fields if is_sensitive_key(name)]


@settings(max_examples=300)
@given(st.dictionaries(KEY, SCALAR, max_size=8))
def test_flat_records_are_written_exactly_as_the_full_path_writes_them(record):
    assert dumps_flat_record(record) == dumps_redacted(record)


@settings(max_examples=150)
@given(st.dictionaries(KEY, JSONISH, max_size=5))
def test_any_record_is_written_exactly_as_the_full_path_writes_it(record):
    assert dumps_flat_record(record) == dumps_redacted(record)


@settings(max_examples=150)
@given(route=TEXT.map(lambda text: text[:300]), agent=st.one_of(st.none(), TEXT.map(lambda text: text[:128])))
def test_the_audit_line_equals_the_contract_line(route, agent):
    begin_request(None, correlation_id="corr-1")
    try:
        bind_identity(tenant_id="acme", app_id="portal", session_id="s_" + "a" * 43)
        state = {k: v for k, v in current_log_fields().items() if v is not None}  # as emit_audit fills it
        record = AuditRecord(event_type="request.completed", outcome="success", reason="http_200", route=route,
                             agent_name=agent, **state)
        assert audit_line(record) == contract_line(record.model_dump())
    finally:
        end_request()


def test_a_token_in_the_route_is_redacted_on_the_audit_line(capsys):
    begin_request(None, correlation_id="corr-2")
    try:
        emit_audit("request.rejected", "rejected", "route_not_found",
                   route="GET /v1/x?token=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl", status=404)
    finally:
        end_request()
    line = capsys.readouterr().out.strip()
    assert "eyJhbGci" not in line and json.loads(line)["route"].startswith("GET /v1/x?token=")
