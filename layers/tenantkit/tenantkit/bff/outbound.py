"""Outbound identity: how the BFF calls the agent runtime on the caller's behalf.

Inbound and outbound identity are different things. The inbound user token stops here; the
BFF authenticates to the upstream as itself (its IAM role, SigV4) and propagates the verified
envelope as data: ``X-Tenant-Id``/``X-App-Id``/``X-Principal-Id``/``X-Session-Id``/
``X-Correlation-Id`` headers (HTTP mode), ``runtimeSessionId``/``runtimeUserId`` (AgentCore
mode), and W3C ``traceparent``/``baggage`` in both. Nothing from the inbound request's headers
is forwarded.

Outbound safety: the HTTP upstream is https (plain http only to a loopback host, for local
stacks), a redirect is never followed (a 3xx is a 502 ``upstream_redirect``: identity headers
and a SigV4 signature never reach a host other than the configured one), and environment
proxies are ignored. A plain-http agent reachable by others has no way to tell the BFF from
anyone else who sends the same headers: only SigV4 (or mTLS in front of the agent) authenticates
the caller.
"""

from __future__ import annotations

import json
import secrets
import socket
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote

from tenantkit import aws
from tenantkit.bff.exceptions import UpstreamFailedError, UpstreamRedirectError, UpstreamTimeoutError
from tenantkit.config import require_https_url
from tenantkit.envelope import IdentityEnvelope
from tenantkit.exceptions import ConfigurationError
from tenantkit.observability.settings import lambda_trace_header

__all__ = [
    "AgentCoreUpstream",
    "HttpUpstream",
    "Upstream",
    "UpstreamRequest",
    "UpstreamResponse",
    "baggage",
    "identity_headers",
    "traceparent",
    "usage_of",
]
from tenantkit.observability.spans import current_traceparent, instrument_client


@dataclass(frozen=True, slots=True)
class UpstreamRequest:
    envelope: IdentityEnvelope
    session_id: str
    correlation_id: str
    payload: bytes
    content_type: str = "application/json"


@dataclass(frozen=True, slots=True)
class UpstreamResponse:
    status: int
    body: bytes
    content_type: str = "application/json"
    usage: dict[str, int] = field(default_factory=dict)  # input_tokens / output_tokens if reported


class Upstream(Protocol):
    def invoke(self, request: UpstreamRequest) -> UpstreamResponse: ...


def traceparent(trace_header: str | None = None) -> str:
    """W3C traceparent continuing the X-Ray trace when there is one (same 128-bit trace id)."""
    trace_id = None
    if trace_header:
        for part in trace_header.split(";"):
            key, _, value = part.partition("=")
            if key.strip() == "Root" and value.count("-") == 2:
                trace_id = value.replace("1-", "", 1).replace("-", "")
    if not trace_id or len(trace_id) != 32:
        trace_id = secrets.token_hex(16)
    return f"00-{trace_id}-{secrets.token_hex(8)}-01"


def outbound_traceparent() -> str:
    """The upstream span's context when OpenTelemetry traces this invocation, else the X-Ray one."""
    return current_traceparent() or traceparent(lambda_trace_header())


def baggage(envelope: IdentityEnvelope) -> str:
    """W3C baggage: tenant and app only (no principal or session ids to arbitrary hops)."""
    return f"tenant_id={quote(envelope.tenant_id, safe='')},app_id={quote(envelope.app_id, safe='')}"


def identity_headers(request: UpstreamRequest) -> dict[str, str]:
    envelope = request.envelope
    return {
        "Content-Type": request.content_type,
        "Accept": "application/json, text/event-stream",
        "X-Tenant-Id": envelope.tenant_id,
        "X-App-Id": envelope.app_id,
        "X-Principal-Id": envelope.principal_id,
        "X-Principal-Type": envelope.principal_type,
        "X-Session-Id": request.session_id,
        "X-Correlation-Id": request.correlation_id,
        "traceparent": outbound_traceparent(),
        "baggage": baggage(envelope),
    }


def usage_of(body: bytes, content_type: str) -> dict[str, int]:
    """Token counts when the upstream reports them as ``{"usage": {"input_tokens": n, ...}}``."""
    if "json" not in content_type:
        return {}
    try:
        usage = json.loads(body).get("usage", {})
    except (ValueError, AttributeError):
        return {}
    if not isinstance(usage, dict):
        return {}
    return {k: int(usage[k]) for k in ("input_tokens", "output_tokens")
            if isinstance(usage.get(k), int) and not isinstance(usage.get(k), bool) and usage[k] >= 0}


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """Replaces urllib's redirect handler: every 3xx surfaces as an HTTPError, nothing is re-sent."""

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> None:
        return None


