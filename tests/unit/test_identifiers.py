"""The identifier patterns live in tenantkit.identifiers and nest: registry ⊂ envelope ⊂ audit,
correlation ⊂ envelope. Each model uses exactly its pattern."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from tenantkit.audit.schema import AuditRecord
from tenantkit.envelope import IdentityEnvelope
from tenantkit.identifiers import AUDIT_ID, CORRELATION_ID, CORRELATION_ID_RE, ENVELOPE_ID, REGISTRY_ID, matches
from tenantkit.registry import AppEntry, TenantEntry

ALPHABET = "aZ09._:/@+=-\n \t#é"
candidates = st.one_of(
    st.text(alphabet=ALPHABET, min_size=0, max_size=8),
    st.text(alphabet="ab9.-", min_size=60, max_size=70),
    st.text(alphabet="ab9:", min_size=250, max_size=260),
    st.from_regex(AUDIT_ID[1:-1], fullmatch=True),
)


@settings(max_examples=300, deadline=None)
@given(candidates)
def test_the_patterns_nest(value):
    if matches(REGISTRY_ID, value):
        assert matches(ENVELOPE_ID, value)
    if matches(CORRELATION_ID, value):
        assert matches(ENVELOPE_ID, value)
    if matches(ENVELOPE_ID, value):
        assert matches(AUDIT_ID, value)
    assert (CORRELATION_ID_RE.match(value) is not None) == matches(CORRELATION_ID, value)


def _pattern(model, name):
    (metadata,) = [m for m in model.model_fields[name].metadata if hasattr(m, "pattern")]
    return metadata.pattern


def test_each_model_uses_the_shared_pattern():
    assert {_pattern(IdentityEnvelope, f) for f in ("app_id", "tenant_id", "principal_id", "session_id",
                                                   "correlation_id")} == {ENVELOPE_ID}
    assert _pattern(TenantEntry, "tenant_id") == _pattern(AppEntry, "app_id") == REGISTRY_ID
    assert {_pattern(AuditRecord, f) for f in ("app_id", "tenant_id", "principal_id", "session_id",
                                               "correlation_id")} == {AUDIT_ID}


def test_no_other_module_of_the_layer_spells_an_identifier_pattern():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "layers" / "tenantkit" / "tenantkit"
    spelled = re.compile(r"\[A-Za-z0-9\]\[A-Za-z0-9")
    offenders = [str(path.relative_to(root)) for path in root.rglob("*.py")
                 if path.name != "identifiers.py" and spelled.search(path.read_text())]
    assert offenders == []
