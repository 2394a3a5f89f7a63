"""The per-request serializations equal the ``model_dump`` ones, byte for byte.

The audit line and the authorizer context read a validated model's values as they are (no
``model_dump`` pass) and serialize through a prebuilt JSON encoder. These properties hold them
equal to the ``model_dump`` + ``json.dumps`` path over generated input, hostile values included:
same acceptance (pydantic validates both), same record, same line, same context.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from tenantkit.audit.emit import audit_record_and_line
from tenantkit.audit.schema import AuditRecord, new_event_id
from tenantkit.envelope import IdentityEnvelope
from tenantkit.observability import begin_request, end_request
from tenantkit.observability.pseudonym import session_id_policy
from tenantkit.observability.redaction import dumps_flat_record, dumps_scalars


class Text(str):
    """A str subclass: pydantic turns it into a plain str."""


ID_LIKE = st.one_of(
    st.sampled_from(["acme", "portal", "6e1c3a4b:a1111111", "tid:oid", "h1:abc=", "s_" + "a" * 43, "a" * 256,
                     "a" * 257, "", "-lead", "acme\n", "ácme", "a b", "x/y@z", "a+b=c", "A.B_C-D", "١٢٣"]),
    st.text(alphabet="aZ09._:/@+=- \n", min_size=0, max_size=8),
)
TEXTS = st.one_of(ID_LIKE, st.text(max_size=20), st.sampled_from(["x" * 128, "x" * 129, "x" * 300, "x" * 301,
                                                                   "GET /v1/me", "Bearer abc", "eyJa.eyJb.c",
                                                                   "?token=abc", "é\u2028"]))
ODD = st.one_of(st.none(), st.booleans(), st.integers(-5, 700), st.floats(allow_nan=True),
                st.builds(Text, ID_LIKE), st.binary(max_size=3), st.just(["acme"]), st.just(("a", "b")))
INTS = st.one_of(st.integers(-2, 2), st.integers(95, 605), st.integers(min_value=2**63 - 2, max_value=2**64),
                 st.booleans(), st.floats(0, 700), st.sampled_from(["200", 200.0, 200.5]))
FLOATS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-3, 3), st.just(-0.0),
                   st.booleans(), st.sampled_from(["1.5", 1e308, 5e-324]))
EVENT_IDS = st.one_of(st.just("0123456789abcdef0123456789abcdef"), st.just("0123456789ABCDEF0123456789abcdef"),
                      st.text(alphabet="0123456789abcdef", min_size=31, max_size=33), ODD)
TIMESTAMPS = st.one_of(st.sampled_from(["2026-11-30T03:37:41.264Z", "2026-02-30T00:00:00Z", "2026-11-30T25:00:00Z",
                                        "2026-11-30T03:37:41Z", "2026-11-30T03:37:41.1234567Z",
                                        "\uff12026-11-30T03:37:41Z", "2026-11-30T03:37:41.264Z\n",
                                        "2024-02-29T23:59:59.999999Z"]), ODD)
AUDIT_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "schema_version": st.sampled_from(["1", "2", 1]),
    "record_type": st.sampled_from(["audit", "log"]),
    "event_id": EVENT_IDS,
    "ts": TIMESTAMPS,
    "service": st.one_of(TEXTS, ODD),
    "app_id": st.one_of(ID_LIKE, ODD),
    "tenant_id": st.one_of(ID_LIKE, ODD),
    "principal_id": st.one_of(ID_LIKE, ODD),
    "principal_type": st.one_of(st.sampled_from(["user", "service", "User", "group"]), ODD),
    "session_id": st.one_of(ID_LIKE, ODD),
    "correlation_id": st.one_of(ID_LIKE, ODD),
    "route": st.one_of(TEXTS, ODD),
    "status": INTS,
    "latency_ms": FLOATS,
    "agent_name": st.one_of(TEXTS, ODD),
    "inference_profile_arn": st.one_of(TEXTS, st.just("a" * 2049), ODD),
    "input_tokens": INTS,
    "output_tokens": INTS,
    "cold_start": st.one_of(st.booleans(), st.sampled_from([0, 1, "true"]), st.none()),
    "function_request_id": st.one_of(TEXTS, ODD),
    "unknown_field": st.just("x"),
}
EVENT_TYPES = st.sampled_from(["authz.allow", "authz.deny", "request.completed", "app.enabled", "authz.allowed", ""])
OUTCOMES = st.sampled_from(["allow", "deny", "success", "error", "Allow", "ok"])
REASONS = st.one_of(st.sampled_from(["verified", "http_200", "a" * 128, "a" * 129, "Verified", "9x", "a.b_c",
                                     "x\n"]), st.builds(Text, st.just("verified")), st.integers())
# Values of the right type and shape, so most generated records are valid (hostile ones mixed in).
SHAPED_ID = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._:/@+=-]{0,20}\Z")
SHAPED: dict[str, st.SearchStrategy[Any]] = {
    "service": st.text(max_size=30), "route": st.text(max_size=40), "agent_name": st.text(max_size=20),
    "inference_profile_arn": st.text(max_size=40), "function_request_id": st.text(max_size=30),
    "app_id": SHAPED_ID, "tenant_id": SHAPED_ID, "principal_id": SHAPED_ID, "session_id": SHAPED_ID,
    "correlation_id": SHAPED_ID, "principal_type": st.sampled_from(["user", "service"]),
    "status": st.integers(100, 599), "latency_ms": st.floats(0, 1e6), "input_tokens": st.integers(0, 10**12),
    "output_tokens": st.integers(0, 10**12), "cold_start": st.booleans(),
    "schema_version": st.just("1"), "record_type": st.just("audit"),
}


def audit_values(draw: Any, *, fixed_identity: bool) -> dict[str, Any]:
    names = draw(st.sets(st.sampled_from(sorted(AUDIT_FIELDS)), max_size=12))
    if fixed_identity:  # the same event_id and ts on both paths, so their lines compare byte for byte
        names -= {"event_id", "ts"}
    values = {}
    for name in sorted(names):  # one field in eight hostile, the rest shaped like real input
        hostile = name not in SHAPED or draw(st.integers(0, 7)) == 0
        values[name] = draw(AUDIT_FIELDS[name] if hostile else SHAPED[name])
    if fixed_identity:
        values["event_id"] = draw(st.one_of(st.just("0123456789abcdef0123456789abcdef"), EVENT_IDS))
        values["ts"] = draw(st.one_of(st.just("2026-11-30T03:37:41.264Z"), TIMESTAMPS))
    return values


@st.composite
def audit_inputs(draw: Any, fixed_identity: bool = True) -> tuple[Any, Any, Any, dict[str, Any]]:
    shaped = draw(st.integers(0, 3)) > 0
    event_type = draw(st.sampled_from(["authz.allow", "request.completed"]) if shaped else EVENT_TYPES)
    outcome = draw(st.sampled_from(["allow", "success"]) if shaped else OUTCOMES)
    reason = draw(st.from_regex(r"\A[a-z][a-z0-9_.]{0,30}\Z") if shaped else REASONS)
    return event_type, outcome, reason, audit_values(draw, fixed_identity=fixed_identity)


def model_dump_path(event_type: Any, outcome: Any, reason: Any, values: dict[str, Any]) -> tuple[AuditRecord, str]:
    """The audit line as it was written: model_dump, the session policy, the flat-record path."""
    record = AuditRecord(event_type=event_type, outcome=outcome, reason=reason, **values)
    line = record.model_dump()
    line["session_id"] = session_id_policy().apply(line["session_id"])
    return record, dumps_flat_record(line)


def test_the_authorizer_record_is_valid():
    values = {"route": "GET /v1/me", "status": 200, "latency_ms": 0.123, "tenant_id": "acme", "app_id": "portal",
              "principal_id": "6e1c3a4b:a1111111", "principal_type": "user", "correlation_id": "req-1",
              "service": "tenantkit-authorizer", "cold_start": False, "function_request_id": "req-1"}
    record, line = audit_record_and_line("authz.allow", "allow", "verified", values)
    assert json.loads(line) == {**record.model_dump(), "session_id": None}


@settings(max_examples=400, deadline=None)
@given(audit_inputs())
def test_an_audit_record_and_line_are_those_of_the_model_dump_path(inputs):
    event_type, outcome, reason, values = inputs
    begin_request(None, correlation_id="corr-1")
    try:
        try:
            expected = model_dump_path(event_type, outcome, reason, values)
        except ValidationError:
            with pytest.raises(ValidationError):
                audit_record_and_line(event_type, outcome, reason, values)
            return
        record, line = audit_record_and_line(event_type, outcome, reason, values)
    finally:
        end_request()
    assert type(record) is AuditRecord and record == expected[0]
    assert record.model_dump_json() == expected[0].model_dump_json()  # types too: 1 vs 1.0 vs true
    assert line == expected[1]


def test_event_ids_are_uuid4_hex():
    ids = {new_event_id() for _ in range(2000)}
    assert len(ids) == 2000
    for event_id in list(ids)[:200]:
        parsed = uuid.UUID(hex=event_id)
        assert parsed.hex == event_id and parsed.version == 4 and parsed.variant == uuid.RFC_4122


ENVELOPE_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "envelope_version": st.sampled_from(["2", "1", 2]),
    "app_id": st.one_of(ID_LIKE, ODD),
    "tenant_id": st.one_of(ID_LIKE, ODD),
    "principal_id": st.one_of(ID_LIKE, ODD),
    "principal_type": st.one_of(st.sampled_from(["user", "service", "admin"]), ODD),
    "session_id": st.one_of(ID_LIKE, ODD),
    "correlation_id": st.one_of(ID_LIKE, ODD),
    "issuer": st.one_of(TEXTS, st.just("i" * 512), st.just("i" * 513), ODD),
    "roles": st.one_of(st.tuples(), st.tuples(ID_LIKE), st.tuples(ID_LIKE, ID_LIKE), st.lists(ID_LIKE, max_size=2),
                       st.tuples(st.builds(Text, ID_LIKE)), st.tuples(st.integers()), ODD),
    "scopes": st.one_of(st.tuples(), st.tuples(ID_LIKE, ID_LIKE), st.lists(ID_LIKE, max_size=2), ODD),
    "auth_time": INTS,
    "exp": INTS,
    "unknown_field": st.just("x"),
}
REQUIRED_ENVELOPE = {"app_id": "portal", "tenant_id": "acme", "principal_id": "tid:oid", "principal_type": "user",
                     "correlation_id": "req-1", "issuer": "https://login.example/tid/v2.0"}


@st.composite
def envelope_values(draw: Any) -> dict[str, Any]:
    names = draw(st.sets(st.sampled_from(sorted(ENVELOPE_FIELDS)), max_size=8))
    base = {k: v for k, v in REQUIRED_ENVELOPE.items() if draw(st.booleans()) or k not in names}
    return {**base, **{name: draw(ENVELOPE_FIELDS[name]) for name in sorted(names)}}


def context_via_model_dump(envelope: IdentityEnvelope) -> dict[str, Any]:
    """The authorizer context as it was flattened through pydantic's model_dump."""
    return {name: json.dumps(list(value), separators=(",", ":")) if name in ("roles", "scopes") else value
            for name, value in envelope.model_dump().items() if value is not None}


