"""Outbound safety over real loopback HTTP: no redirect is ever followed, only https (or loopback
http) upstream URLs are called, and nothing the BFF sends reaches a host it was not configured for.
"""

from __future__ import annotations

import json
import secrets
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.bff import envelope, proxy_event
from tenantkit.abac import PolicyEngine
from tenantkit.bff import BffApi, BffConfig, BffService, SessionStore, load_bff
from tenantkit.bff.errors import UpstreamFailedError, UpstreamRedirectError
from tenantkit.bff.outbound import HttpUpstream, UpstreamRequest
from tenantkit.exceptions import ConfigurationError
from tenantkit_local.fake_agent import FakeAgentRuntime
from tenantkit_local.loopback import LoopbackHttpServer, QuietJsonHandler

pytestmark = pytest.mark.integration

ALICE = envelope()
REDIRECT_CODES = [300, 301, 302, 303, 304, 305, 307, 308]


class RedirectingAgent(LoopbackHttpServer):
    """Answers every request with ``status`` and ``Location: <location>``; counts requests."""

    thread_name = "redirecting-agent"

    def __init__(self) -> None:
        self.status = 302
        self.location = ""
        self.requests = 0
        super().__init__(self._handler())

    @property
    def url(self) -> str:
        return f"{self.base_url}/invocations"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(QuietJsonHandler):
            def _answer(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
                server.requests += 1
                self.send_response(server.status)
                self.send_header("Location", server.location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_GET = do_PUT = _answer

        return Handler


@pytest.fixture
def redirector():
    with RedirectingAgent() as server:
        yield server


@pytest.fixture
def elsewhere():
    """The host a redirect points at: it must never see a request."""
    with FakeAgentRuntime() as runtime:
        yield runtime


def upstream_request() -> UpstreamRequest:
    return UpstreamRequest(envelope=ALICE, session_id="s_" + "a" * 43, correlation_id="corr-1",
                           payload=b'{"text":"hi"}')


class MemoryDynamo:
    def __init__(self) -> None:
        self.items: dict[str, dict] = {}

    def put_item(self, TableName: str, Item: dict, ConditionExpression: str | None = None) -> None:
        self.items[Item["pk"]["S"]] = Item

    def get_item(self, TableName: str, Key: dict, ConsistentRead: bool = False) -> dict:
        item = self.items.get(Key["pk"]["S"])
        return {"Item": item} if item else {}


def bff_for(url: str, **upstream_options: Any) -> tuple[BffApi, SessionStore]:
    store = SessionStore("t", client_factory=MemoryDynamo)
    config = BffConfig(sessions_table="t", upstream_mode="http", upstream_url=url, upstream_timeout_seconds=2)
    upstream = HttpUpstream(lambda: url, timeout_seconds=2, **upstream_options)
    return BffApi(lambda: BffService(config=config, store=store, upstream=upstream,
                                     policy=PolicyEngine.default())), store


def send(api: BffApi, store: SessionStore, capsys: pytest.CaptureFixture[str]) -> tuple[dict, list[dict]]:
    session_id = store.create(ALICE).session_id
    capsys.readouterr()
    response = api.handle(proxy_event("POST", f"/v1/sessions/{session_id}/messages", ALICE, body={"text": "hi"}), None)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    return response, [line for line in lines if line.get("record_type") == "audit"]


@pytest.mark.parametrize("code", REDIRECT_CODES)
def test_a_redirect_is_a_502_and_the_other_host_sees_nothing(redirector, elsewhere, capsys, code):
    redirector.status, redirector.location = code, elsewhere.url.replace("127.0.0.1", "localhost")
    api, store = bff_for(redirector.url)
    response, audits = send(api, store, capsys)
    assert response["statusCode"] == 502
    assert json.loads(response["body"])["reason"] == "upstream_redirect"
    (record,) = [a for a in audits if a["event_type"] == "upstream.error"]
    assert (record["reason"], record["status"], record["outcome"]) == ("upstream_redirect", 502, "error")
    assert redirector.requests == 1 and elsewhere.received == []


@pytest.mark.parametrize("location", ["/elsewhere", "http://127.0.0.1:9/x", "https://attacker.example/steal"])
def test_no_redirect_is_followed_even_to_the_same_host(redirector, location):
    redirector.status, redirector.location = 307, location
    with pytest.raises(UpstreamRedirectError):
        HttpUpstream(lambda: redirector.url, timeout_seconds=2).invoke(upstream_request())
    assert redirector.requests == 1


def test_sigv4_signed_call_is_not_replayed_to_the_redirect_target(redirector, elsewhere, monkeypatch):
    # Credentials made up at test time (never real): the signature must stay with the configured host.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIA" + secrets.token_hex(8).upper())
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secrets.token_urlsafe(30))
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    redirector.status, redirector.location = 308, elsewhere.url
    upstream = HttpUpstream(lambda: redirector.url, timeout_seconds=2, sigv4_service="execute-api")
    with pytest.raises(UpstreamRedirectError):
        upstream.invoke(upstream_request())
    assert elsewhere.received == []


def test_sigv4_signed_call_reaches_the_configured_host_only_with_the_signature(elsewhere, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIA" + secrets.token_hex(8).upper())
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secrets.token_urlsafe(30))
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    HttpUpstream(lambda: elsewhere.url, timeout_seconds=2, sigv4_service="execute-api").invoke(upstream_request())
    (received,) = elsewhere.received
    headers = {k.lower(): v for k, v in received.headers.items()}
    assert headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIA")
    assert "/execute-api/aws4_request" in headers["authorization"]
    assert headers["x-tenant-id"] == "acme"


def test_sigv4_without_credentials_is_a_502_not_a_crash(elsewhere, monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(UpstreamFailedError) as caught:
        HttpUpstream(lambda: elsewhere.url, timeout_seconds=2, sigv4_service="lambda").invoke(upstream_request())
    assert caught.value.reason == "upstream_signing_failed" and elsewhere.received == []


def test_a_proxy_from_the_environment_is_never_used(elsewhere, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    response = HttpUpstream(lambda: elsewhere.url, timeout_seconds=2).invoke(upstream_request())
    assert response.status == 200 and len(elsewhere.received) == 1


@pytest.mark.parametrize("url", ["http://agent.example/invocations", "http://10.0.0.5/x", "ftp://127.0.0.1/x",
                                 "http://127.0.0.1.nip.io/x", "http://127.0.0.1@attacker.example/x", "file:///etc/passwd"])
def test_an_unsafe_discovered_url_is_never_called(url, capsys):
    api, store = bff_for(url)
    response, audits = send(api, store, capsys)
    assert response["statusCode"] == 502 and json.loads(response["body"])["reason"] == "upstream_url_unsafe"
    (record,) = [a for a in audits if a["event_type"] == "upstream.error"]
    assert record["reason"] == "upstream_url_unsafe"


def test_https_and_loopback_http_upstreams_are_called(elsewhere):
    assert HttpUpstream(lambda: elsewhere.url, timeout_seconds=2).invoke(upstream_request()).status == 200
    with pytest.raises(UpstreamFailedError) as caught:  # https to a loopback port that speaks no TLS
        HttpUpstream(lambda: elsewhere.url.replace("http://", "https://"), timeout_seconds=2).invoke(upstream_request())
    assert caught.value.reason == "upstream_unreachable"


BASE_ENV = {"SESSIONS_TABLE": "t", "UPSTREAM_MODE": "http",
            "TENANT_REGISTRY": '{"tenants": {}, "apps": {}}',
            "TENANT_DATA_ROLE_ARN": "arn:aws:iam::123456789012:role/tenant-data"}


@pytest.mark.parametrize("url", ["http://agent.example/invocations", "http://10.0.0.5:8080/x", "ws://127.0.0.1/x",
                                 "http://localhost.attacker.example/x", "https://user:pw@agent.example/x"])
def test_upstream_url_must_be_https_at_init(url, capsys):
    with pytest.raises(ConfigurationError) as caught:
        BffConfig.from_env({**BASE_ENV, "UPSTREAM_URL": url})
    assert caught.value.variable == "UPSTREAM_URL"
    api = load_bff({**BASE_ENV, "UPSTREAM_URL": url})  # the handler never crashes at init: it answers 503
    response = api.handle(proxy_event("GET", "/v1/me", ALICE), None)
    assert response["statusCode"] == 503 and json.loads(response["body"])["reason"] == "service_misconfigured"


def test_cloud_map_upstream_url_is_a_path():
    env = {**BASE_ENV, "CLOUDMAP_NAMESPACE": "agents.internal", "CLOUDMAP_SERVICE": "a",
           "CLOUDMAP_ALLOWED_HOST_SUFFIXES": "agents.internal"}
    assert BffConfig.from_env({**env, "UPSTREAM_URL": "/invocations"}).upstream_url == "/invocations"
    for bad in ("https://attacker.example/x", "//attacker.example/x"):
        with pytest.raises(ConfigurationError):
            BffConfig.from_env({**env, "UPSTREAM_URL": bad})


hosts = st.one_of(st.from_regex(r"[a-z0-9-]{1,10}(\.[a-z0-9-]{1,10}){0,3}", fullmatch=True),
                  st.ip_addresses(v=4).map(str), st.ip_addresses(v=6).map(lambda a: f"[{a}]"),
                  st.just("localhost"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scheme=st.sampled_from(["http", "https", "HTTP", "ftp", "ws"]), host=hosts)
def test_url_rule_https_anywhere_http_only_to_loopback(scheme, host):
    import ipaddress

    url = f"{scheme}://{host}/invocations"
    bare = host.strip("[]")
    try:
        loopback = ipaddress.ip_address(bare).is_loopback
    except ValueError:
        loopback = bare == "localhost"
    expected = scheme.lower() == "https" or (scheme.lower() == "http" and loopback)
    try:
        BffConfig.from_env({**BASE_ENV, "UPSTREAM_URL": url})
        accepted = True
    except ConfigurationError:
        accepted = False
    assert accepted is expected
