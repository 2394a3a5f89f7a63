"""The pipelined OTLP connection reads a collector's answers with a bounded, forward-only parse.

Answers are framed by ``Content-Length`` or chunked encoding; a malformed frame from a broken
collector must end the connection (the exporter drops the batch and starts afresh), never loop
or step the buffer backwards into bytes already read (which would misattribute answers).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantkit.observability.otlp_http import PipelinedHttpConnection, _chunked_length

SIZE_TOKENS = st.one_of(st.integers(0, 40).map(lambda n: f"{n:x}"), st.integers(-40, -1).map(str),
                        st.sampled_from(["0x3", "+3", "1_0", " 3", "3 ", "", "g", "-0", "00", "A", "3;ext=1"]),
                        st.text(alphabet="0123456789abcdefx+-_ ;", max_size=5))
HEADERS = st.lists(st.sampled_from(["Content-Length: 3", "Content-Length: -5", "Content-Length: +3",
                                    "Content-Length: 1_0", "Content-Length: ", "Content-Length: 0x3",
                                    "Transfer-Encoding: chunked", "Connection: close"]), max_size=3)


@st.composite
def chunked_bodies(draw: Any) -> bytes:
    parts = []
    for _ in range(draw(st.integers(0, 4))):
        token = draw(SIZE_TOKENS)
        parts.append(token.encode() + b"\r\n" + draw(st.binary(max_size=12)) + b"\r\n")
    return b"".join(parts) + draw(st.sampled_from([b"0\r\n\r\n", b"", b"0\r\n"]))


def _within(seconds: float, call: Callable[[], Any]) -> Any:
    """``call()`` in a watchdog thread: an endless parse fails the test instead of hanging it."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except Exception as error:  # the parse's own verdict, compared by the caller
            outcome["error"] = error

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), "the parse did not terminate"
    return outcome


@settings(max_examples=300, deadline=None)
@given(chunked_bodies(), st.integers(0, 3))
def test_a_chunked_body_parse_ends_ahead_of_where_it_started_or_refuses(body, start):
    buffer = b"x" * start + body
    outcome = _within(2.0, lambda: _chunked_length(buffer, start))
    if "error" in outcome:
        assert isinstance(outcome["error"], ConnectionError)
    elif outcome["value"] is not None:
        assert start < outcome["value"] <= len(buffer)


def test_a_negative_chunk_size_is_refused_not_looped_on():
    outcome = _within(2.0, lambda: _chunked_length(b"-6\r\nabcdef", 0))
    assert isinstance(outcome.get("error"), ConnectionError)


@settings(max_examples=300, deadline=None)
@given(HEADERS, st.one_of(chunked_bodies(), st.binary(max_size=12)), st.integers(1, 3))
def test_an_answer_parse_only_consumes_forward(headers, body, answers):
    connection = PipelinedHttpConnection("127.0.0.1", 9, "/v1/traces", https=False)
    answer = ("HTTP/1.1 200 OK\r\n" + "".join(f"{h}\r\n" for h in headers) + "\r\n").encode() + body
    connection._buffer = answer * answers
    consumed = 0
    for _ in range(answers):
        before = len(connection._buffer)
        outcome = _within(2.0, connection._parse_one)
        if "error" in outcome:  # a garbled answer: the exporter closes the connection on any error
            assert isinstance(outcome["error"], Exception)
            return
        if outcome["value"] is None:
            assert len(connection._buffer) == before  # a partial answer waits, unconsumed
            return
        assert len(connection._buffer) < before  # every answer read moves past its own bytes
        consumed += before - len(connection._buffer)
    assert consumed <= len(answer) * answers


@pytest.mark.parametrize("length", ["-5", "+3", "1_0", "0x3", " 3x"])
def test_a_malformed_content_length_ends_the_connection(length):
    connection = PipelinedHttpConnection("127.0.0.1", 9, "/v1/traces", https=False)
    connection._buffer = f"HTTP/1.1 200 OK\r\nContent-Length: {length}\r\n\r\nabcdefgh".encode()
    with pytest.raises(ConnectionError):
        connection._parse_one()