@settings(max_examples=400, deadline=None)
@given(envelope_values())
def test_an_authorizer_context_is_the_model_dump_one(values):
    try:
        envelope = IdentityEnvelope(**values)
    except ValidationError:
        return
    context = envelope.to_authorizer_context()
    assert json.dumps(context) == json.dumps(context_via_model_dump(envelope))  # values, types and order
    assert IdentityEnvelope.from_authorizer_context(context) == envelope


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
                    st.text(max_size=20), st.builds(Text, st.text(max_size=5)))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=8), SCALARS, max_size=8))
def test_the_prebuilt_encoder_writes_what_json_dumps_writes(record):
    assert dumps_scalars(record) == json.dumps(record, separators=(",", ":"))


def test_the_prebuilt_encoder_refuses_what_json_dumps_refuses():
    with pytest.raises(TypeError):
        dumps_scalars({"a": object()})


# --- records of one shape: the kept verdict and text answer for all but the first ---------------

# st.text() leaves out lone surrogates (category Cs): pydantic refuses them, so they are drawn too
SURROGATE_TEXT = st.text(st.one_of(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), st.sampled_from("a-1é")),
                         min_size=1, max_size=6)
VARYING_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "correlation_id": st.one_of(SHAPED_ID, ID_LIKE, ODD, st.just("Bearer"), SURROGATE_TEXT),
    "latency_ms": st.one_of(st.floats(0, 1e6), FLOATS),
    "function_request_id": st.one_of(st.text(max_size=30), TEXTS, ODD, SURROGATE_TEXT),
}


