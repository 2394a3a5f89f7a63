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

    def invoke(self, event: dict[str, Any], environ: dict[str, str] | None = None) -> Invocation:
        self.events.append(event)
        if self.name == "AuthorizerFunction":  # allow every route
            arn = event["methodArn"].split("/", 1)[0] + "/*"
            return Invocation(self.name, {"principalId": "p", "context": {}, "policyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": arn}]}}, None, None, [],
                0.0)
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


def chunked(body: bytes, sizes: list[int]) -> bytes:
    out, rest = [], body
    for size in sizes:
        if not rest:
            break
        piece, rest = rest[:size], rest[size:]
        out.append(b"%x;ext=1\r\n%s\r\n" % (len(piece), piece))
    if rest:
        out.append(b"%X\r\n%s\r\n" % (len(rest), rest))
    return b"".join(out) + b"0\r\nX-Trailer: t\r\n\r\n"


def raw_chunked(port: int, framed: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(b"POST /v1/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer t\r\n"
                           b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + framed)
        connection.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(min_size=1, max_size=300).map(lambda b: json.dumps({"tenant_id": b.hex()}).encode()),
       st.lists(st.integers(1, 64), max_size=8))
def test_a_chunked_body_reaches_the_function_whole(gateway, body: bytes, sizes: list[int]) -> None:
    # a body the checker never saw must not exist: what is sent chunked is handed over whole
    server, functions = gateway
    response = raw_chunked(server.port, chunked(body, sizes))
    assert response.startswith(b"HTTP/1.0 200"), response[:200]
    assert functions["BffProxyFunction"].events[-1]["body"] == body.decode()


@pytest.mark.parametrize("framed", [b"zz\r\n{}\r\n0\r\n\r\n", b"2\r\n{}", b"-2\r\n{}\r\n0\r\n\r\n",
                                    b"5\r\n{}\r\n0\r\n\r\n", b"%x\r\n" % (MAX_PAYLOAD_BYTES + 1)])
def test_a_malformed_or_oversized_chunked_body_is_refused(gateway, framed: bytes) -> None:
    server, functions = gateway
    before = len(functions["BffProxyFunction"].events)
    response = raw_chunked(server.port, framed)
    status = int(response.split(b" ", 2)[1])
    assert status == (413 if framed.startswith(b"%x" % (MAX_PAYLOAD_BYTES + 1)) else 400), response[:200]
    assert len(functions["BffProxyFunction"].events) == before


def raw_get(port: int, target: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer t\r\n\r\n")
        connection.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.from_regex(r"[a-z0-9.-]{1,20}", fullmatch=True), st.sampled_from(["/v1/me", "/v1/sessions", "/v1/x?a=1"]))
def test_a_path_starting_with_two_slashes_is_a_path_not_a_host(gateway, host: str, rest: str) -> None:
    # "//evil/v1/me" is the path "//evil/v1/me" (no resource matches it), never host "evil" + "/v1/me"
    server, functions = gateway
    before = len(functions["BffProxyFunction"].events)
    response = raw_get(server.port, f"//{host}{rest}".encode())
    assert response.split(b" ", 2)[1] == b"403", response[:200]
    assert b"Missing Authentication Token" in response
    assert len(functions["BffProxyFunction"].events) == before
