"""A local API Gateway (REST) emulator driven by template.yaml's OpenAPI body.

It does what the stack relies on API Gateway for: route matching, the REQUEST authorizer with
its caching semantics (identity source = the Authorization header; no header -> 401 without
invoking; Allow/Deny policies cached per token for the configured TTL; the cached policy is
evaluated against each request's method ARN), injecting the authorizer context as strings,
Lambda proxy integrations, mock integrations, and the gateway responses (bodies and statuses
read from the template's ``x-amazon-apigateway-gateway-responses``, API Gateway's defaults for
the rest: an unknown resource or method is 403 ``Missing Authentication Token``).

As a REST API does: ``headers``/``queryStringParameters`` hold the last value of a repeated
name and ``multiValueHeaders``/``multiValueQueryStringParameters`` every value; every method,
OPTIONS and HEAD included, reaches an ``ANY`` method; the authorizer event's ``resource`` is
the resource template (``/v1/{proxy+}``). One deliberate difference: a body that is not valid
UTF-8 is handed over base64-encoded (``isBase64Encoded``) so the function sees the exact
bytes and can reject them, instead of text with replacement characters. A chunked body is
handed over whole; a request whose body cannot be framed (a Content-Length that is not one
number, malformed chunks) is 400 and one past the 10 MB payload limit 413, before anything runs.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tenantkit.envelope import rest_integration_context
from tenantkit.exceptions import TenantkitError
from tenantkit_local.gateway_responses import GatewayResponses
from tenantkit_local.gateway_tracing import GatewayTracer, current_trace_header, traced_headers
from tenantkit_local.loopback import LoopbackHttpServer
from tenantkit_local.runner import FunctionRunner, Invocation
from tenantkit_local.template import load_template, parameter_values

API_ID = "local0api01"
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's request payload limit
_CONTENT_LENGTH = re.compile(r"[0-9]+")
ACCOUNT = "123456789012"
REGION = "us-east-1"


@dataclass(frozen=True)
class Route:
    path: str
    pattern: re.Pattern[str]
    method: str  # GET, POST, ... or ANY
    integration: dict[str, Any]
    authorizer: str | None  # security scheme name


@dataclass(frozen=True)
class AuthorizerSpec:
    function: str
    header: str
    ttl_seconds: int


def _function_of(uri: Any) -> str:
    text = uri.get("Fn::Sub") if isinstance(uri, dict) else uri
    match = re.search(r"\$\{(\w+)\.Arn\}", text if isinstance(text, str) else "")
    if not match:
        raise ValueError(f"cannot tell which function integration URI {uri!r} invokes")
    return match.group(1)


def _path_pattern(path: str) -> re.Pattern[str]:
    regex = re.sub(r"\\\{(\w+)\\\+\\\}", r"(?P<\1>.+)", re.escape(path))
    regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", regex)
    return re.compile(f"^{regex}$")


def load_gateway_responses(template_path: Path, logical_id: str = "TenantApi") -> GatewayResponses:
    props = load_template(template_path)["Resources"][logical_id]["Properties"]
    return GatewayResponses.from_definition(props["DefinitionBody"])


def load_api(template_path: Path, logical_id: str = "TenantApi",
             parameter_overrides: dict[str, str] | None = None) -> tuple[list[Route], dict[str, AuthorizerSpec], str]:
    template = load_template(template_path)
    params = parameter_values(template, parameter_overrides or {})
    props = template["Resources"][logical_id]["Properties"]
    stage = str(params.get("StageName", "dev")) if isinstance(props.get("StageName"), dict) else props["StageName"]
    body = props["DefinitionBody"]
    authorizers: dict[str, AuthorizerSpec] = {}
    for name, scheme in body.get("components", {}).get("securitySchemes", {}).items():
        spec = scheme.get("x-amazon-apigateway-authorizer")
        if not spec:
            continue
        ttl = spec.get("authorizerResultTtlInSeconds", 300)
        ttl = params.get(ttl["Ref"]) if isinstance(ttl, dict) else ttl
        header = spec["identitySource"].split("method.request.header.", 1)[1]
        authorizers[name] = AuthorizerSpec(_function_of(spec["authorizerUri"]), header, int(ttl))
    routes: list[Route] = []
    for path, operations in body["paths"].items():
        for method, operation in operations.items():
            verb = "ANY" if method == "x-amazon-apigateway-any-method" else method.upper()
            security = operation.get("security") or []
            scheme = next(iter(security[0]), None) if security else None
            routes.append(Route(path, _path_pattern(path), verb, operation["x-amazon-apigateway-integration"],
                                scheme))
    # Exact paths before greedy ones, as API Gateway matches the most specific resource.
    routes.sort(key=lambda r: ("+}" in r.path, -len(r.path)))
    return routes, authorizers, stage


def _header_maps(pairs: list[tuple[str, str]]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """REST API header maps: the last value per name, and every value per name (names grouped
    case-insensitively under the first spelling seen)."""
    spelling: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        key = spelling.setdefault(name.lower(), name)
        multi.setdefault(key, []).append(value)
    return {k: v[-1] for k, v in multi.items()}, multi


def _event_body(body: bytes) -> tuple[str | None, bool]:
    if not body:
        return None, False
    try:
        return body.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(body).decode(), True


class _FramingError(TenantkitError):
    """A request body that cannot be framed: the status and ``{"message"}`` body to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.response = (status, [("Content-Type", "application/json")],
                         json.dumps({"message": message}).encode())


