"""Strict RFC 8259 bodies: every non-JSON class is rejected, and what is forwarded (the canonical
re-serialization) parses back to exactly the checked value."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantkit.bff.exceptions import MalformedJsonError
from tenantkit.bff.strict_json import MAX_DEPTH, canonical, nesting_depth, parse

JSON_SCALARS = (st.none() | st.booleans() | st.integers(min_value=-(10**30), max_value=10**30)
                | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12))
JSON_VALUES = st.recursive(JSON_SCALARS, lambda children: st.lists(children, max_size=4)
                           | st.dictionaries(st.text(max_size=8), children, max_size=4), max_leaves=25)


@pytest.mark.parametrize("body", [
    b'{"a": NaN}', b'{"a": Infinity}', b'{"a": -Infinity}', b"NaN", b"[1e400]", b"-1e999",
    b'{"tenant_id": "acme", "tenant_id": "globex"}',
    b'{"x": {"y": [{"k": 1, "k": 2}]}}',
    b'{"a": 1, "\\u0061": 2}',  # the same name, escaped
    b'{"t": "\\ud800"}', b'{"t": "\\udfff x"}', b'{"\\udc00": 1}', b'["\\ud83d"]',
    b'{"t": "\xed\xa0\x80"}',  # a raw (UTF-8 encoded) surrogate
    b'{"t": "\xff"}', b'{"t": "\xc0\xaf"}', b'{"t": "\xe2\x82"}',  # invalid / overlong / truncated UTF-8
    b'\xef\xbb\xbf{"a": 1}',  # BOM
    "{\"a\": 1}".encode("utf-16"),
    b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1),
    b'{"a":' * (MAX_DEPTH + 1) + b"1" + b"}" * (MAX_DEPTH + 1),
    b"[" * 100_000,
    b'{"a": "tab\there"}', b"{'a': 1}", b'{"a": 1,}', b"[1,]", b"01", b"", b"  ", b'{"a":1} x',
])
def test_not_rfc_8259_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedJsonError) as raised:
        parse(body)
    assert raised.value.reason == "body_malformed"


def test_depth_limit_is_exact() -> None:
    deepest = b"[" * MAX_DEPTH + b"]" * MAX_DEPTH
    value, _ = parse(deepest)
    assert nesting_depth(value) == MAX_DEPTH


def test_paired_surrogates_and_unicode_are_valid() -> None:
    value, forwarded = parse(b'{"t": "\\ud83d\\ude00 caf\xc3\xa9"}')
    assert value == {"t": "\U0001F600 café"} and json.loads(forwarded) == value


def test_forwarded_bytes_are_canonical_not_the_raw_body() -> None:
    value, forwarded = parse(b'{ "b" : [1, 2.50, "x"],\n "a": {"c": null}}')
    assert forwarded == b'{"b":[1,2.5,"x"],"a":{"c":null}}'
    assert json.loads(forwarded) == value


@settings(max_examples=150, deadline=None)
@given(JSON_VALUES)
def test_forwarded_bytes_parse_to_exactly_the_checked_value(value: object) -> None:
    raw = json.dumps(value, indent=1).encode()
    checked, forwarded = parse(raw)
    assert checked == value
    assert parse(forwarded)[0] == checked  # the strict parser accepts its own output
    assert json.loads(forwarded) == checked and forwarded == canonical(checked)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text(max_size=6), JSON_SCALARS, min_size=1, max_size=5), st.data())
def test_any_duplicate_member_is_malformed(obj: dict, data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(obj)))
    members = [json.dumps(k) + ":" + json.dumps(v) for k, v in obj.items()]
    members.insert(data.draw(st.integers(0, len(members))), json.dumps(name) + ":" + json.dumps("dup"))
    wrapped = "{" + ",".join(members) + "}"
    for _ in range(data.draw(st.integers(0, 5))):
        wrapped = data.draw(st.sampled_from(['{"k":%s}', "[%s]", '[1,{"z":%s}]'])) % wrapped
    with pytest.raises(MalformedJsonError):
        parse(wrapped.encode())


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0xD800, max_value=0xDFFF), st.integers(0, 3))
def test_any_lone_surrogate_escape_is_malformed(code: int, depth: int) -> None:
    body = f'{{"k":"a\\u{code:04x}"}}'
    for _ in range(depth):
        body = f"[{body}]"
    with pytest.raises(MalformedJsonError):
        parse(body.encode())
