"""The BFF's HTTP surface: five routes on :mod:`tenantkit.bff.routing` (Powertools' REST resolver's
matching and responses, without its event_handler package).

Before any route runs: the envelope comes from the authorizer context only (this request's
API Gateway request id replaces the correlation id a cached authorizer context carries), the
path is normalized once (:mod:`tenantkit.paths`: the router, the spoof check and the audit
``route`` all use that one form), the token's expiry and the tenant's and app's registry status
are re-checked (:mod:`tenantkit.bff.revocation`), the body is size-checked and parsed once by
the strict parser (:mod:`tenantkit.bff.strict_json`; the upstream gets its canonical
re-serialization, never the raw bytes), and body, query, path and headers are checked for
tenant spoofing. Every request ends with one ``request.completed`` audit record; every
rejection also writes its own (``tenant.spoof_rejected``, ``session.rejected``, ``abac.deny``, ...).
Errors are RFC 9457 problem documents carrying the correlation id.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tenantkit import paths
from tenantkit.audit import emit_audit
from tenantkit.bff import spoofing, strict_json
from tenantkit.bff.exceptions import (
    BadRequestError,
    BffError,
    EnvelopeMissingError,
    MalformedJsonError,
    PayloadTooLargeError,
    RouteNotFoundError,
    UnsupportedMediaTypeError,
)
from tenantkit.bff.routing import Response, Router
from tenantkit.bff.service import BffService, RequestContext
from tenantkit.envelope import EnvelopeError, IdentityEnvelope
from tenantkit.exceptions import MalformedPathError
from tenantkit.identity_keys import DEFAULT_KEYS, IdentityKeys
from tenantkit.observability import begin_request, bind_identity, current_state, end_request, get_logger
from tenantkit.observability.handler import correlation_id_of

PROBLEM_BASE = "https://tenantkit.dev/problems/"
__all__ = ["BffApi", "problem", "route_template"]


def route_template(method: str, path: str) -> str:
    """``POST /v1/sessions/s_abc/messages`` -> ``POST /v1/sessions/{session_id}/messages``.

    The shared normalizer (:mod:`tenantkit.paths`) decides; the result holds route words and
    placeholders only, never an id (not session ids, not the tenant names a spoof puts in a path).
    """
    return paths.template_of(method, path)


def problem(error: BffError, correlation_id: str | None) -> Response:
    body = {
        "type": PROBLEM_BASE + error.public_reason,
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
        "reason": error.public_reason,
        "correlation_id": correlation_id,
    }
    return Response(status_code=error.status, content_type="application/problem+json", body=json.dumps(body),
                    headers={"X-Correlation-Id": correlation_id or ""})


def envelope_of(event: dict[str, Any], correlation_id: str | None) -> IdentityEnvelope:
    authorizer = (event.get("requestContext") or {}).get("authorizer")
    try:
        envelope = IdentityEnvelope.from_authorizer_context(authorizer)
    except EnvelopeError as exc:
        raise EnvelopeMissingError(str(exc)) from None
    # A cached authorizer context carries the correlation id of the request that filled the cache.
    return envelope.model_copy(update={"correlation_id": correlation_id}) if correlation_id else envelope


def request_body(event: dict[str, Any], max_bytes: int) -> tuple[bytes, Any]:
    """The canonical bytes to forward and the parsed value (``b"", None`` without a body)."""
    raw = event.get("body") or ""
    if not isinstance(raw, str):
        raise BadRequestError("body is not text", reason="body_malformed")
    try:
        data = base64.b64decode(raw, validate=True) if event.get("isBase64Encoded") else raw.encode(
            "utf-8", errors="surrogatepass")  # a lone surrogate must reach the strict parser, not crash here
    except (ValueError, TypeError):
        raise BadRequestError("body is not valid base64", reason="body_malformed") from None
    if len(data) > max_bytes:
        raise PayloadTooLargeError(f"body exceeds {max_bytes} bytes")
    if not data:
        return data, None
    content_type = _header(event, "content-type") or "application/json"
    media_type, _, params = content_type.partition(";")
    if media_type.strip().lower() != "application/json":
        raise UnsupportedMediaTypeError("send application/json")
    charset = next((v.strip().strip('"').lower() for k, _, v in (p.partition("=") for p in params.split(";"))
                    if k.strip().lower() == "charset"), "utf-8")
    if charset not in ("utf-8", "utf8"):
        raise UnsupportedMediaTypeError("send application/json in UTF-8")
    try:
        value, canonical = strict_json.parse(data)
    except MalformedJsonError as exc:
        raise BadRequestError(str(exc), reason="body_malformed") from None
    return canonical, value


def _header(event: dict[str, Any], name: str) -> str | None:
    for source in ("headers", "multiValueHeaders"):
        for key, value in (event.get(source) or {}).items():
            if isinstance(key, str) and key.lower() == name:
                value = value[-1] if isinstance(value, list) and value else value
                return value if isinstance(value, str) else None
    return None


class BffApi:
    def __init__(self, service_provider: Callable[[], BffService], *, keys: IdentityKeys = DEFAULT_KEYS) -> None:
        self._service_provider = service_provider
        self._keys = keys
        self.router = Router()
        self._register_routes()

    def handle(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        if current_state() is not None:
            return self._handle(event, context)
        begin_request(context, correlation_id=correlation_id_of(event, context))  # called without @observe
        try:
            return self._handle(event, context)
        finally:
            end_request()

    def _handle(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        started = time.perf_counter()
        correlation_id = correlation_id_of(event, context)
        method = event.get("httpMethod")
        try:
            path: paths.NormalizedPath | None = paths.normalize(event.get("path", ""), marker=self._keys.field_of)
        except MalformedPathError:
            path = None
        route = paths.route_template(method, path, marker=self._keys.field_of)
        ctx: RequestContext | None = None
        try:
            envelope = envelope_of(event, correlation_id)
            bind_identity(**{k: v for k, v in envelope.log_fields().items() if k != "principal_type"})
            if path is None:
                raise BadRequestError("the request path cannot be normalized", reason="path_malformed")
            if not isinstance(method, str):  # the resolver would crash on it: a 400, not a 500
                raise BadRequestError("the request has no HTTP method", reason="method_malformed")
            service = self._service_provider()
            service.access.check(envelope)  # a cached Allow must not outlive its token or its tenant
            payload, body = request_body(event, service.config.max_body_bytes)
            spoofing.check_request(
                envelope, body=body, path=path, keys=self._keys,
                query=spoofing.request_values(event.get("queryStringParameters"),
                                              event.get("multiValueQueryStringParameters")),
                headers=spoofing.request_values(event.get("headers"), event.get("multiValueHeaders")),
            )
            ctx = RequestContext(envelope=envelope, route=route)
            # The router sees the normalized path: what it matches is what was checked and audited.
            response = self.router.resolve(method, path.path, _Call(ctx, service, payload))
        except BffError as error:
            response = self._reject(error, route, correlation_id).as_proxy()
        except Exception as unexpected:  # a bug, not bad input: 500 problem, type logged only
            get_logger().error("unhandled error", extra={"error_type": type(unexpected).__name__})
            response = problem(BffError("internal error"), correlation_id).as_proxy()
        status = int(response.get("statusCode", 500))
        try:
            emit_audit("request.completed", "success" if status < 400 else "error", f"http_{status}", route=route,
                       status=status, latency_ms=round((time.perf_counter() - started) * 1000, 3),
                       **(ctx.cost if ctx else {}))
        except Exception as error:  # the response stands; a broken audit write must not become a 500
            get_logger().error("audit record not written", extra={"error_type": type(error).__name__})
        return response

    def _reject(self, error: BffError, route: str, correlation_id: str | None) -> Response:
        if error.audit_event is not None:
            emit_audit(error.audit_event, error.audit_outcome, error.reason, route=route, status=error.status)
        elif error.status >= 500:
            get_logger().error("request failed", extra={"reason": error.reason})
        return problem(error, correlation_id)

    def _register_routes(self) -> None:
        router = self.router

        def ok(call: _Call, body: Any, status: int = 200) -> Response:
            return Response(status_code=status, content_type="application/json", body=json.dumps(body),
                            headers={"X-Correlation-Id": call.ctx.envelope.correlation_id})

        @router.route("GET", "/v1/me")
        def me(call: _Call) -> Response:
            return ok(call, call.service.me(call.ctx))

        @router.route("POST", "/v1/sessions")
        def create_session(call: _Call) -> Response:
            return ok(call, call.service.create_session(call.ctx), 201)

        @router.route("GET", "/v1/sessions/<session_id>")
        def get_session(call: _Call, session_id: str) -> Response:
            return ok(call, call.service.get_session(call.ctx, session_id))

        @router.route("DELETE", "/v1/sessions/<session_id>")
        def delete_session(call: _Call, session_id: str) -> Response:
            call.service.delete_session(call.ctx, session_id)
            return Response(status_code=204, headers={"X-Correlation-Id": call.ctx.envelope.correlation_id})

        @router.route("POST", "/v1/sessions/<session_id>/messages")
        def send_message(call: _Call, session_id: str) -> Response:
            if not call.payload:
                raise BadRequestError("a message body is required", reason="body_missing")
            upstream = call.service.send_message(call.ctx, session_id, call.payload, "application/json")
            return Response(status_code=200, content_type=upstream.content_type, body=upstream.body.decode(
                "utf-8", errors="replace"), headers={"X-Correlation-Id": call.ctx.envelope.correlation_id})

        @router.exception_handler(BffError)
        def bff_error(call: _Call, error: BffError) -> Response:
            return self._reject(error, call.ctx.route, call.ctx.envelope.correlation_id)

        @router.exception_handler(Exception)
        def unexpected(call: _Call, error: Exception) -> Response:
            get_logger().error("unhandled error", extra={"error_type": type(error).__name__})
            return problem(BffError("internal error"), call.ctx.envelope.correlation_id)

        @router.not_found
        def not_found(call: _Call) -> Response:
            return self._reject(RouteNotFoundError("no such route"), call.ctx.route, call.ctx.envelope.correlation_id)


@dataclass(frozen=True, slots=True)
class _Call:
    """What a route handler gets: the request's context, the service, the canonical body bytes."""

    ctx: RequestContext
    service: BffService
    payload: bytes