class HttpUpstream:
    """POST the turn to an HTTP agent; optional SigV4 (the BFF's own role) for AWS targets."""

    def __init__(self, url_provider: Callable[[], str], *, timeout_seconds: float,
                 sigv4_service: str | None = None) -> None:
        self._url_provider = url_provider
        self._timeout = timeout_seconds
        self._sigv4_service = sigv4_service
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _RefuseRedirects())
        self._checked_url: str | None = None

    def _safe_url(self) -> str:
        """The provider's URL, checked again here (a discovered URL changes at run time)."""
        url = self._url_provider()
        if url != self._checked_url:
            try:
                require_https_url("upstream URL", url)
            except ConfigurationError:
                raise UpstreamFailedError("upstream URL is not https", reason="upstream_url_unsafe") from None
            self._checked_url = url
        return url

    def invoke(self, request: UpstreamRequest) -> UpstreamResponse:
        url = self._safe_url()
        headers = identity_headers(request)
        if self._sigv4_service:
            try:
                headers = aws.sigv4_headers(url, request.payload, headers, service=self._sigv4_service)
            except Exception as exc:  # no credentials, botocore errors: a 502 with a reason, never a 500
                raise UpstreamFailedError(f"could not sign the upstream call: {type(exc).__name__}",
                                          reason="upstream_signing_failed") from None
        http_request = urllib.request.Request(url, data=request.payload, headers=headers, method="POST")  # noqa: S310
        try:
            with self._opener.open(http_request, timeout=self._timeout) as response:
                body = response.read()
                content_type = response.headers.get("Content-Type", "application/json")
                return UpstreamResponse(response.status, body, content_type, usage_of(body, content_type))
        except urllib.error.HTTPError as exc:
            exc.close()  # the error carries the open response; nothing of it is read
            if 300 <= exc.code < 400:
                raise UpstreamRedirectError(f"upstream answered HTTP {exc.code}; redirects are not followed") from None
            raise UpstreamFailedError(f"upstream answered HTTP {exc.code}", reason="upstream_http_error") from None
        except TimeoutError:
            raise UpstreamTimeoutError("upstream did not answer in time") from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError | socket.timeout):
                raise UpstreamTimeoutError("upstream did not answer in time") from None
            raise UpstreamFailedError("upstream unreachable", reason="upstream_unreachable") from None
        except OSError:
            raise UpstreamFailedError("upstream connection failed", reason="upstream_unreachable") from None


class AgentCoreUpstream:
    """Amazon Bedrock AgentCore ``InvokeAgentRuntime`` with the session and user bound."""

    def __init__(self, runtime_arn: str, *, qualifier: str | None = None, timeout_seconds: float = 25.0,
                 client_factory: Callable[[], Any] | None = None) -> None:
        self._arn = runtime_arn
        self._qualifier = qualifier
        self._timeout = timeout_seconds
        self._client_factory = client_factory or self._default_client
        self._client: Any = None

    def drop_client(self) -> None:
        """Forget the SDK client (SnapStart restore: the next call gets current credentials)."""
        self._client = None

    def _default_client(self) -> Any:
        from botocore.config import Config

        from tenantkit.bff.agentcore_client import agentcore_client

        # The runtime's botocore may predate bedrock-agentcore: the layer carries its model.
        return instrument_client(agentcore_client(config=Config(
            read_timeout=self._timeout, connect_timeout=2, retries={"max_attempts": 1, "mode": "standard"})))

    def parameters(self, request: UpstreamRequest) -> dict[str, Any]:
        params: dict[str, Any] = {
            "agentRuntimeArn": self._arn,
            "runtimeSessionId": request.session_id,
            "runtimeUserId": request.envelope.principal_id,
            "contentType": request.content_type,
            "accept": "application/json",
            "payload": request.payload,
            "traceParent": outbound_traceparent(),
            "baggage": baggage(request.envelope),
        }
        if self._qualifier:
            params["qualifier"] = self._qualifier
        return params

    def invoke(self, request: UpstreamRequest) -> UpstreamResponse:
        from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, ReadTimeoutError

        if self._client is None:
            self._client = self._client_factory()
        try:
            response = self._client.invoke_agent_runtime(**self.parameters(request))
            stream = response.get("response")
            body = stream.read() if hasattr(stream, "read") else (stream or b"")
        except (ReadTimeoutError, ConnectTimeoutError):
            raise UpstreamTimeoutError("agent runtime did not answer in time") from None
        except ClientError as exc:
            code = aws.error_code(exc) or "Unknown"
            raise UpstreamFailedError(f"agent runtime error {code}", reason="upstream_agentcore_error") from None
        except BotoCoreError:
            raise UpstreamFailedError("agent runtime unreachable", reason="upstream_unreachable") from None
        content_type = response.get("contentType", "application/json")
        return UpstreamResponse(int(response.get("statusCode", 200)), body, content_type,
                                usage_of(body, content_type))
