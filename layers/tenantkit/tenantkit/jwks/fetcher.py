"""Fetching a JWKS document over HTTP(S): bounded in time and size, nothing else."""

from __future__ import annotations

import urllib.request
from typing import Protocol
from urllib.parse import urlsplit

from tenantkit.exceptions import JwksUnavailableError


class JwksFetcher(Protocol):
    def fetch(self, uri: str) -> bytes:
        """Return the raw document or raise :class:`JwksUnavailableError`."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A JWKS URI is pinned configuration; following a redirect would let whoever controls
    # the redirect choose our keys.
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


class UrllibFetcher:
    """Default fetcher: stdlib only (no requests in the layer), no redirects, no proxies."""

    def __init__(self, *, timeout_seconds: float = 1.5, max_bytes: int = 256 * 1024) -> None:
        self._timeout = timeout_seconds
        self._max_bytes = max_bytes
        self._opener = urllib.request.build_opener(_NoRedirect, urllib.request.ProxyHandler({}))

    def fetch(self, uri: str) -> bytes:
        if urlsplit(uri).scheme not in ("http", "https"):
            raise JwksUnavailableError("JWKS URI must be http(s)")
        request = urllib.request.Request(uri, headers={"Accept": "application/json"})  # noqa: S310
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                if response.status != 200:
                    raise JwksUnavailableError(f"JWKS fetch returned HTTP {response.status}")
                body = response.read(self._max_bytes + 1)
        except JwksUnavailableError:
            raise
        except Exception as exc:  # URLError, timeouts, resets, HTTP errors
            raise JwksUnavailableError(f"JWKS fetch failed: {type(exc).__name__}") from None
        if len(body) > self._max_bytes:
            raise JwksUnavailableError("JWKS document exceeds the size limit")
        return body
