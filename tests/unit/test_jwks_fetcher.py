"""UrllibFetcher without the network: what it refuses before opening any connection.

Its HTTP behaviour (timeout, redirects, size cap, status codes, proxies) is covered against real
servers on 127.0.0.1 in tests/integration/test_jwks_http.py (unit tests open no sockets).
"""

from __future__ import annotations

import socket

import pytest

from support.tokens import jwk_for, jwks_document, rsa_key
from tenantkit.exceptions import JwksUnavailableError
from tenantkit.jwks import JwksCache, UrllibFetcher


@pytest.fixture
def no_sockets(monkeypatch):
    """Any attempt to open a connection fails the test loudly."""

    def refuse(*args, **kwargs):
        raise AssertionError("the fetcher opened a connection")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.mark.parametrize(
    "uri",
    ["ftp://idp.example/keys", "data:application/json,{\"keys\":[]}", "gopher://idp.example/keys", "idp.example/keys",
     "", "/common/discovery/v2.0/keys", "jar:https://idp.example/keys", "HTTPS-ish://idp.example/keys"],
)
def test_non_http_uris_are_refused_before_any_io(uri, no_sockets):
    with pytest.raises(JwksUnavailableError):
        UrllibFetcher().fetch(uri)


def test_file_uri_is_refused_even_when_the_file_holds_a_valid_jwks(tmp_path, no_sockets):
    path = tmp_path / "keys.json"
    path.write_bytes(jwks_document(jwk_for(rsa_key(), "k1")))
    with pytest.raises(JwksUnavailableError):
        UrllibFetcher().fetch(path.as_uri())


def test_cache_surfaces_a_refused_uri_as_jwks_unavailable(no_sockets):
    cache = JwksCache()
    assert cache.prefetch("file:///etc/passwd") is False
    with pytest.raises(JwksUnavailableError):
        cache.get_key("file:///etc/passwd", "k1", "RS256")