_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")


def _read_chunked(stream: Any, limit: int) -> bytes:
    """A ``Transfer-Encoding: chunked`` body, whole (API Gateway hands the function the body, not
    its framing): 400 for malformed framing, 413 past ``limit`` bytes, checked before reading."""
    body = bytearray()
    while True:
        line = stream.readline(1026)
        size_text = line.split(b";", 1)[0].strip()
        if not line.endswith(b"\n") or not _CHUNK_SIZE.fullmatch(size_text):
            raise _FramingError(400, "Bad Request")
        size = int(size_text, 16)
        if size == 0:
            break
        if len(body) + size > limit:
            raise _FramingError(413, "Request Too Long")
        chunk = stream.read(size)
        if len(chunk) != size or stream.readline(3) not in (b"\r\n", b"\n"):
            raise _FramingError(400, "Bad Request")
        body += chunk
    for _ in range(100):  # trailer fields, up to the blank line
        line = stream.readline(65537)
        if line in (b"\r\n", b"\n"):
            return bytes(body)
        if not line.endswith(b"\n"):
            break
    raise _FramingError(400, "Bad Request")


def policy_allows(policy: dict[str, Any], method_arn: str) -> bool:
    allowed = False
    for statement in policy.get("policyDocument", {}).get("Statement", []):
        resources = statement.get("Resource", [])
        resources = [resources] if isinstance(resources, str) else resources
        if any(fnmatch.fnmatchcase(method_arn, r) for r in resources):
            if statement.get("Effect") == "Deny":
                return False
            allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


