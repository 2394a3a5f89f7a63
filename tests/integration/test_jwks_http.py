"""JWKS over real HTTP on 127.0.0.1: UrllibFetcher, JwksCache and JwtVerifier against a JwksServer
(and scripted servers for redirects, proxies and broken responses), then the authorizer end to end.

The penalty box and cache run on a fake clock so refetch limits are exact; the HTTP is real.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from typing import Any

import pytest
from loopback import DOC_K1, closed_port_uri, function_env

from support.fakes import FakeClock
from support.tokens import (
    ACME_TID,
    API_AUDIENCE,
    V2_ISSUER_TEMPLATE,
    authorizer_event,
    ec_key,
    entra_claims,
    jwk_for,
    jwks_document,
    rsa_key,
    sign,
)
from tenantkit.authorizer import FailClosedAuthorizer, RequestAuthorizer, load_authorizer
from tenantkit.config import JwksSettings
from tenantkit.exceptions import (
    JwksUnavailableError,
    KidNotFoundError,
    TokenRejectedError,
)
from tenantkit.jwks import JwksCache, PenaltyBox, UrllibFetcher
from tenantkit.verifier import JwtVerifier
from tenantkit_local.jwks_server import JWKS_PATH

pytestmark = pytest.mark.integration

K2 = rsa_key(name="rotated")
DOC_K2 = jwks_document(jwk_for(K2, "k2"))
STRANGER = rsa_key(name="stranger")


@pytest.fixture(scope="module", autouse=True)
def _no_thread_leaks(thread_guard: None) -> None:
    """Every server of this module is stopped and joined before the module ends."""


def token(kid: str = "k1", key: Any = None, **claims: Any) -> str:
    return sign(entra_claims(**claims), key if key is not None else rsa_key(), kid=kid)


def http_cache(clock: FakeClock, *, timeout: float = 1.0, max_bytes: int = 256 * 1024, **settings: Any) -> JwksCache:
    jwks = JwksSettings(fetch_timeout_seconds=timeout, max_document_bytes=max_bytes, **settings)
    return JwksCache(
        settings=jwks,
        fetcher=UrllibFetcher(timeout_seconds=timeout, max_bytes=max_bytes),
        penalty_box=PenaltyBox(interval_seconds=jwks.min_refetch_interval_seconds, clock=clock),
        clock=clock,
    )


def verifier_for(uri: str, cache: JwksCache, algorithms: tuple[str, ...] = ("RS256",)) -> JwtVerifier:
    return JwtVerifier(issuers=[V2_ISSUER_TEMPLATE], audiences=[API_AUDIENCE], jwks_uri=uri, jwks_cache=cache,
                       algorithms=algorithms)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


# --- the fetcher alone -----------------------------------------------------------------------


def test_fetcher_returns_the_document(jwks_server):
    assert UrllibFetcher().fetch(jwks_server.jwks_uri) == DOC_K1
    assert jwks_server.jwks_requests == 1


@pytest.mark.parametrize("status", [201, 202, 204, 301, 304, 400, 401, 403, 404, 429, 500, 502, 503, 504])
def test_non_200_status_is_jwks_unavailable(jwks_server, status):
    jwks_server.fail_with = status
    with pytest.raises(JwksUnavailableError):
        UrllibFetcher().fetch(jwks_server.jwks_uri)
    assert jwks_server.jwks_requests == 1


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirects_are_not_followed(jwks_server, tiny_server, status):
    redirector = tiny_server(status=status, headers={"Location": jwks_server.jwks_uri})
    with pytest.raises(JwksUnavailableError):
        UrllibFetcher().fetch(redirector.url + JWKS_PATH)
    assert redirector.requests == 1
    assert jwks_server.jwks_requests == 0  # the redirect target was never contacted


def test_redirect_through_the_cache_and_verifier_is_jwks_unavailable(jwks_server, tiny_server, clock):
    redirector = tiny_server(status=302, headers={"Location": jwks_server.jwks_uri})
    verifier = verifier_for(redirector.url + JWKS_PATH, http_cache(clock))
    with pytest.raises(JwksUnavailableError):
        verifier.verify(token())
    assert jwks_server.jwks_requests == 0


def test_response_size_cap(jwks_server):
    size = len(DOC_K1)
    assert UrllibFetcher(max_bytes=size).fetch(jwks_server.jwks_uri) == DOC_K1  # exactly at the cap: fine
    with pytest.raises(JwksUnavailableError):
        UrllibFetcher(max_bytes=size - 1).fetch(jwks_server.jwks_uri)


def test_oversized_document_through_the_verifier_is_jwks_unavailable(jwks_server, clock):
    big = jwks_document(jwk_for(rsa_key(), "k1"), {"kty": "oct", "kid": "padding", "k": "A" * 4096})
    jwks_server.set_document(big)
    verifier = verifier_for(jwks_server.jwks_uri, http_cache(clock, max_bytes=len(big) - 100))
    with pytest.raises(JwksUnavailableError):
        verifier.verify(token())
    assert jwks_server.jwks_requests == 1


@pytest.fixture
def slow_idp(tiny_server):
    """Answers with DOC_K1 after 3 s (the wait ends early when the server stops at teardown)."""
    return tiny_server(body=DOC_K1, delay_seconds=3.0)


def test_fetch_timeout_is_honoured(slow_idp):
    fetcher = UrllibFetcher(timeout_seconds=0.3)
    started = time.monotonic()
    with pytest.raises(JwksUnavailableError):
        fetcher.fetch(slow_idp.url + JWKS_PATH)
    elapsed = time.monotonic() - started
    assert 0.25 <= elapsed < 1.5
    assert slow_idp.requests == 1


def test_fetch_timeout_through_the_verifier(slow_idp, clock):
    verifier = verifier_for(slow_idp.url + JWKS_PATH, http_cache(clock, timeout=0.3))
    started = time.monotonic()
    with pytest.raises(JwksUnavailableError):
        verifier.verify(token())
    assert time.monotonic() - started < 1.5
    assert slow_idp.requests == 1


def test_connection_refused_is_jwks_unavailable():
    started = time.monotonic()
    with pytest.raises(JwksUnavailableError):
        UrllibFetcher(timeout_seconds=1.0).fetch(closed_port_uri())
    assert time.monotonic() - started < 1.5


@pytest.mark.parametrize(
    "raw",
    [b"", b"garbage\r\n\r\n", b"HTTP/1.1 abc OK\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n{\"ke"],
    ids=["closed-without-response", "not-http", "bad-status-line", "truncated-body"],
)
def test_broken_responses_are_jwks_unavailable(tiny_server, clock, raw):
    server = tiny_server(raw=raw)
    uri = server.url + JWKS_PATH
    cache = http_cache(clock)
    assert cache.prefetch(uri) is False
    with pytest.raises(JwksUnavailableError):
        verifier_for(uri, cache).verify(token())
    assert server.requests == 1


def test_proxy_environment_is_ignored(jwks_server, tiny_server, monkeypatch):
    proxy = tiny_server(status=200, body=jwks_document(jwk_for(STRANGER, "k1")))
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, proxy.url)
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    # Control: a default urllib opener does go through the proxy in this environment.
    with urllib.request.build_opener().open(jwks_server.jwks_uri, timeout=1.0) as response:
        response.read()
    assert proxy.requests == 1 and jwks_server.jwks_requests == 0

    assert UrllibFetcher().fetch(jwks_server.jwks_uri) == DOC_K1
    assert proxy.requests == 1
    assert jwks_server.jwks_requests == 1


# --- cache and verifier over HTTP ------------------------------------------------------------


def test_valid_token_verifies_with_one_fetch(jwks_server, clock):
    verifier = verifier_for(jwks_server.jwks_uri, http_cache(clock))
    for _ in range(5):
        claims = verifier.verify(token())
    assert claims["tid"] == ACME_TID
    assert jwks_server.jwks_requests == 1


def test_es256_token_verifies_over_http(jwks_server, clock):
    jwks_server.set_document(jwks_document(jwk_for(ec_key(), "ec1")))
    verifier = verifier_for(jwks_server.jwks_uri, http_cache(clock), algorithms=("RS256", "ES256"))
    assert verifier.verify(sign(entra_claims(), ec_key(), kid="ec1", alg="ES256"))["tid"] == ACME_TID


def test_rotation_new_kid_costs_exactly_one_more_request(jwks_server, clock):
    cache = http_cache(clock)
    verifier = verifier_for(jwks_server.jwks_uri, cache)
    assert cache.prefetch(jwks_server.jwks_uri)
    assert verifier.verify(token())
    assert jwks_server.jwks_requests == 1

    jwks_server.set_document(DOC_K2)
    clock.advance(10)
    assert verifier.verify(token("k2", K2))["tid"] == ACME_TID
    assert jwks_server.jwks_requests == 2
    assert verifier.verify(token("k2", K2))
    assert jwks_server.jwks_requests == 2
    with pytest.raises(KidNotFoundError):  # the retired key is gone, and asking again costs nothing
        verifier.verify(token("k1"))
    assert jwks_server.jwks_requests == 2


def test_penalty_box_limits_refetches_for_unknown_kids(jwks_server, clock):
    cache = http_cache(clock)
    verifier = verifier_for(jwks_server.jwks_uri, cache)
    cache.prefetch(jwks_server.jwks_uri)
    clock.advance(10)
    with pytest.raises(KidNotFoundError):
        verifier.verify(token("forged-1", STRANGER))
    assert jwks_server.jwks_requests == 2
    clock.advance(9)
    for i in range(20):
        with pytest.raises(KidNotFoundError):
            verifier.verify(token(f"forged-{i}", STRANGER))
    assert jwks_server.jwks_requests == 2
    clock.advance(1)
    with pytest.raises(KidNotFoundError):
        verifier.verify(token("forged-x", STRANGER))
    assert jwks_server.jwks_requests == 3


def test_outage_after_good_fetch_known_kids_still_verify(jwks_server, clock):
    cache = http_cache(clock, refresh_after_seconds=60, stale_max_seconds=600)
    verifier = verifier_for(jwks_server.jwks_uri, cache)
    cache.prefetch(jwks_server.jwks_uri)
    good_at = clock.now
    jwks_server.fail_with = 503

    assert verifier.verify(token())
    assert jwks_server.jwks_requests == 1
    clock.now = good_at + 61  # refresh due: one attempt, 503, last-known-good serves
    assert verifier.verify(token())
    assert verifier.verify(token())
    assert jwks_server.jwks_requests == 2
    clock.now = good_at + 75
    with pytest.raises(KidNotFoundError):
        verifier.verify(token("k2", K2))
    assert jwks_server.jwks_requests == 3
    clock.now = good_at + 600
    assert verifier.verify(token())
    clock.now = good_at + 601
    with pytest.raises(JwksUnavailableError):
        verifier.verify(token())

    jwks_server.fail_with = None  # recovery at the next allowed attempt
    clock.advance(10)
    assert verifier.verify(token())


@pytest.mark.parametrize("outage", ["503", "stopped"])
def test_outage_on_cold_start_is_jwks_unavailable_and_nothing_else(jwks_server, clock, outage):
    if outage == "503":
        jwks_server.fail_with = 503
        uri = jwks_server.jwks_uri
    else:
        uri = closed_port_uri()
    cache = http_cache(clock)
    verifier = verifier_for(uri, cache)
    assert cache.prefetch(uri) is False
    for _ in range(2):
        clock.advance(10)  # each attempt really goes to the (failing) server
        try:
            verifier.verify(token())
        except TokenRejectedError as exc:
            assert type(exc) is JwksUnavailableError
        else:
            pytest.fail("verified without keys")
    if outage == "503":
        assert jwks_server.jwks_requests == 3


def test_malformed_document_from_the_server(jwks_server, clock):
    jwks_server.set_document(b"<html>maintenance</html>")
    cache = http_cache(clock)
    verifier = verifier_for(jwks_server.jwks_uri, cache)
    with pytest.raises(JwksUnavailableError):
        verifier.verify(token())
    jwks_server.set_document(DOC_K1)
    clock.advance(10)
    assert verifier.verify(token())
    jwks_server.set_document(b"[" * 100_000)  # nested past the JSON decoder's limit, under the size cap
    clock.advance(10)
    with pytest.raises(KidNotFoundError):
        verifier.verify(token("k2", K2))
    assert verifier.verify(token())  # the previous keys survive the bad refresh
    assert jwks_server.jwks_requests == 3


def test_concurrent_cold_misses_make_one_request(jwks_server, clock):
    jwks_server.delay_seconds = 0.05
    verifier = verifier_for(jwks_server.jwks_uri, http_cache(clock))
    jwt_text = token()
    barrier = threading.Barrier(16)
    results: list[Any] = []
    lock = threading.Lock()

    def worker() -> None:
        barrier.wait(timeout=5)
        try:
            outcome: Any = verifier.verify(jwt_text)
        except Exception as exc:  # collected and asserted below
            outcome = exc
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=worker, name=f"cold-miss-{i}") for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert not any(thread.is_alive() for thread in threads)
    assert jwks_server.jwks_requests == 1
    assert len(results) == 16
    assert all(isinstance(r, dict) and r["tid"] == ACME_TID for r in results), results


# --- the authorizer end to end ---------------------------------------------------------------


def _env(uri: str, **extra: str) -> dict[str, str]:
    env = function_env()
    env["OIDC_JWKS_URI"] = uri
    env.update(extra)
    return env


def _assert_unauthorized(authorizer: Any, event: dict[str, Any]) -> None:
    with pytest.raises(Exception) as caught:
        authorizer.handle(event)
    assert type(caught.value) is Exception
    assert caught.value.args == ("Unauthorized",)


def _effect(response: dict[str, Any]) -> str:
    return response["policyDocument"]["Statement"][0]["Effect"]


def test_authorizer_fetches_at_init_and_serves_from_cache_after_the_idp_goes_away(own_jwks_server):
    authorizer = load_authorizer(_env(own_jwks_server.jwks_uri))
    assert isinstance(authorizer, RequestAuthorizer)
    assert own_jwks_server.jwks_requests == 1

    event = authorizer_event("Bearer " + token())
    response = authorizer.handle(event)
    assert _effect(response) == "Allow"
    assert response["context"]["tenant_id"] == "acme"
    assert response["context"]["app_id"] == "portal"
    assert own_jwks_server.jwks_requests == 1

    own_jwks_server.stop()
    response = authorizer.handle(authorizer_event("Bearer " + token(), request_id="req-2"))
    assert _effect(response) == "Allow"
    assert response["context"]["tenant_id"] == "acme"
    _assert_unauthorized(authorizer, authorizer_event("Bearer " + token("k2", K2)))  # unknown kid: 401, not 500


@pytest.mark.parametrize("outage", ["stopped", "503"])
def test_cold_authorizer_with_the_idp_down_is_unauthorized(jwks_server, outage):
    if outage == "503":
        jwks_server.fail_with = 503
        uri = jwks_server.jwks_uri
    else:
        uri = closed_port_uri()
    authorizer = load_authorizer(_env(uri))  # init must not raise either
    assert isinstance(authorizer, RequestAuthorizer)
    for request_id in ("req-1", "req-2", "req-3"):
        _assert_unauthorized(authorizer, authorizer_event("Bearer " + token(), request_id=request_id))
    if outage == "503":
        assert jwks_server.jwks_requests == 1  # init attempt only: the penalty box holds for 10 s


@pytest.mark.parametrize("document", [b"[" * 100_000, b"<html>maintenance</html>", b'{"keys": 1}'],
                         ids=["nested-past-decoder-limit", "html", "keys-not-a-list"])
def test_cold_authorizer_with_a_broken_jwks_document_is_unauthorized_not_an_init_crash(jwks_server, document):
    jwks_server.set_document(document)
    authorizer = load_authorizer(_env(jwks_server.jwks_uri))  # prefetch must log, never raise
    assert isinstance(authorizer, RequestAuthorizer)
    assert jwks_server.jwks_requests == 1
    _assert_unauthorized(authorizer, authorizer_event("Bearer " + token()))


def test_cold_authorizer_with_a_slow_idp_respects_the_configured_timeout(slow_idp):
    started = time.monotonic()
    authorizer = load_authorizer(_env(slow_idp.url + JWKS_PATH, JWKS_FETCH_TIMEOUT_SECONDS="0.3"))
    assert time.monotonic() - started < 1.5
    _assert_unauthorized(authorizer, authorizer_event("Bearer " + token()))
    assert time.monotonic() - started < 1.5
    assert slow_idp.requests == 1


def test_authorizer_recovers_once_the_idp_is_back(jwks_server):
    jwks_server.fail_with = 503
    authorizer = load_authorizer(_env(jwks_server.jwks_uri, JWKS_MIN_REFETCH_SECONDS="1"))
    _assert_unauthorized(authorizer, authorizer_event("Bearer " + token()))
    jwks_server.fail_with = None
    time.sleep(1.05)  # the shortest refetch interval configuration allows
    assert _effect(authorizer.handle(authorizer_event("Bearer " + token()))) == "Allow"
    assert jwks_server.jwks_requests == 2


def test_misconfigured_jwks_uri_fails_closed(jwks_server):
    authorizer = load_authorizer(_env("file:///etc/keys.json"))
    assert isinstance(authorizer, FailClosedAuthorizer)
    _assert_unauthorized(authorizer, authorizer_event("Bearer " + token()))
    assert jwks_server.jwks_requests == 0


def test_audit_line_records_jwks_unavailable(jwks_server, capsys):
    jwks_server.fail_with = 503
    authorizer = load_authorizer(_env(jwks_server.jwks_uri))
    capsys.readouterr()
    _assert_unauthorized(authorizer, authorizer_event("Bearer " + token()))
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    audits = [line for line in lines if line.get("record_type") == "audit"]
    assert [a["reason"] for a in audits] == ["jwks_unavailable"]
    assert audits[0]["status"] == 401


class _DrippingServer:
    """Answers 200 and then sends the body one byte every 0.2 s: each read is quick, the whole
    fetch is not. The fetch timeout must be a deadline for all of it."""

    def __init__(self) -> None:
        import socket
        import threading

        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}/common/discovery/v2.0/keys"

    def _serve(self) -> None:
        self._listener.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                continue
            with conn:
                conn.recv(4096)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n")
                for _ in range(100):
                    if self._stop.wait(0.2):
                        break
                    try:
                        conn.sendall(b" ")
                    except OSError:
                        break

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()


def test_fetch_deadline_covers_a_dripping_body():
    import time as _time

    from tenantkit.exceptions import JwksUnavailableError
    from tenantkit.jwks import UrllibFetcher

    server = _DrippingServer()
    try:
        started = _time.monotonic()
        with pytest.raises(JwksUnavailableError):
            UrllibFetcher(timeout_seconds=0.5).fetch(server.uri)
        assert _time.monotonic() - started < 1.5
    finally:
        server.stop()
