"""Audit lines are one line each, whatever the text they carry, and survive the SQS path whole.

A line is ASCII-escaped JSON (U+2028, U+2029, U+0085 and the control characters are escapes,
never the characters), and the sink splits an SQS body on ``\\n`` only, or takes it as one JSON
array or one (pretty-printed) JSON object: a record is never split in two and never merged.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import io
import json
import tempfile
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from support.audit import sqs_event
from tenantkit.audit import emit_audit
from tenantkit.audit.sink import AuditSink, _sqs_lines
from tenantkit.audit.storage import LocalStorage
from tenantkit.observability.redaction import dumps_redacted

# Every character some reader treats as a line break, plus non-ASCII and JSON-special ones. The
# letters cannot spell a redaction trigger, so the text must come back exactly as written.
LINE_BREAKERS = ["\n", "\r", "\r\n", "\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e"]
texts = st.lists(st.one_of(st.sampled_from(LINE_BREAKERS), st.sampled_from(["é", "日本", "😀", "\u200b", "\ufeff"]),
                           st.sampled_from(['"', "\\", "{", "}", "[", "]", "/", ",", ":"]),
                           st.text(alphabet="xyzXYZ0123 ", max_size=6)), max_size=12).map("".join)


def emitted(route: str, agent_name: str) -> tuple[str, dict[str, Any]]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        record = emit_audit("request.completed", "success", "http_200", route=f"GET /v1/{route}"[:300],
                            status=200, agent_name=agent_name[:128] or None, tenant_id="acme", app_id="portal")
    return out.getvalue(), json.loads(record.model_dump_json())


@settings(max_examples=150, deadline=None)
@given(route=texts, agent_name=texts)
def test_an_audit_line_is_one_ascii_line_whatever_it_carries(route, agent_name):
    text, record = emitted(route, agent_name)
    assert text.endswith("\n") and text.count("\n") == 1
    line = text[:-1]
    assert line.isascii()
    assert len(line.splitlines()) == 1 and len(line.split("\x85")) == 1  # no reader finds a break in it
    assert json.loads(line) == record


@settings(max_examples=100, deadline=None)
@given(record=st.dictionaries(st.text(alphabet="abxyz", max_size=5), texts, max_size=4))
def test_every_log_line_is_ascii(record):
    line = dumps_redacted(record)
    assert line.isascii() and len(line.splitlines()) == 1
    assert json.loads(line) == record


def _stored(sink_root: str) -> list[dict[str, Any]]:
    storage = LocalStorage(sink_root)
    rows: list[dict[str, Any]] = []
    for key in sorted(storage.list("raw/")):
        rows.extend(json.loads(line) for line in gzip.decompress(storage.get(key)).decode().split("\n") if line)
    return rows


QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:tenantkit-audit"
BODY_FORMS = ["json-lines", "crlf-lines", "array", "pretty-array", "one-pretty-object", "one-raw-unicode-object"]


@settings(max_examples=60, deadline=None)
@given(routes=st.lists(st.tuples(texts, texts), min_size=1, max_size=4), form=st.sampled_from(BODY_FORMS))
def test_sqs_round_trip_keeps_every_record_whole(routes, form):
    produced = [emitted(route, agent) for route, agent in routes]
    if form.startswith("one-"):
        produced = produced[:1]
    lines = [text.rstrip("\n") for text, _ in produced]
    records = [json.loads(line) for line in lines]
    body = {
        "json-lines": "\n".join(lines) + "\n",
        "crlf-lines": "\r\n".join(lines),
        "array": json.dumps(records),
        "pretty-array": json.dumps(records, indent=2, ensure_ascii=False),
        "one-pretty-object": json.dumps(records[0], indent=2),
        # a producer outside our emitter may write the characters raw: still one record
        "one-raw-unicode-object": json.dumps(records[0], ensure_ascii=False),
    }[form]
    # Delivered a second after the last record was written: within the sink's ts bounds, so any
    # quarantine here would be the body split wrongly (a record cut in two or merged).
    arrival = max(dt.datetime.fromisoformat(r["ts"]) for r in records) + dt.timedelta(seconds=1)
    event = sqs_event([("m-1", body)], arrival_ms=int(arrival.timestamp() * 1000), queue_arn=QUEUE_ARN)
    with tempfile.TemporaryDirectory() as root:
        result = AuditSink(LocalStorage(root)).handle(event)
        assert result == {"batchItemFailures": []}
        stored = _stored(root)
        assert not LocalStorage(root).list("quarantine/")
    # Each stored line is the producer's record, whole, plus the sink's provenance stamp.
    received_at = arrival.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    provenance = {"received_from": QUEUE_ARN, "received_via": "sqs", "received_at": received_at}
    expected = [{**r, **provenance} for _, r in produced]
    assert sorted(stored, key=lambda r: r["event_id"]) == sorted(expected, key=lambda r: r["event_id"])


def test_sqs_lines_split_on_newline_only():
    one = json.dumps({"route": "GET /a\u2028b\u2029c\x85d\re"}, ensure_ascii=False)
    assert _sqs_lines(one) == [one]
    assert _sqs_lines(f"{one}\n{one}\n") == [one, one]
    pretty = json.dumps({"a": 1, "b": {"c": "x\u2028y"}}, indent=2, ensure_ascii=False)
    assert _sqs_lines(pretty) == [pretty]
    assert _sqs_lines("[1, {\"a\": 2}]") == ["1", '{"a": 2}']
    assert _sqs_lines("[broken") == ["[broken"]  # quarantined whole, never guessed at
