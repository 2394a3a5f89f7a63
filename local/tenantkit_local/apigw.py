"""A local API Gateway (REST) emulator driven by template.yaml's OpenAPI body.

It does what the stack relies on API Gateway for: route matching, the REQUEST authorizer with
its caching semantics (identity source = the Authorization header; no header -> 401 without
invoking; Allow/Deny policies cached per token for the configured TTL; the cached policy is
evaluated against each request's method ARN), injecting the authorizer context as strings,
Lambda proxy integrations, mock integrations, and the gateway responses for 401/403.
"""

from __future__ import annotations

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

from tenantkit_local.gateway_tracing import GatewayTracer, current_trace_header, traced_headers
from tenantkit_local.loopback import LoopbackHttpServer
from tenantkit_local.runner import FunctionRunner, Invocation
from tenantkit_local.template import load_template, parameter_values

API_ID = "local0api01"
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
                 clock: Callable[[], float] = time.monotonic, trace_endpoint: str | None = None) -> None:
        self.tracer = GatewayTracer(trace_endpoint) if trace_endpoint else None
        self.routes, self.authorizers, self.stage = load_api(template_path)
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

    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict, bytes]:
        if self.tracer is None:
            return self._handle(method, raw_path, headers, body)
        with self.tracer.request(method, headers) as trace:
            response = self._handle(method, raw_path, traced_headers(headers, trace.xray_header), body)
            route, _ = self._match(method, urlsplit(raw_path).path)
            trace.finish(response[0], route.path if route else None)
        return response

    def _handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict, bytes]:
        parts = urlsplit(raw_path)
        path = parts.path
        request_id = str(uuid.uuid4())
        route, params = self._match(method, path)
        if route is None:
            return self._gateway_response(404, "Missing Authentication Token", request_id)
        context: dict[str, Any] | None = None
        if route.authorizer:
            spec = self.authorizers[route.authorizer]
            token = next((v for k, v in headers.items() if k.lower() == spec.header.lower()), None)
            if not token:
                return self._gateway_response(401, "Unauthorized", request_id)
            method_arn = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/{self.stage}/{method}{path}"
            policy = self._authorize(spec, token, method, path, headers, method_arn, request_id)
            if policy is None:
                return self._gateway_response(401, "Unauthorized", request_id)
            if not policy_allows(policy, method_arn):
                reason = policy.get("context", {}).get("reason", "")
                return self._gateway_response(403, "Forbidden", request_id, reason=reason)
            context = {k: str(v).lower() if isinstance(v, bool) else str(v)
                       for k, v in (policy.get("context") or {}).items()}
            context["principalId"] = policy.get("principalId", "")
        integration = route.integration
        if integration.get("type") == "mock":
            return self._mock(integration, context or {}, request_id)
        event = self._proxy_event(route, method, path, parts.query, headers, body, params, context, request_id)
        invocation = self.invoke(_function_of(integration["uri"]), event)
        if invocation.error_type is not None:
            return self._gateway_response(502, "Internal server error", request_id)
        response = invocation.response or {}
        out_headers = {k: v[-1] for k, v in (response.get("multiValueHeaders") or {}).items()}
        out_headers.update(response.get("headers") or {})
        return int(response.get("statusCode", 502)), out_headers, str(response.get("body") or "").encode()

    def _match(self, method: str, path: str) -> tuple[Route | None, dict[str, str]]:
        for route in self.routes:
            found = route.pattern.match(path)
            if found and route.method in (method, "ANY"):
                return route, found.groupdict()
        return None, {}

    def _authorize(self, spec: AuthorizerSpec, token: str, method: str, path: str, headers: dict[str, str],
                   method_arn: str, request_id: str) -> dict[str, Any] | None:
        key = (spec.function, token)
        cached = self._cache.get(key)
        if cached and cached[0] > self.clock():
            return cached[1]
        self.authorizer_calls += 1
        event = {"type": "REQUEST", "methodArn": method_arn, "resource": path, "path": path, "httpMethod": method,
                 "headers": dict(headers), "multiValueHeaders": {k: [v] for k, v in headers.items()},
                 "requestContext": {"requestId": request_id, "stage": self.stage, "apiId": API_ID,
                                    "accountId": ACCOUNT, "httpMethod": method, "path": f"/{self.stage}{path}"}}
        invocation = self.invoke(spec.function, event)
        if invocation.error_type is not None:
            return None  # "Unauthorized" (and any other error) is a 401 and is not cached
        if spec.ttl_seconds > 0:
            self._cache[key] = (self.clock() + spec.ttl_seconds, invocation.response)
        return invocation.response

    def _proxy_event(self, route: Route, method: str, path: str, query: str, headers: dict[str, str], body: bytes,
                     params: dict[str, str], context: dict[str, Any] | None, request_id: str) -> dict[str, Any]:
        multi_query = parse_qs(query, keep_blank_values=True) if query else {}
        return {
            "resource": route.path, "path": path, "httpMethod": method,
            "headers": dict(headers), "multiValueHeaders": {k: [v] for k, v in headers.items()},
            "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": params or None, "stageVariables": None,
            "requestContext": {"resourcePath": route.path, "httpMethod": method, "path": f"/{self.stage}{path}",
                               "stage": self.stage, "requestId": request_id, "accountId": ACCOUNT,
                               "apiId": API_ID, "identity": {"sourceIp": "127.0.0.1"}, "authorizer": context},
            "body": body.decode("utf-8", errors="replace") if body else None, "isBase64Encoded": False,
        }

    def _mock(self, integration: dict[str, Any], context: dict[str, Any], request_id: str) -> tuple[int, dict, bytes]:
        template = integration["responses"]["default"]["responseTemplates"]["application/json"]
        text = template.replace("$context.requestId", request_id)
        text = re.sub(r"\$context\.authorizer\.(\w+)", lambda m: str(context.get(m.group(1), "")), text)
        return int(integration["responses"]["default"].get("statusCode", 200)), {
            "Content-Type": "application/json"}, text.encode()

    def _gateway_response(self, status: int, title: str, request_id: str, reason: str = "") -> tuple[int, dict, bytes]:
        body = {"title": title, "status": status, "correlation_id": request_id}
        if reason:
            body["reason"] = reason
        return status, {"Content-Type": "application/problem+json"}, json.dumps(body).encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length", "0") or 0)
                body = self.rfile.read(length) if length else b""
                status, headers, payload = gateway.handle(self.command, self.path, dict(self.headers.items()), body)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler
