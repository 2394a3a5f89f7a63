"""IdentityEnvelope <-> API Gateway authorizer context: flat, lossless, strict on the way back."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from tenantkit.envelope import ENVELOPE_VERSION, EnvelopeError, IdentityEnvelope

IDENT = r"[A-Za-z0-9][A-Za-z0-9._:/@-]{0,255}"

identifiers = st.from_regex(IDENT, fullmatch=True)
entries = st.lists(st.text(min_size=1, max_size=24), max_size=6).map(tuple)

envelopes = st.builds(
    IdentityEnvelope,
    app_id=identifiers,
    tenant_id=identifiers,
    principal_id=identifiers,
    principal_type=st.sampled_from(["user", "service"]),
    session_id=st.none() | identifiers,
    correlation_id=identifiers,
    issuer=st.text(min_size=1, max_size=512),
    roles=entries,
    scopes=entries,
    auth_time=st.none() | st.integers(min_value=0, max_value=2**53),
    exp=st.none() | st.integers(min_value=0, max_value=2**53),
)

# What API Gateway adds to the context it hands the integration, next to our keys.
GATEWAY_EXTRAS = {"principalId": "6e1c3a4b-2f7d-4c1e-9a8b-0d5f3e2a1b7c:a1111111", "integrationLatency": 12}


def _valid(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "app_id": "portal",
        "tenant_id": "acme",
        "principal_id": "6e1c3a4b-2f7d-4c1e-9a8b-0d5f3e2a1b7c:a1111111-1111-4111-8111-111111111111",
        "principal_type": "user",
        "session_id": "sess-0001",
        "correlation_id": "req-1",
        "issuer": "https://login.microsoftonline.com/6e1c3a4b-2f7d-4c1e-9a8b-0d5f3e2a1b7c/v2.0",
        "roles": ("Agents.Invoke",),
        "scopes": ("access_as_user", "agent.invoke"),
        "auth_time": 1_700_000_000,
        "exp": 1_700_003_600,
    }
    values.update(overrides)
    return values


def _valid_context(**overrides: Any) -> dict[str, Any]:
    context = IdentityEnvelope(**_valid()).to_authorizer_context()
    for name, value in overrides.items():
        if value is _MISSING:
            context.pop(name, None)
        else:
            context[name] = value
    return context


_MISSING = object()


def _assert_flat(context: dict[str, Any]) -> None:
    for name, value in context.items():
        assert isinstance(name, str)
        assert type(value) in (str, int, bool), (name, value)


@settings(max_examples=150, deadline=None)
@given(envelope=envelopes)
def test_context_is_flat_and_round_trips_natively(envelope: IdentityEnvelope):
    context = envelope.to_authorizer_context()
    _assert_flat(context)
    assert context["envelope_version"] == ENVELOPE_VERSION
    assert ("session_id" in context) is (envelope.session_id is not None)
    assert ("auth_time" in context) is (envelope.auth_time is not None)
    assert ("exp" in context) is (envelope.exp is not None)
    restored = IdentityEnvelope.from_authorizer_context({**context, **GATEWAY_EXTRAS})
    assert restored == envelope


@settings(max_examples=150, deadline=None)
@given(envelope=envelopes)
def test_context_round_trips_after_api_gateway_stringifies_every_value(envelope: IdentityEnvelope):
    stringified = {name: str(value) for name, value in envelope.to_authorizer_context().items()}
    stringified.update({name: str(value) for name, value in GATEWAY_EXTRAS.items()})
    restored = IdentityEnvelope.from_authorizer_context(stringified)
    assert restored == envelope
    assert restored.roles == envelope.roles and restored.auth_time == envelope.auth_time
    assert restored.exp == envelope.exp


@settings(max_examples=50, deadline=None)
@given(envelope=envelopes)
def test_context_survives_a_json_round_trip(envelope: IdentityEnvelope):
    # The Lambda response is JSON: nothing in the context may depend on Python-only types.
    context = json.loads(json.dumps(envelope.to_authorizer_context()))
    assert IdentityEnvelope.from_authorizer_context(context) == envelope


def test_lists_flatten_to_compact_json_text():
    context = IdentityEnvelope(**_valid(roles=("a", "b c"), scopes=())).to_authorizer_context()
    assert context["roles"] == '["a","b c"]'
    assert context["scopes"] == "[]"
    assert context["auth_time"] == 1_700_000_000
    assert context["exp"] == 1_700_003_600
    assert context["principal_type"] == "user"


def test_session_id_none_is_omitted_not_null():
    envelope = IdentityEnvelope(**_valid(session_id=None, auth_time=None))
    context = envelope.to_authorizer_context()
    assert "session_id" not in context
    assert "auth_time" not in context
    assert None not in context.values()
    restored = IdentityEnvelope.from_authorizer_context(context)
    assert restored.session_id is None and restored.auth_time is None


def test_explicit_null_in_context_means_absent():
    restored = IdentityEnvelope.from_authorizer_context(_valid_context(session_id=None))
    assert restored.session_id is None


def test_missing_envelope_version_defaults_to_current():
    restored = IdentityEnvelope.from_authorizer_context(_valid_context(envelope_version=_MISSING))
    assert restored.envelope_version == ENVELOPE_VERSION


IDENTIFIER_FIELDS = ["app_id", "tenant_id", "principal_id", "session_id", "correlation_id"]
BAD_IDENTIFIERS = ["acme corp", "acme\n", "\nacme", "acme\r\n", "ac\tme", "", " acme", "-acme", "acme\x00",
                   "a" * 257, "acme;drop", "ácme"]


@pytest.mark.parametrize(
    "context",
    [
        pytest.param(_valid_context(roles="not json"), id="roles-not-json"),
        pytest.param(_valid_context(roles='{"a": 1}'), id="roles-object"),
        pytest.param(_valid_context(roles='"Admin"'), id="roles-json-string"),
        pytest.param(_valid_context(roles="[1, 2]"), id="roles-numbers"),
        pytest.param(_valid_context(roles="[null]"), id="roles-null-entry"),
        pytest.param(_valid_context(roles='[["nested"]]'), id="roles-nested"),
        pytest.param(_valid_context(roles='[""]'), id="roles-empty-entry"),
        pytest.param(_valid_context(roles=5), id="roles-int"),
        pytest.param(_valid_context(roles=True), id="roles-bool"),
        pytest.param(_valid_context(roles=[1]), id="roles-native-list-of-int"),
        pytest.param(_valid_context(scopes="access_as_user agent.invoke"), id="scopes-space-separated"),
        pytest.param(_valid_context(scopes="[1]"), id="scopes-numbers"),
        pytest.param(_valid_context(auth_time="abc"), id="auth_time-word"),
        pytest.param(_valid_context(auth_time="1.5"), id="auth_time-decimal"),
        pytest.param(_valid_context(auth_time="-1"), id="auth_time-negative-text"),
        pytest.param(_valid_context(auth_time=-1), id="auth_time-negative"),
        pytest.param(_valid_context(auth_time=""), id="auth_time-empty"),
        pytest.param(_valid_context(auth_time=" 12"), id="auth_time-space"),
        pytest.param(_valid_context(auth_time="1e3"), id="auth_time-exponent"),
        pytest.param(_valid_context(auth_time="0x10"), id="auth_time-hex"),
        pytest.param(_valid_context(auth_time="\u00b2"), id="auth_time-superscript-two"),
        pytest.param(_valid_context(auth_time="\uff11\uff12"), id="auth_time-fullwidth-digits"),
        pytest.param(_valid_context(auth_time="\u0661\u0662"), id="auth_time-arabic-indic-digits"),
        pytest.param(_valid_context(tenant_id=_MISSING), id="tenant_id-missing"),
        pytest.param(_valid_context(app_id=_MISSING), id="app_id-missing"),
        pytest.param(_valid_context(principal_id=_MISSING), id="principal_id-missing"),
        pytest.param(_valid_context(principal_type=_MISSING), id="principal_type-missing"),
        pytest.param(_valid_context(correlation_id=_MISSING), id="correlation_id-missing"),
        pytest.param(_valid_context(issuer=_MISSING), id="issuer-missing"),
        pytest.param(_valid_context(issuer=""), id="issuer-empty"),
        pytest.param(_valid_context(issuer="i" * 513), id="issuer-too-long"),
        pytest.param(_valid_context(tenant_id=None), id="tenant_id-null"),
        pytest.param(_valid_context(principal_type="admin"), id="principal_type-unknown"),
        pytest.param(_valid_context(envelope_version="1"), id="version-1-has-no-exp-contract"),
        pytest.param(_valid_context(envelope_version="3"), id="version-3"),
        pytest.param(_valid_context(exp="abc"), id="exp-word"),
        pytest.param(_valid_context(exp="1.5"), id="exp-decimal"),
        pytest.param(_valid_context(exp="-1"), id="exp-negative-text"),
        pytest.param(_valid_context(exp=-1), id="exp-negative"),
        pytest.param(_valid_context(exp=""), id="exp-empty"),
        pytest.param(_valid_context(exp="1e9"), id="exp-exponent"),
        pytest.param(_valid_context(exp="\uff11\uff12"), id="exp-fullwidth-digits"),
        pytest.param(_valid_context(exp=[1]), id="exp-list"),
        pytest.param(_valid_context(envelope_version=1), id="version-int"),
        pytest.param(_valid_context(envelope_version=""), id="version-empty"),
        pytest.param(_valid_context(tenant_id=5.0), id="tenant_id-float"),
        *[
            pytest.param(_valid_context(**{field: bad}), id=f"{field}-{bad[:10]!r}")
            for field in IDENTIFIER_FIELDS
            for bad in BAD_IDENTIFIERS
        ],
    ],
)
def test_invalid_contexts_raise_envelope_error(context):
    with pytest.raises(EnvelopeError):
        IdentityEnvelope.from_authorizer_context(context)


@pytest.mark.parametrize("context", [None, [], "tenant_id=acme", 42])
def test_context_that_is_not_an_object_raises_envelope_error(context):
    with pytest.raises(EnvelopeError):
        IdentityEnvelope.from_authorizer_context(context)


def test_envelope_error_names_the_fields_not_their_values():
    with pytest.raises(EnvelopeError) as caught:
        IdentityEnvelope.from_authorizer_context(_valid_context(tenant_id="evil tenant", app_id="bad app"))
    message = str(caught.value)
    assert "tenant_id" in message and "app_id" in message
    assert "evil tenant" not in message and "bad app" not in message


def test_envelope_is_frozen():
    envelope = IdentityEnvelope(**_valid())
    with pytest.raises(ValidationError):
        envelope.tenant_id = "globex"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        envelope.roles = ("Admin",)  # type: ignore[misc]
    assert envelope.tenant_id == "acme"
    assert hash(envelope) == hash(IdentityEnvelope(**_valid()))


def test_extra_fields_are_forbidden():
    with pytest.raises(ValidationError):
        IdentityEnvelope(**_valid(), is_admin=True)
    with pytest.raises(ValidationError):
        IdentityEnvelope.model_validate({**_valid(), "tenant": "globex"})


def test_from_context_ignores_unknown_keys_instead_of_failing():
    context = {**_valid_context(), "principalId": "x", "integrationLatency": "3", "is_admin": "true"}
    restored = IdentityEnvelope.from_authorizer_context(context)
    assert restored == IdentityEnvelope(**_valid())
    assert not hasattr(restored, "is_admin")


def test_log_fields_carry_the_contract_names_only():
    fields = IdentityEnvelope(**_valid()).log_fields()
    assert set(fields) == {"app_id", "tenant_id", "principal_id", "principal_type", "session_id", "correlation_id"}
    assert fields["tenant_id"] == "acme"
