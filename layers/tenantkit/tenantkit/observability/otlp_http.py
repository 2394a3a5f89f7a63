"""A pipelined HTTP/1.1 POST connection for OTLP export, every socket operation under a deadline.

``send`` writes one request and returns; answers are read once ``max_in_flight`` are
outstanding (every answer that has arrived, waiting for the oldest until the deadline if it has
not), or by ``collect`` (tests, shutdown). HTTP/1.1 lets a client send the next request before reading the previous
answer (pipelining); collectors answer them in order. So an invocation never waits for the
collector's round trip unless the collector falls ``max_in_flight`` answers behind.
"""

from __future__ import annotations

import select
import socket
import time
from typing import Any

from tenantkit.observability.exceptions import CollectorTimeoutError

__all__ = ["MAX_IN_FLIGHT", "CollectorTimeoutError", "PipelinedHttpConnection"]

MAX_IN_FLIGHT = 4
_MAX_HEADER_BYTES = 65536


class PipelinedHttpConnection:
    def __init__(self, host: str, port: int, path: str, *, https: bool, max_in_flight: int = MAX_IN_FLIGHT) -> None:
        self.host, self.port, self.path, self.https = host, port, path, https
        self.max_in_flight = max_in_flight
        self._request_line = f"POST {path} HTTP/1.1\r\nHost: {host}:{port}"
        self._sock: socket.socket | None = None
        self._buffer = b""
        self.in_flight = 0

    def post(self, body: bytes, headers: dict[str, str], deadline: float) -> list[int]:
        """Send one request; return the statuses of the earlier requests answered meanwhile."""
        # Answers are read once max_in_flight are outstanding (all that have arrived, the oldest
        # waited for): a drain at every send would cost a select and a recv per request.
        statuses = self.collect(deadline, wait_for=self.in_flight - self.max_in_flight + 1) \
            if self.in_flight >= self.max_in_flight else []
        sock = self._connect(deadline)
        lines = [self._request_line]
        lines += [f"{name}: {value}" for name, value in headers.items() if name.lower() != "host"]
        _bound(sock, deadline)
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        self.in_flight += 1
        return statuses

    def collect(self, deadline: float, *, wait_for: int = 0) -> list[int]:
        """Answers available now, waiting (until ``deadline``) for at least ``wait_for`` of them."""
        statuses: list[int] = []
        while self.in_flight and self._sock is not None:
            answer = self._parse_one()
            if answer is not None:
                statuses.append(answer[0])
                self.in_flight -= 1
                if answer[1]:  # "Connection: close": later requests on it are lost, start afresh
                    self.close()
                continue
            must_wait = len(statuses) < wait_for
            remaining = deadline - time.monotonic() if must_wait else 0.0
            if must_wait and remaining <= 0:
                raise CollectorTimeoutError("collector answer not in time")
            if not self._readable(remaining):
                if must_wait:
                    raise CollectorTimeoutError("collector answer not in time")
                break
            self._sock.settimeout(max(remaining, 0.001))
            chunk = self._sock.recv(65536)
            if not chunk:
                raise ConnectionResetError("collector closed the connection")
            self._buffer += chunk
        return statuses

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
        self._sock, self._buffer, self.in_flight = None, b"", 0

    def _connect(self, deadline: float) -> socket.socket:
        if self._sock is not None:
            return self._sock
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise CollectorTimeoutError("flush deadline passed before connecting")
        sock = socket.create_connection((self.host, self.port), timeout=remaining)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.https:
            import ssl  # only for an https endpoint (the X-Ray OTLP endpoint): ~5 ms of cold start

            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self.host)
        self._sock, self._buffer = sock, b""
        return sock

    def _readable(self, timeout: float) -> bool:
        assert self._sock is not None
        pending: Any = getattr(self._sock, "pending", None)  # an ssl.SSLSocket may hold decrypted bytes
        if pending is not None and pending():
            return True
        ready, _, _ = select.select([self._sock], [], [], max(timeout, 0.0))
        return bool(ready)

    def _parse_one(self) -> tuple[int, bool] | None:
        """One complete response off the buffer (status, connection closes), or None if partial."""
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buffer) > _MAX_HEADER_BYTES:
                raise ConnectionError("collector answer headers too large")
            return None
        head = self._buffer[:end].decode("latin-1").split("\r\n")
        status = int(head[0].split()[1])
        fields = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:])}
        start = end + 4
        if fields.get("transfer-encoding", "").lower() == "chunked":
            consumed = _chunked_length(self._buffer, start)
            if consumed is None:
                return None
            self._buffer = self._buffer[consumed:]
        else:
            length = _decimal(fields.get("content-length", "0") or "0")
            if len(self._buffer) < start + length:
                return None
            self._buffer = self._buffer[start + length:]
        return status, fields.get("connection", "").lower() == "close"


def _chunked_length(buffer: bytes, start: int) -> int | None:
    """End offset of a complete chunked body starting at ``start``, or None if incomplete."""
    position = start
    while True:
        line_end = buffer.find(b"\r\n", position)
        if line_end < 0:
            return None
        size = _hexadecimal(buffer[position:line_end].split(b";")[0].strip() or b"0")
        position = line_end + 2
        if size == 0:
            trailer_end = buffer.find(b"\r\n", position)
            return None if trailer_end < 0 else trailer_end + 2
        if len(buffer) < position + size + 2:
            return None
        position += size + 2


def _hexadecimal(token: bytes) -> int:
    """RFC 9112 chunk-size, 1*HEXDIG: ``int(token, 16)`` alone also reads "-6" (a parse that
    steps back and loops forever), "0x1f", "+1" and "1_0"."""
    if not token or token.strip(b"0123456789abcdefABCDEF"):
        raise ConnectionError("collector answer has a malformed chunk size")
    return int(token, 16)


def _decimal(text: str) -> int:
    """Content-Length, 1*DIGIT (``int`` alone reads "-5", "+5" and "1_0")."""
    if not text.isascii() or not text.isdigit():
        raise ConnectionError("collector answer has a malformed Content-Length")
    return int(text)


def _bound(sock: socket.socket, deadline: float) -> None:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise CollectorTimeoutError("flush deadline passed")
    sock.settimeout(remaining)
