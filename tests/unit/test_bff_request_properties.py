"""Properties of the BFF's request checks, over generated paths, bodies, queries and headers:

(a) the audit ``route`` holds no session id and no tenant id other than the caller's;
(b) an identity key with a foreign or non-scalar value anywhere in the body, query, path or
    headers (every value of a repeated one) is a 403 with a ``tenant.spoof_rejected`` record;
(c) what the upstream receives parses to exactly the object that was checked.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.adversarial import (
    TENANT_NAMES,
    adversarial_paths,
    encode,
    foreign_values,
    identity_keys,
    nested_body,
)
from support.bff import envelope, memory_bff, proxy_event
from tenantkit.bff.spoofing import accepted_values
from tenantkit.bff.strict_json import MAX_DEPTH, parse
from tenantkit.identity_keys import IdentityKeys

ALICE = envelope()
SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def call(api: Any, event: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        response = api.handle(event, None)
    lines = [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]
    return response, [line for line in lines if line.get("record_type") == "audit"]


def own(field: str) -> str:
    return {"tenant_id": ALICE.tenant_id, "app_id": ALICE.app_id, "principal_id": ALICE.principal_id}[field]


def new_session(api: Any) -> str:
    response, _ = call(api, proxy_event("POST", "/v1/sessions", ALICE))
    assert response["statusCode"] == 201
    return json.loads(response["body"])["session_id"]


def with_multi(event: dict[str, Any], kind: str, name: str, values: list[Any]) -> dict[str, Any]:
    single, multi = ("headers", "multiValueHeaders") if kind == "header" else (
        "queryStringParameters", "multiValueQueryStringParameters")
    event[single] = {**(event.get(single) or {}), name: values[-1]}
    event[multi] = {**(event.get(multi) or {}), name: values}
    return event


@st.composite
def spoofed_requests(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """One request carrying one identity key whose value is not the caller's, somewhere."""
    key, field = draw(identity_keys())
    value = draw(foreign_values(own(field)))
    where = draw(st.sampled_from(["body", "query", "header", "path"]))
    method, path = draw(st.sampled_from([("POST", "/v1/sessions"), ("GET", "/v1/me"),
                                         ("POST", "/v1/sessions/SID/messages")]))
    if where == "body":
        body = draw(nested_body(key, value))
        return where, proxy_event(method, path, ALICE, body=body)
    if where == "path":
        # a dot segment is a 400 of its own (test_dot_segments...); here the value is one segment
        text = value if isinstance(value, str) and value.strip() and "/" not in value else draw(TENANT_NAMES)
        marker = key.replace(" ", "-").replace(".", "_")
        spoof = "/" + encode(marker, draw(st.integers(0, 2))) + "/" + encode(text, draw(st.integers(0, 2)))
        return where, proxy_event(method, "/v1" + spoof + path.removeprefix("/v1"), ALICE)
    # query and headers carry strings: a repeated name mixes the caller's value and the foreign one
    text = value if isinstance(value, str) else json.dumps(value)
    values = draw(st.permutations([own(field)] * draw(st.integers(0, 2)) + [text]))
    name = key if where == "query" else key.replace(" ", "-")
    return where, with_multi(proxy_event(method, path, ALICE), where, name, list(values))


@SETTINGS
@given(spoofed_requests())
def test_b_any_foreign_or_non_scalar_identity_value_is_a_403(request: tuple[str, dict[str, Any]]) -> None:
    _, event = request
    api, dynamo, upstream = memory_bff()
    if "SID" in event["path"]:
        event["path"] = event["path"].replace("SID", new_session(api))
        event["body"] = event["body"] or json.dumps({"text": "hi"})
    sessions_before = len(dynamo.items)
    response, audits = call(api, event)
    assert response["statusCode"] == 403, (event["path"], event["body"], event["multiValueHeaders"])
    assert json.loads(response["body"])["reason"] == "tenant_spoof"
    assert [a["event_type"] for a in audits] == ["tenant.spoof_rejected", "request.completed"]
    assert audits[0]["tenant_id"] == "acme" and audits[0]["outcome"] == "deny"
    assert upstream.requests == [] and len(dynamo.items) == sessions_before


@SETTINGS
@given(adversarial_paths(), st.sampled_from(["GET", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH"]),
       st.dictionaries(st.sampled_from(["X-Tenant-Id", "tid", "Org-Id", "x-app-id"]), TENANT_NAMES, max_size=2))
def test_a_audit_routes_never_carry_ids(generated: tuple[str, set[str]], method: str, headers: dict[str, str]) -> None:
    raw, ids = generated
    api, _, _ = memory_bff()
    _response, audits = call(api, proxy_event(method, raw, ALICE, headers=headers))
    assert audits, "every request is audited"
    for record in audits:
        assert not any(identifier in record["route"] for identifier in ids if identifier != "acme")
        assert not record.get("session_id") or record["session_id"] not in record["route"]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["s", "S", "sessions/", "%73", "%2573"]))
