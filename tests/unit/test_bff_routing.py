"""The BFF's router answers every request as Powertools' REST resolver with the same routes did.

Both are given the BFF's five routes, a not-found handler and exception handlers (one for a base
class, one for ``Exception``); generated methods (any case) and paths (route words, ids of any
characters, trailing slashes, newlines, empty segments) go to both, and the proxy responses
(status, body, headers) must be equal: which route matched, with which path parameters, and what
an error or a miss became.
"""

from __future__ import annotations

import json

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler import Response as PowertoolsResponse
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantkit.bff.routing import Response, Router

ROUTES = [("GET", "/v1/me"), ("POST", "/v1/sessions"), ("GET", "/v1/sessions/<session_id>"),
          ("DELETE", "/v1/sessions/<session_id>"), ("POST", "/v1/sessions/<session_id>/messages")]


class Refused(Exception):
    pass


class RefusedHarder(Refused):
    pass


def _body(rule: str, params: dict[str, str]) -> str:
    if params.get("session_id", "").startswith("boom"):
        raise RefusedHarder("refused")  # handled by the base class's handler
    if params.get("session_id", "").startswith("crash"):
        raise KeyError("crash")  # handled by the Exception handler
    return json.dumps({"rule": rule, "params": params})


def powertools_app() -> APIGatewayRestResolver:
    app = APIGatewayRestResolver()
    for method, rule in ROUTES:
        def handler(rule: str = rule, **params: str) -> PowertoolsResponse:
            return PowertoolsResponse(200, "application/json", _body(rule, params), {"X-Rule": rule})
        app.route(rule, method)(handler)
    app.exception_handler(Refused)(lambda e: PowertoolsResponse(403, "application/problem+json", type(e).__name__))
    app.exception_handler(Exception)(lambda e: PowertoolsResponse(500, None, "internal", {"X-Error": "1"}))
    app.not_found(lambda e: PowertoolsResponse(404, "application/problem+json", "no route"))
    return app


def our_router() -> Router:
    router = Router()
    for method, rule in ROUTES:
        def handler(request: object, rule: str = rule, **params: str) -> Response:
            return Response(200, "application/json", _body(rule, params), {"X-Rule": rule})
        router.route(method, rule)(handler)
    router.exception_handler(Refused)(lambda request, e: Response(403, "application/problem+json", type(e).__name__))
    router.exception_handler(Exception)(lambda request, e: Response(500, None, "internal", {"X-Error": "1"}))
    router.not_found(lambda request: Response(404, "application/problem+json", "no route"))
    return router


POWERTOOLS, OURS = powertools_app(), our_router()
segment = st.one_of(st.sampled_from(["v1", "me", "sessions", "messages", "", "boom1", "crash", "s_abc"]),
                    st.text(max_size=8), st.text(alphabet="-._~()'!*:@,;=+&$%<> []{}|^/\n", max_size=5))
paths = st.one_of(st.lists(segment, max_size=5).map(lambda parts: "/" + "/".join(parts)),
                  st.sampled_from([r for _, r in ROUTES]).map(lambda r: r.replace("<session_id>", "s_1")),
                  st.builds(lambda sid, tail: f"/v1/sessions/{sid}{tail}", st.text(min_size=1, max_size=10),
                            st.sampled_from(["", "/", "/messages", "/messages/", "\n", "/x"])))
methods = st.sampled_from(["GET", "POST", "DELETE", "PUT", "PATCH", "OPTIONS", "HEAD", "get", "Post", "delete"])


def _comparable(response: dict) -> tuple:
    return response["statusCode"], response["body"], response["isBase64Encoded"], dict(response["multiValueHeaders"])


@settings(max_examples=400, deadline=None)
@given(method=methods, path=paths)
def test_every_request_gets_the_powertools_resolvers_answer(method, path):
    expected = POWERTOOLS.resolve({"httpMethod": method, "path": path, "headers": {}, "requestContext": {}}, None)
    assert _comparable(OURS.resolve(method, path, None)) == _comparable(expected)


def test_the_routes_are_reached_with_their_parameters():
    # the property above compares; this pins what a match looks like, so the comparison is not vacuous
    answer = OURS.resolve("get", "/v1/sessions/s_ab-c.9", None)
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"]) == {"rule": "/v1/sessions/<session_id>", "params": {"session_id": "s_ab-c.9"}}
    assert answer["multiValueHeaders"] == {"X-Rule": ["/v1/sessions/<session_id>"],
                                           "Content-Type": ["application/json"]}
    assert OURS.resolve("PUT", "/v1/me", None)["statusCode"] == 404
    assert OURS.resolve("GET", "/v1/sessions/boom", None)["body"] == "RefusedHarder"
    event = {"httpMethod": "GET", "path": "/", "headers": {}, "requestContext": {}}
    bare = APIGatewayRestResolver().resolve(event, None)
    assert _comparable(Router().resolve("GET", "/", None)) == _comparable(bare)  # no not-found handler: the default
