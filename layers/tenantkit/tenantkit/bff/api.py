"""The BFF's HTTP surface on the Powertools REST event handler.

Before any route runs: the envelope comes from the authorizer context only (this request's
API Gateway request id replaces the correlation id a cached authorizer context carries), the
body is size-checked and parsed, and body, query, path and headers are checked for tenant
spoofing. Every request ends with one ``request.completed`` audit record; every rejection
also writes its own (``tenant.spoof_rejected``, ``session.rejected``, ``abac.deny``, ...).
Errors are RFC 9457 problem documents carrying the correlation id.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response

from tenantkit.audit import emit_audit
from tenantkit.bff import spoofing
from tenantkit.bff.errors import (
    BadRequestError,
    BffError,
    EnvelopeMissingError,
    PayloadTooLargeError,
    RouteNotFoundError,
    UnsupportedMediaTypeError,
)
from tenantkit.bff.service import BffService, RequestContext
from tenantkit.envelope import EnvelopeError, IdentityEnvelope
from tenantkit.observability import begin_request, bind_identity, current_state, end_request, get_logger
from tenantkit.observability.handler import correlation_id_of
from tenantkit.routes import route_template

PROBLEM_BASE = "https://tenantkit.dev/problems/"
__all__ = ["BffApi", "problem", "route_template"]


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
    raw = event.get("body") or ""
    try:
        data = base64.b64decode(raw, validate=True) if event.get("isBase64Encoded") else raw.encode()
    except (ValueError, TypeError):
        raise BadRequestError("body is not valid base64", reason="body_malformed") from None
    if len(data) > max_bytes:
        raise PayloadTooLargeError(f"body exceeds {max_bytes} bytes")
    if not data:
        return data, None
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items() if isinstance(k, str)}
    content_type = str(headers.get("content-type", "application/json")).split(";")[0].strip().lower()
    if content_type != "application/json":
        raise UnsupportedMediaTypeError("send application/json")
    try:
        return data, json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadRequestError("body is not valid JSON", reason="body_malformed") from None


class BffApi:
    def __init__(self, service_provider: Callable[[], BffService]) -> None:
        self._service_provider = service_provider
        self.app = APIGatewayRestResolver()
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
        route = route_template(str(event.get("httpMethod", "?")), str(event.get("path", "")))
        ctx: RequestContext | None = None
        try:
            envelope = envelope_of(event, correlation_id)
            bind_identity(**{k: v for k, v in envelope.log_fields().items() if k != "principal_type"})
            service = self._service_provider()
            payload, body = request_body(event, service.config.max_body_bytes)
            spoofing.check_request(
                envelope, body=body,
                query={**(event.get("queryStringParameters") or {}),
                       **(event.get("multiValueQueryStringParameters") or {})},
                path=str(event.get("path", "")),
                headers={**(event.get("headers") or {}), **(event.get("multiValueHeaders") or {})},
            )
            ctx = RequestContext(envelope=envelope, route=route)
            self.app.append_context(ctx=ctx, payload=payload, service=service)
            response = self.app.resolve(event, context)
        except BffError as error:
            response = _as_proxy(self._reject(error, route, correlation_id))
        except Exception as unexpected:  # a bug, not bad input: 500 problem, type logged only
            get_logger().error("unhandled error", extra={"error_type": type(unexpected).__name__})
            response = _as_proxy(problem(BffError("internal error"), correlation_id))
        finally:
            self.app.clear_context()
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
        app = self.app

        def ctx() -> RequestContext:
            return app.context["ctx"]

        def service() -> BffService:
            return app.context["service"]

        def ok(body: Any, status: int = 200) -> Response:
            return Response(status_code=status, content_type="application/json", body=json.dumps(body),
                            headers={"X-Correlation-Id": ctx().envelope.correlation_id})

        @app.get("/v1/me")
        def me() -> Response:
            return ok(service().me(ctx()))

        @app.post("/v1/sessions")
        def create_session() -> Response:
            return ok(service().create_session(ctx()), 201)

        @app.get("/v1/sessions/<session_id>")
        def get_session(session_id: str) -> Response:
            return ok(service().get_session(ctx(), session_id))

        @app.delete("/v1/sessions/<session_id>")
        def delete_session(session_id: str) -> Response:
            service().delete_session(ctx(), session_id)
            return Response(status_code=204, headers={"X-Correlation-Id": ctx().envelope.correlation_id})

        @app.post("/v1/sessions/<session_id>/messages")
        def send_message(session_id: str) -> Response:
            payload = app.context["payload"]
            if not payload:
                raise BadRequestError("a message body is required", reason="body_missing")
            upstream = service().send_message(ctx(), session_id, payload, "application/json")
            return Response(status_code=200, content_type=upstream.content_type, body=upstream.body.decode(
                "utf-8", errors="replace"), headers={"X-Correlation-Id": ctx().envelope.correlation_id})

        @app.exception_handler(BffError)
        def bff_error(error: BffError) -> Response:
            return self._reject(error, ctx().route, ctx().envelope.correlation_id)

        @app.exception_handler(Exception)
        def unexpected(error: Exception) -> Response:
            get_logger().error("unhandled error", extra={"error_type": type(error).__name__})
            return problem(BffError("internal error"), ctx().envelope.correlation_id)

        @app.not_found
        def not_found(_: Exception) -> Response:
            return self._reject(RouteNotFoundError("no such route"), ctx().route, ctx().envelope.correlation_id)


def _as_proxy(response: Response) -> dict[str, Any]:
    """A Response rendered as the resolver renders it for REST APIs (multiValueHeaders), for
    errors raised before routing."""
    headers = {k: v if isinstance(v, list) else [v] for k, v in response.headers.items()}
    return {"statusCode": response.status_code, "multiValueHeaders": headers, "body": response.body,
            "isBase64Encoded": False}
