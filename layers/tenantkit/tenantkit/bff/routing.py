"""The BFF's router: five routes, matched and rendered as Powertools' ``APIGatewayRestResolver``
matches and renders them, without importing its ``event_handler`` package.

That package's ``__init__`` imports every resolver Powertools has (AppSync with asyncio, Bedrock
agents, VPC Lattice, the event data classes, OpenAPI): more than 100 modules and a large part of
the BFF's cold start, for a router of five routes with no CORS, compression, validation or
middleware. Here, as there: a ``<name>`` segment matches the characters Powertools admits, a
rule's trailing ``/`` is dropped and the path may end in any number of them, static routes are
tried before dynamic ones, the method is compared upper-cased, an exception raised by a route
(or by the not-found handler) goes to the first handler registered along its class's MRO, and
the answer is the REST proxy response with ``multiValueHeaders``. ``tests/unit/test_bff_routing.py``
holds it equal to the Powertools resolver with the same routes for generated methods and paths.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Response", "Router"]

# Powertools' route patterns (aws_lambda_powertools.event_handler.api_gateway).
_DYNAMIC_SEGMENT = re.compile(r"(<\w+>)")
_SEGMENT_CHARACTERS = r"-._~()'!*:@,;=+&$" + r"%<> \[\]{}|^" + r"\\w"


@dataclass
class Response:
    """A proxy response: ``content_type`` becomes the ``Content-Type`` header unless ``headers`` has one."""

    status_code: int
    content_type: str | None = None
    body: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def as_proxy(self) -> dict[str, Any]:
        headers = dict(self.headers)
        if self.content_type:
            headers.setdefault("Content-Type", self.content_type)
        return {"statusCode": self.status_code, "body": self.body, "isBase64Encoded": False,
                "multiValueHeaders": {name: [value] for name, value in headers.items() if value is not None}}


Handler = Callable[..., Response]
ErrorHandler = Callable[[Any, Any], Response]


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


class Router:
    def __init__(self) -> None:
        self._static: list[_Route] = []
        self._dynamic: list[_Route] = []
        self._exception_handlers: dict[type[BaseException], ErrorHandler] = {}
        self._not_found: Handler | None = None

    def route(self, method: str, rule: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            dynamic = _DYNAMIC_SEGMENT.search(rule) is not None
            # the REST resolver's: a rule without its trailing "/", a path with any number of them
            template = _DYNAMIC_SEGMENT.sub(rf"(?P\1[{_SEGMENT_CHARACTERS}]+)", rule.rstrip("/"))
            pattern = re.compile(f"^{template}/*$")
            (self._dynamic if dynamic else self._static).append(_Route(method.upper(), pattern, handler))
            return handler
        return register

    def exception_handler(self, exception: type[BaseException]) -> Callable[[ErrorHandler], ErrorHandler]:
        """``handler(request, error)`` answers ``exception`` (and its subclasses) raised by a route."""

        def register(handler: ErrorHandler) -> ErrorHandler:
            self._exception_handlers[exception] = handler
            return handler
        return register

    def not_found(self, handler: Handler) -> Handler:
        """``handler(request)`` answers a request no route matches."""
        self._not_found = handler
        return handler

    def resolve(self, method: str, path: str, request: Any) -> dict[str, Any]:
        """The proxy response of the route for ``method`` and ``path``, called as
        ``handler(request, **path parameters)``."""
        method = method.upper()
        for route in self._static + self._dynamic:
            match = route.pattern.match(path) if route.method == method else None
            if match:
                return self._call(request, route.handler, **match.groupdict())
        if self._not_found is None:
            return Response(404, "application/json", '{"statusCode":404,"message":"Not found"}').as_proxy()
        return self._call(request, self._not_found)

    def _call(self, request: Any, handler: Handler, **params: str) -> dict[str, Any]:
        try:
            return handler(request, **params).as_proxy()
        except Exception as error:
            on_error = self._handler_for(type(error))
            if on_error is None:
                raise
            return on_error(request, error).as_proxy()

    def _handler_for(self, kind: type[BaseException]) -> ErrorHandler | None:
        return next((self._exception_handlers[k] for k in kind.__mro__ if k in self._exception_handlers), None)
