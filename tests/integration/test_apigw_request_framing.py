"""The local API Gateway emulator answers every request whose framing is hostile (a
Content-Length that is not a number, negative, or beyond API Gateway's 10 MB payload limit)
with an HTTP status, never a dropped connection, a hang or a memory blow-up, and never
invokes a function for it."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenantkit_local import PROJECT_ROOT
from tenantkit_local.apigw import MAX_PAYLOAD_BYTES, LocalApiGateway
from tenantkit_local.runner import Invocation

pytestmark = pytest.mark.integration


class Recorder:
    def __init__(self, name: str) -> None:
        self.name, self.events = name, []

    def invoke(self, event: dict[str, Any]) -> Invocation:
        self.events.append(event)
        return Invocation(self.name, {"statusCode": 200, "body": "{}"}, None, None, [], 0.0)


@pytest.fixture(scope="module")
def gateway():
    functions = {"AuthorizerFunction": Recorder("AuthorizerFunction"), "BffProxyFunction": Recorder("BffProxyFunction")}
    started = LocalApiGateway(PROJECT_ROOT / "template.yaml", functions).start()  # type: ignore[arg-type]
    yield started, functions
    started.stop()


def raw_request(port: int, content_length: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(b"POST /v1/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer t\r\n"
                           b"Content-Length: " + content_length + b"\r\n\r\n{}")
        connection.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


BAD_LENGTHS = st.one_of(
    st.sampled_from([b"abc", b"-1", b"-0", b"1e3", b" 5 5", b"5, 5", b"0x10", b"+2", b"\xd9\xa3", b"",
                     b"2\r\nContent-Length: 3"]),  # two lengths that disagree
    st.integers(MAX_PAYLOAD_BYTES + 1, 10**30).map(lambda n: str(n).encode()),
    st.integers(31, 6000).map(lambda digits: b"9" * digits),  # past int()'s 4300-digit limit too
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(BAD_LENGTHS)
def test_a_hostile_content_length_is_answered_and_invokes_nothing(gateway, content_length: bytes) -> None:
    server, functions = gateway
    before = {name: len(f.events) for name, f in functions.items()}
    response = raw_request(server.port, content_length)
    status_line, _, rest = response.partition(b"\r\n")
    status = int(status_line.split()[1])
    too_large = content_length.isdigit() and (len(content_length) > 9 or int(content_length) > MAX_PAYLOAD_BYTES)
    assert status == (413 if too_large else 400), (content_length, response[:200])
    assert json.loads(rest.partition(b"\r\n\r\n")[2])["message"]
    assert {name: len(f.events) for name, f in functions.items()} == before