@st.composite
def one_shape_records(draw: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    _, _, _, values = draw(audit_inputs(fixed_identity=False))
    repeating = {k: v for k, v in values.items() if k not in ("event_id", "ts", *VARYING_VALUES)}
    repeating.update(event_type=draw(st.sampled_from(["authz.allow", "request.completed"])), outcome="success",
                     reason=draw(st.sampled_from(["verified", "http_200"])))
    records = []
    absent = sorted(set(AuditRecord.model_fields) - set(repeating) - {"event_id", "ts", *VARYING_VALUES})
    for n in range(draw(st.integers(2, 4))):
        varying = {name: draw(strategy) for name, strategy in VARYING_VALUES.items() if draw(st.booleans())}
        if n and absent and draw(st.booleans()):  # a field left out before, now given as None: not one shape
            varying[draw(st.sampled_from(absent))] = None
        records.append(varying)
    return repeating, records


@settings(max_examples=250, deadline=None)
@given(one_shape_records())
def test_records_of_one_shape_are_those_pydantic_makes(shape):
    repeating, records = shape
    begin_request(None, correlation_id="corr-1")
    try:
        for varying in records:
            values = {**{k: v for k, v in repeating.items() if k not in ("event_type", "outcome", "reason")},
                      **varying}
            event_type, outcome, reason = repeating["event_type"], repeating["outcome"], repeating["reason"]
            try:
                AuditRecord(event_type=event_type, outcome=outcome, reason=reason, **values)
            except ValidationError:
                with pytest.raises(ValidationError):
                    audit_record_and_line(event_type, outcome, reason, values)
                continue
            record, line = audit_record_and_line(event_type, outcome, reason, values)
            expected = model_dump_path(event_type, outcome, reason,
                                       {**values, "event_id": record.event_id, "ts": record.ts})
            assert type(record) is AuditRecord and record == expected[0]
            assert record.model_dump_json() == expected[0].model_dump_json()
            assert line == expected[1]
    finally:
        end_request()


def test_the_second_record_of_a_shape_is_not_validated_again(monkeypatch):
    from tenantkit.audit import emit, fast_line

    monkeypatch.setattr(fast_line, "MAX_SHAPES", 2)  # and full already: the kept set starts over
    monkeypatch.setattr(fast_line, "_shapes", {("a",): None, ("b",): None})

    calls: list[int] = []
    validated = emit._validated_record_and_line

    def counting(values: dict[str, Any]) -> tuple[AuditRecord, str]:
        calls.append(1)
        return validated(values)

    monkeypatch.setattr(emit, "_validated_record_and_line", counting)
    values = {"route": "GET /v1/me", "status": 200, "tenant_id": "acme-shape", "app_id": "portal",
              "service": "tenantkit-authorizer", "cold_start": False}
    lines = [audit_record_and_line("authz.allow", "allow", "verified",
                                   {**values, "correlation_id": f"req-{n}", "latency_ms": 0.5 + n,
                                    "function_request_id": f"fn-{n}"})[1] for n in range(3)]
    assert calls == [1]
    assert [json.loads(line)["correlation_id"] for line in lines] == ["req-0", "req-1", "req-2"]
    assert len({json.loads(line)["event_id"] for line in lines}) == 3


def test_the_varying_fields_limits_are_the_schemas():
    from tenantkit.audit import fast_line

    assert AuditRecord.model_fields["function_request_id"].metadata[0].max_length == fast_line._MAX_REQUEST_ID
    assert set(fast_line.VARYING) | set(fast_line.REPEATING) == set(AuditRecord.model_fields)
    assert not AuditRecord.__pydantic_decorators__.model_validators
    assert {info.info.fields for info in AuditRecord.__pydantic_decorators__.field_validators.values()} == {("ts",)}


KEPT_SHAPE = {"route": "GET /v1/me", "status": 200, "tenant_id": "acme-kept", "app_id": "portal",
              "principal_id": "6e1c3a4b:a1111111", "principal_type": "user", "service": "tenantkit-authorizer",
              "cold_start": False}


@settings(max_examples=300, deadline=None)
@given(st.fixed_dictionaries({}, optional=VARYING_VALUES))
def test_any_varying_value_under_a_kept_shape_gets_pydantics_verdict_and_line(varying):
    """The shape is kept first (a valid record of it), so every drawn varying value meets the
    fast path's own checks: what it accepts, pydantic accepts, and the line is the same."""
    begin_request(None, correlation_id="corr-1")
    try:
        audit_record_and_line("authz.allow", "allow", "verified",
                              {**KEPT_SHAPE, "correlation_id": "req-0", "latency_ms": 0.5, "function_request_id": "f"})
        values = {**KEPT_SHAPE, **varying}
        try:
            AuditRecord(event_type="authz.allow", outcome="allow", reason="verified", **values)
        except ValidationError:
            with pytest.raises(ValidationError):
                audit_record_and_line("authz.allow", "allow", "verified", values)
            return
        record, line = audit_record_and_line("authz.allow", "allow", "verified", values)
        expected = model_dump_path("authz.allow", "allow", "verified",
                                   {**values, "event_id": record.event_id, "ts": record.ts})
    finally:
        end_request()
    assert record.model_dump_json() == expected[0].model_dump_json()
    assert line == expected[1]