def test_a_session_ids_never_reach_the_route_in_any_spelling(spelling: str) -> None:
    api, _, _ = memory_bff()
    session_id = new_session(api)
    marker = {"s": "session", "S": "SESSIONS", "sessions/": "sessions/", "%73": "%73essions",
              "%2573": "%2573ession"}[spelling]
    response, audits = call(api, proxy_event("POST", f"/v1//{marker}/{session_id}/Messages", ALICE,
                                             body={"text": "x"}))
    assert response["statusCode"] == 200  # the router and the checker see the same path
    assert {a["route"] for a in audits} == {"POST /v1/sessions/{session_id}/messages"}


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10).filter(lambda t: IdentityKeys.build().field_of(t) is None),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(
        st.text(max_size=8).filter(lambda t: IdentityKeys.build().field_of(t) is None), children, max_size=3),
    max_leaves=20)


@SETTINGS
@given(st.dictionaries(st.sampled_from(["text", "input", "meta"]), JSON_VALUES, min_size=1),
       st.sampled_from(["tenant_id", "tenantId", "TID", "app-id", "oid", None]),
       st.sampled_from(["pretty", "compact", "base64"]))
def test_c_the_upstream_receives_exactly_the_checked_object(body: dict[str, Any], own_key: str | None,
                                                            encoding: str) -> None:
    api, _, upstream = memory_bff()
    session_id = new_session(api)
    if own_key:  # an identity key naming the caller is accepted, and forwarded as sent
        field = IdentityKeys.build().field_of(own_key)
        body = {**body, own_key: sorted(accepted_values(ALICE)[field])[0]}
    text = json.dumps(body, indent=2 if encoding == "pretty" else None, ensure_ascii=encoding == "pretty")
    event = proxy_event("POST", f"/v1/sessions/{session_id}/messages", ALICE, raw_body=text)
    if encoding == "base64":
        event["body"], event["isBase64Encoded"] = base64.b64encode(text.encode()).decode(), True
    response, _ = call(api, event)
    assert response["statusCode"] == 200
    forwarded = upstream.requests[-1].payload
    assert json.loads(forwarded) == body and parse(forwarded)[0] == body


@pytest.mark.parametrize("raw", [
    '{"text": "a", "tenant_id": "acme", "tenant_id": "globex"}',  # a first-wins parser would see acme
    '{"text": "a", "tenant_id": "globex", "tenant_id": "acme"}',
    '{"text": NaN}', '{"text": "\\ud800"}', '{"text": 1e999}',
    "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1),
    '{"a":' * MAX_DEPTH + '{"tenant_id": "globex"}' + "}" * MAX_DEPTH,  # too deep to be walked: rejected
])
def test_bodies_the_checker_cannot_vouch_for_are_400_and_never_forwarded(raw: str) -> None:
    api, _, upstream = memory_bff()
    session_id = new_session(api)
    response, audits = call(api, proxy_event("POST", f"/v1/sessions/{session_id}/messages", ALICE, raw_body=raw))
    assert response["statusCode"] == 400 and json.loads(response["body"])["reason"] == "body_malformed"
    assert audits[0]["event_type"] == "request.rejected" and upstream.requests == []


def test_invalid_utf8_in_a_base64_body_is_400() -> None:
    api, _, _upstream = memory_bff()
    event = proxy_event("POST", "/v1/sessions", ALICE)
    event["body"], event["isBase64Encoded"] = base64.b64encode(b'{"t": "\xff"}').decode(), True
    response, _ = call(api, event)
    assert response["statusCode"] == 400 and json.loads(response["body"])["reason"] == "body_malformed"


def test_the_deepest_accepted_body_is_walked_to_the_bottom() -> None:
    api, _, _ = memory_bff()
    deep = {"tenant_id": "globex"}
    for _ in range(MAX_DEPTH - 1):
        deep = {"a": deep}
    response, audits = call(api, proxy_event("POST", "/v1/sessions", ALICE, body=deep))
    assert response["statusCode"] == 403 and audits[0]["event_type"] == "tenant.spoof_rejected"


def test_configured_identity_keys_extend_the_defaults() -> None:
    keys = IdentityKeys.from_setting("tenant_id:team;principal_id:member_ref")
    api, _, _ = memory_bff(identity_keys=keys)
    for extra in ({"Team": "globex"}, {"memberRef": "x"}, {"tid": "globex"}):
        response, _ = call(api, proxy_event("POST", "/v1/sessions", ALICE, body=extra))
        assert response["statusCode"] == 403, extra


def test_dot_segments_are_400_path_malformed_and_audited() -> None:
    api, _, _ = memory_bff()
    response, audits = call(api, proxy_event("GET", "/v1/sessions/%2e%2e/me", ALICE))
    assert response["statusCode"] == 400 and json.loads(response["body"])["reason"] == "path_malformed"
    assert [(a["event_type"], a["route"]) for a in audits] == [
        ("request.rejected", "GET /{malformed_path}"), ("request.completed", "GET /{malformed_path}")]