class LocalApiGateway(LoopbackHttpServer):
    thread_name = "local-apigw"

    def __init__(self, template_path: Path, runners: dict[str, FunctionRunner], *, port: int = 0,
                 on_invocation: Callable[[str, Invocation], None] | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 parameter_overrides: dict[str, str] | None = None, trace_endpoint: str | None = None) -> None:
        self.tracer = GatewayTracer(trace_endpoint) if trace_endpoint else None
        self.routes, self.authorizers, self.stage = load_api(template_path, parameter_overrides=parameter_overrides)
        self.gateway_responses = load_gateway_responses(template_path)
        self.runners = runners
        self.on_invocation = on_invocation or (lambda name, inv: None)
        self.clock = clock
        self.authorizer_calls = 0
        self._cache: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}
        self._invoke_lock = threading.Lock()  # the in-process runner patches process-wide state
        super().__init__(self._handler(), port=port)

    @property
    def url(self) -> str:
        return self.base_url

    def invoke(self, function: str, event: dict[str, Any]) -> Invocation:
        # One invocation at a time, its audit delivery included: the in-process runner redirects
        # the process's stdout, so two concurrent invocations would mix their captured lines.
        trace_header = current_trace_header.get()
        with self._invoke_lock:
            invocation = self.runners[function].invoke(
                event, environ={"_X_AMZN_TRACE_ID": trace_header} if trace_header else None)
            self.on_invocation(function, invocation)
        return invocation

    def handle(self, method: str, raw_path: str, headers: dict[str, str] | list[tuple[str, str]],
               body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        """One request; ``headers`` as received, repeated names included (a list of pairs)."""
        pairs = list(headers.items()) if isinstance(headers, dict) else list(headers)
        if self.tracer is None:
            return self._handle(method, raw_path, pairs, body)
        with self.tracer.request(method, dict(pairs)) as trace:
            response = self._handle(method, raw_path, traced_headers(pairs, trace.xray_header), body)
            route, _ = self._match(method, urlsplit(raw_path).path)
            trace.finish(response[0], route.path if route else None)
        return response

    def _handle(self, method: str, raw_path: str, pairs: list[tuple[str, str]],
                body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        single, multi = _header_maps(pairs)
        parts = urlsplit(raw_path)
        path = parts.path
        request_id = str(uuid.uuid4())
        route, params = self._match(method, path)
        if route is None:
            return self._gateway_response("MISSING_AUTHENTICATION_TOKEN", request_id)
        context: dict[str, Any] | None = None
        if route.authorizer:
            spec = self.authorizers[route.authorizer]
            token = next((v for k, v in single.items() if k.lower() == spec.header.lower()), None)
            if not token:
                return self._gateway_response("UNAUTHORIZED", request_id)
            method_arn = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/{self.stage}/{method}{path}"
            event = self._request_event(route, method, path, parts.query, single, multi, params, request_id)
            outcome, policy = self._authorize(spec, token, {**event, "type": "REQUEST", "methodArn": method_arn})
            if outcome != "ok" or policy is None:
                return self._gateway_response(outcome, request_id)
            if not policy_allows(policy, method_arn):
                return self._gateway_response("ACCESS_DENIED", request_id, authorizer=policy.get("context"))
            context = rest_integration_context(policy.get("context") or {})
            context["principalId"] = policy.get("principalId", "")
        integration = route.integration
        if integration.get("type") == "mock":
            return self._mock(integration, context or {}, request_id)
        event = self._request_event(route, method, path, parts.query, single, multi, params, request_id)
        event["requestContext"]["authorizer"] = context
        event["body"], event["isBase64Encoded"] = _event_body(body)
        invocation = self.invoke(_function_of(integration["uri"]), event)
        response = invocation.response if isinstance(invocation.response, dict) else None
        if invocation.error_type is not None or response is None:
            return self._gateway_response("LAMBDA_PROXY_ERROR", request_id)
        out: list[tuple[str, str]] = []
        multi_out = response.get("multiValueHeaders") or {}
        for name, values in multi_out.items():
            out.extend((name, str(v)) for v in (values if isinstance(values, list) else [values]))
        taken = {name.lower() for name in multi_out}
        out.extend((k, str(v)) for k, v in (response.get("headers") or {}).items() if k.lower() not in taken)
        payload = str(response.get("body") or "")
        data = base64.b64decode(payload) if response.get("isBase64Encoded") else payload.encode()
        return int(response.get("statusCode", 502)), out, data

    def _match(self, method: str, path: str) -> tuple[Route | None, dict[str, str]]:
        """The most specific resource matching ``path``, then its method (or ANY); a resource
        without that method is no match (API Gateway does not fall back to a greedy resource)."""
        resource: str | None = None
        for route in self.routes:
            if resource is not None and route.path != resource:
                continue
            found = route.pattern.match(path)
            if not found:
                continue
            resource = route.path
            if route.method in (method, "ANY"):
                return route, found.groupdict()
        return None, {}

    def _authorize(self, spec: AuthorizerSpec, token: str, event: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
        """``("ok", policy)``, or the gateway response type to answer with."""
        key = (spec.function, token)
        cached = self._cache.get(key)
        if cached and cached[0] > self.clock():
            return "ok", cached[1]
        self.authorizer_calls += 1
        invocation = self.invoke(spec.function, event)
        if invocation.error_type is not None:  # not cached
            unauthorized = invocation.error_message == "Unauthorized"
            return ("UNAUTHORIZED" if unauthorized else "AUTHORIZER_FAILURE"), None
        policy = invocation.response
        if not isinstance(policy, dict) or not isinstance(policy.get("policyDocument"), dict):
            return "AUTHORIZER_CONFIGURATION_ERROR", None
        if spec.ttl_seconds > 0:
            self._cache[key] = (self.clock() + spec.ttl_seconds, policy)
        return "ok", policy

    def _request_event(self, route: Route, method: str, path: str, query: str, single: dict[str, str],
                       multi: dict[str, list[str]], params: dict[str, str], request_id: str) -> dict[str, Any]:
        """The REST API request shape shared by the REQUEST authorizer event and the proxy event."""
        multi_query = parse_qs(query, keep_blank_values=True) if query else {}
        return {
            "resource": route.path, "path": path, "httpMethod": method,
            "headers": dict(single), "multiValueHeaders": {k: list(v) for k, v in multi.items()},
            "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": params or None, "stageVariables": None,
            "requestContext": {"resourcePath": route.path, "httpMethod": method, "path": f"/{self.stage}{path}",
                               "stage": self.stage, "requestId": request_id, "accountId": ACCOUNT,
                               "apiId": API_ID, "identity": {"sourceIp": "127.0.0.1"}},
        }

    def _mock(self, integration: dict[str, Any], context: dict[str, Any], request_id: str
              ) -> tuple[int, list[tuple[str, str]], bytes]:
        template = integration["responses"]["default"]["responseTemplates"]["application/json"]
        text = template.replace("$context.requestId", request_id)
        text = re.sub(r"\$context\.authorizer\.(\w+)", lambda m: str(context.get(m.group(1), "")), text)
        return int(integration["responses"]["default"].get("statusCode", 200)), [
            ("Content-Type", "application/json")], text.encode()

    def _gateway_response(self, response_type: str, request_id: str, authorizer: dict[str, Any] | None = None
                          ) -> tuple[int, list[tuple[str, str]], bytes]:
        rendered = self.gateway_responses.render(response_type, request_id=request_id, authorizer=authorizer)
        return rendered.status, list(rendered.headers.items()), rendered.body

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                    try:  # chunked framing wins over any Content-Length (RFC 9112 6.3)
                        body = _read_chunked(self.rfile, MAX_PAYLOAD_BYTES)
                    except _FramingError as error:
                        self._answer(*error.response)
                        return
                    self._answer(*gateway.handle(self.command, self.path, list(self.headers.items()), body))
                    return
                lengths = {v.strip() for v in self.headers.get_all("Content-Length") or ["0"]}
                declared = lengths.pop() if len(lengths) == 1 else ""
                if not _CONTENT_LENGTH.fullmatch(declared):  # not one number: no body can be read
                    self._answer(400, [("Content-Type", "application/json")], b'{"message":"Bad Request"}')
                    return
                if len(declared) > 9 or int(declared) > MAX_PAYLOAD_BYTES:  # refused unread, as API Gateway does
                    self._answer(413, [("Content-Type", "application/json")], b'{"message":"Request Too Long"}')
                    return
                length = int(declared)
                body = self.rfile.read(length) if length else b""
                self._answer(*gateway.handle(self.command, self.path, list(self.headers.items()), body))

            def _answer(self, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
                self.send_response(status)
                for name, value in headers:
                    if name.lower() != "content-length":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _serve

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler
