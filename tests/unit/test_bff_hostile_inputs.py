"""Hostile requests found by review: each class of input that once slipped through (an audit
route carrying request text, an identity name hidden by an encoding, nested-key notation or
look-alike letters, a request the BFF answered with a 500) as a property over the whole class."""

from __future__ import annotations

import contextlib
import io
import json
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from support.adversarial import TENANT_NAMES, identity_keys
from support.bff import envelope, memory_bff, proxy_event
from tenantkit import paths
from tenantkit.identity_keys import DEFAULT_KEYS

ALICE = envelope()
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def call(api: Any, event: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        response = api.handle(event, None)
    lines = [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]
    return response, [line for line in lines if line.get("record_type") == "audit"]


# --- audit routes: a request segment that looks like an API Gateway template ---------------

@SETTINGS
@given(TENANT_NAMES, st.sampled_from(["{%s}", "{%s+}", "%%7B%s%%7D", "%%257B%s%%257D"]),
       st.sampled_from(["GET", "POST", "DELETE"]))
def test_a_request_segment_in_braces_never_reaches_the_audit_route(name: str, shape: str, method: str) -> None:
    api, _, _ = memory_bff()
    _response, audits = call(api, proxy_event(method, "/v1/" + shape % name + "/me", ALICE))
    assert audits
    for record in audits:
        assert name not in record["route"], record["route"]


def test_resource_templates_stay_in_the_authorizer_route() -> None:
    assert paths.template_of("GET", "/v1/{proxy+}", resource=True) == "GET /v1/{proxy+}"
    assert paths.template_of("GET", "/v1/{proxy+}") == "GET /v1/{segment}"


# --- identity names behind an encoding, nested-key notation or look-alike letters -------------

def _hide(name: str, how: str) -> str:
    if how == "percent":
        return quote(name, safe="").replace("_", "%5F").replace("-", "%2D")
    if how == "double_percent":
        return quote(quote(name, safe="").replace("_", "%5F"), safe="")
    if how == "bracket":
        return f"filter[{name}]"
    if how == "dotted_path":
        return f"where.{name}"
    if how == "nested_bracket":
        return f"q[and][{name}]"
    raise AssertionError(how)


HIDINGS = st.sampled_from(["percent", "double_percent", "bracket", "dotted_path", "nested_bracket"])

# Latin letters and non-Latin letters drawn like them (pairs listed in UTS #39 confusables)
LOOK_ALIKES = {"a": "\u0430", "e": "\u0435", "o": "\u03bf", "p": "\u0440", "c": "\u03f2", "i": "\u0456",
               "n": "\u0578", "d": "\u0501", "r": "\u0433", "u": "\u057d", "s": "\u0455"}


@SETTINGS
@given(identity_keys(), HIDINGS, st.sampled_from(["query", "body", "header"]), TENANT_NAMES)
def test_an_identity_name_behind_encoding_or_nesting_notation_is_still_checked(
        key_field: tuple[str, str], how: str, where: str, foreign: str) -> None:
    key, _field = key_field
    name = _hide(key.replace(" ", "_"), how)
    assume(where != "header" or "percent" not in how)  # a header name is a token, never percent-decoded
    api, _, upstream = memory_bff()
    if where == "query":
        event = proxy_event("GET", "/v1/me", ALICE, query={name: foreign})
    elif where == "header":
        event = proxy_event("GET", "/v1/me", ALICE, headers={name: foreign})
    else:
        event = proxy_event("POST", "/v1/sessions", ALICE, body={"text": "hi", "meta": {name: foreign}})
    response, audits = call(api, event)
    assert response["statusCode"] == 403, (where, name)
    assert audits[0]["event_type"] == "tenant.spoof_rejected"
    assert upstream.requests == []


@SETTINGS
@given(identity_keys(), st.data(), TENANT_NAMES)
def test_an_identity_name_in_look_alike_letters_is_still_checked(key_field: tuple[str, str], data: st.DataObject,
                                                                 foreign: str) -> None:
    key, field = key_field
    positions = [i for i, c in enumerate(key) if c.lower() in LOOK_ALIKES]
    if not positions:
        return
    chosen = data.draw(st.sets(st.sampled_from(positions), min_size=1))
    disguised = "".join(LOOK_ALIKES[c.lower()] if i in chosen else c for i, c in enumerate(key))
    assert DEFAULT_KEYS.field_of(disguised) == field, disguised
    api, _, _ = memory_bff()
    response, audits = call(api, proxy_event("POST", "/v1/sessions", ALICE, body={disguised: foreign}))
    assert response["statusCode"] == 403 and audits[0]["event_type"] == "tenant.spoof_rejected"


@SETTINGS
@given(identity_keys(), st.sampled_from(["version", "count", "theme", "locale"]),
       st.sampled_from(["{0}.{1}", "{0}[{1}]", "{0}.{1}[x]", "x.{0}.{1}"]))
def test_a_nested_key_inside_an_identity_container_is_no_claim(key_field: tuple[str, str], member: str,
                                                                shape: str) -> None:
    # only the member a nested key ends with is read: app.version names a version, not an app
    key = key_field[0].replace(" ", "_").replace(".", "_")
    assert DEFAULT_KEYS.field_of(shape.format(key, member)) is None


# --- never a 500 ------------------------------------------------------------------------------

@SETTINGS
@given(st.one_of(st.none(), st.integers(), st.text(max_size=10), st.lists(st.text(max_size=3), max_size=2)))
def test_any_http_method_value_is_answered_without_a_500(method: Any) -> None:
    api, _, _ = memory_bff()
    event = proxy_event("GET", "/v1/me", ALICE)
    event["httpMethod"] = method
    event["requestContext"]["httpMethod"] = method
    response, audits = call(api, event)
    assert response["statusCode"] < 500, method
    assert audits and audits[-1]["event_type"] == "request.completed"


# --- memory: the name caches never keep a hostile, huge name -----------------------------------

@settings(max_examples=20, deadline=None)
@given(st.integers(300, 200_000), st.sampled_from(["tenant_id", "x", "filter[org]"]))
def test_a_huge_name_is_read_but_never_retained_by_a_cache(length: int, tail: str) -> None:
    from tenantkit import identity_keys

    name = "a" * length + "." + tail
    expected = DEFAULT_KEYS.field_of(tail)  # the short name may be cached
    before = identity_keys.spellings_cache_size()
    assert DEFAULT_KEYS.field_of(name) == expected
    assert identity_keys.spellings_cache_size() == before


# --- identity names inside the Cookie header ---------------------------------------------------

@SETTINGS
@given(identity_keys(), TENANT_NAMES, st.lists(st.from_regex(r"[a-z]{3,8}=[A-Za-z0-9]{1,8}", fullmatch=True),
                                              max_size=3), st.sampled_from(["Cookie", "cookie", "COOKIE"]))
def test_an_identity_cookie_naming_another_tenant_is_a_403(key_field: tuple[str, str], foreign: str,
                                                           others: list[str], header: str) -> None:
    key, _ = key_field
    key = key.replace(" ", "_")  # a cookie name is a token
    cookie = "; ".join([*others, f"{key}={foreign}"])
    api, _, _ = memory_bff()
    event = proxy_event("GET", "/v1/me", ALICE, headers={header: cookie})
    event["headers"] = {k: v for k, v in event["headers"].items() if k == header or k.lower() != "cookie"}
    event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
    response, audits = call(api, event)
    assert response["statusCode"] == 403, cookie
    assert audits[0]["event_type"] == "tenant.spoof_rejected"


def test_cookies_naming_the_caller_or_nothing_are_accepted() -> None:
    api, _, _ = memory_bff()
    for cookie in ("tenant_id=acme; app=portal", "portal_session=x; theme=dark", "", "=; ;;"):
        response, _ = call(api, proxy_event("GET", "/v1/me", ALICE, headers={"Cookie": cookie}))
        assert response["statusCode"] == 200, cookie


# --- never a 500, whatever arrives over HTTP ----------------------------------------------------

HTTP_TEXT = st.text(st.characters(codec="latin-1", exclude_characters="\r\n"), max_size=40)
JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                       lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
                       max_leaves=12)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(method=st.sampled_from(["GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS"]),
       path=st.lists(st.one_of(st.sampled_from(["v1", "sessions", "me", "messages", "tenant", "%2e", "%252F",
                                                 "%ff", "{x}", "s_" + "A" * 43]), HTTP_TEXT), max_size=6),
       query=st.dictionaries(HTTP_TEXT, st.lists(HTTP_TEXT, min_size=1, max_size=3), max_size=4),
       headers=st.dictionaries(st.from_regex(r"[A-Za-z0-9_.\[\]-]{1,20}", fullmatch=True), HTTP_TEXT, max_size=4),
       body=st.one_of(st.none(), st.binary(max_size=64), JSONISH.map(lambda v: json.dumps(v).encode())),
       content_type=st.sampled_from([None, "application/json", "text/plain", "application/json; charset=latin1",
                                     "application/json; charset", ";", "APPLICATION/JSON;CHARSET=UTF-8"]))
