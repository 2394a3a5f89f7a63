"""Fetching a JWKS document over HTTP(S): bounded in time and size, nothing else.

The timeout is a deadline for the whole fetch (connect, headers and every body read), not a
per-read timeout: a server dripping one byte at a time cannot hold a cold start hostage.
Redirects are not followed (a JWKS URI is pinned configuration; following a redirect would let
whoever controls it choose our keys) and no proxy from the environment is used.
"""

from __future__ import annotations

import http.client
import ssl
import time
from typing import Protocol
from urllib.parse import urlsplit

from tenantkit.exceptions import JwksUnavailableError

__all__ = [
    "JwksFetcher",
    "UrllibFetcher",
]

_CHUNK = 16 * 1024


class JwksFetcher(Protocol):
    def fetch(self, uri: str) -> bytes:
        """Return the raw document or raise :class:`JwksUnavailableError`."""


class UrllibFetcher:
    """Default fetcher: stdlib ``http.client`` only (no requests in the layer)."""

    def __init__(self, *, timeout_seconds: float = 1.5, max_bytes: int = 256 * 1024) -> None:
        self._timeout = timeout_seconds
        self._max_bytes = max_bytes
        self._tls = ssl.create_default_context()

    def fetch(self, uri: str) -> bytes:
        parts = urlsplit(uri)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise JwksUnavailableError("JWKS URI must be http(s)")
        deadline = time.monotonic() + self._timeout
        if parts.scheme == "https":
            connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                parts.hostname, parts.port, timeout=self._timeout, context=self._tls)
        else:
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=self._timeout)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            connection.request("GET", target, headers={"Accept": "application/json"})
            self._bound(connection, deadline)
            response = connection.getresponse()
            if response.status != 200:
                raise JwksUnavailableError(f"JWKS fetch returned HTTP {response.status}")
            body = bytearray()
            while True:
                self._bound(connection, deadline)
                chunk = response.read1(_CHUNK)
                if not chunk:
                    break
                body.extend(chunk)
                if len(body) > self._max_bytes:
                    raise JwksUnavailableError("JWKS document exceeds the size limit")
            return bytes(body)
        except JwksUnavailableError:
            raise
        except Exception as exc:  # refused, reset, TLS, timeouts, malformed HTTP
            raise JwksUnavailableError(f"JWKS fetch failed: {type(exc).__name__}") from None
        finally:
            connection.close()

    @staticmethod
    def _bound(connection: http.client.HTTPConnection, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise JwksUnavailableError("JWKS fetch exceeded its deadline")
        if connection.sock is not None:
            connection.sock.settimeout(remaining)