def test_no_http_request_is_answered_with_a_500(method: str, path: list[str], query: dict[str, list[str]],
                                                headers: dict[str, str], body: bytes | None,
                                                content_type: str | None) -> None:
    import base64

    api, _, _ = memory_bff()
    event = proxy_event(method, "/" + "/".join(path), ALICE, headers=headers)
    if content_type is None:
        event["headers"].pop("Content-Type", None)
    else:
        event["headers"]["Content-Type"] = content_type
    event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
    event["queryStringParameters"] = {k: v[-1] for k, v in query.items()} or None
    event["multiValueQueryStringParameters"] = query or None
    if body is not None:
        try:
            event["body"], event["isBase64Encoded"] = body.decode("utf-8"), False
        except UnicodeDecodeError:
            event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
    response, audits = call(api, event)
    assert response["statusCode"] < 500, (event["path"], event["body"])
    assert audits and audits[-1]["event_type"] == "request.completed"
    vocabulary = {*paths.ROUTE_WORDS.values(), *paths.MARKER_WORDS.values(), "{session_id}", "{tenant_id}",
                  "{app_id}", "{principal_id}", "{segment}", "{more}", "{malformed_path}"}
    for record in audits:  # the route is built from the vocabulary alone: no request text
        verb, _, route = record["route"].partition(" /")
        assert verb in paths.HTTP_METHODS | {"OTHER"}
        assert set(route.split("/")) - {""} <= vocabulary, record["route"]


@SETTINGS
@given(identity_keys(), st.integers(0, 400), st.sampled_from(["[{}]", ".{}", "\uff3b{}\uff3d", "\uff0e{}"]))
def test_look_alikes_are_read_in_the_member_however_long_the_container(key_field: tuple[str, str], prefix: int,
                                                                        shape: str) -> None:
    key, field = key_field
    key = key.replace(" ", "_").replace(".", "_")
    disguised = "".join(LOOK_ALIKES.get(c, c) for c in key)  # lowercase letters only: the rest stay
    name = "p" * prefix + shape.format(disguised)
    assert DEFAULT_KEYS.field_of(name) == field, name


@SETTINGS
@given(identity_keys(), st.integers(1, 120), st.sampled_from(["\u200b", "\u00ad", "_", "-", "\u2060", "\ufe0f"]))
def test_look_alikes_are_read_however_much_invisible_padding_surrounds_them(key_field: tuple[str, str],
                                                                            padding: int, pad: str) -> None:
    key, field = key_field
    disguised = "".join(LOOK_ALIKES.get(c, c) for c in key.replace(" ", "_"))
    name = pad.join(disguised) + pad * padding
    assert DEFAULT_KEYS.field_of(name) == field, name
