"""The shared path normalizer and the id-free route template."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from support.adversarial import adversarial_paths
from tenantkit.authorizer import _route
from tenantkit.bff.sessions import new_session_id
from tenantkit.exceptions import MalformedPathError
from tenantkit.paths import ROUTE_WORDS, normalize, template_of

SID = new_session_id()


@pytest.mark.parametrize(("raw", "canonical"), [
    ("/v1/sessions/s_x/messages", "/v1/sessions/s_x/messages"),
    ("/V1/Sessions/s_x/MESSAGES", "/v1/sessions/s_x/messages"),
    ("/v1/session/s_x/message", "/v1/sessions/s_x/messages"),
    ("//v1///sessions//s_x/messages/", "/v1/sessions/s_x/messages"),
    ("/v1/%73essions/s_x", "/v1/sessions/s_x"),
    ("/v1/%2573essions/s_x", "/v1/sessions/s_x"),  # double-encoded
    ("/v1%2Fsessions%2Fs_x", "/v1/sessions/s_x"),  # an encoded slash is a separator
    ("/v1/sessions/Session", "/v1/sessions/Session"),  # an id is kept verbatim, even a route word
    ("/v1/Tenants/globex", "/v1/Tenants/globex"),
    ("/v1/100%", "/v1/100%"),
])
def test_normalization(raw: str, canonical: str) -> None:
    assert normalize(raw).path == canonical


@pytest.mark.parametrize("raw", [
    "/v1/./me", "/v1/../v1/me", "/v1/sessions/..", "/v1/%2e%2e/me", "/v1/%2E/me", "/v1/%252e%252e/me",
    "/v1/%25252e/me", "/v1/%2525252e/me",  # encoded more times than the decoder follows
    "/v1/me%00", "/v1/me\n", "/v1/me%C2%85", "/v1/me%E2%80%A8",
    "/v1\\me", "/v1/%5cme", "/v1/%ff", "/v1/%c0%ae%c0%ae/me", None, 7,
])
def test_malformed_paths_are_rejected(raw: object) -> None:
    with pytest.raises(MalformedPathError):
        normalize(raw)
    assert template_of("GET", raw) == "GET /{malformed_path}"


@pytest.mark.parametrize(("method", "raw", "route"), [
    ("POST", f"/v1/sessions/{SID}/messages", "POST /v1/sessions/{session_id}/messages"),
    ("get", f"/V1/SESSION/{SID}", "GET /v1/sessions/{session_id}"),
    ("GET", "/v1/tenants/globex/sessions", "GET /v1/tenants/{tenant_id}/sessions"),
    ("GET", "/v1/Tenant-ID/globex/sessions", "GET /v1/tenants/{tenant_id}/sessions"),
    ("GET", "/v1/org/globex", "GET /v1/tenants/{tenant_id}"),
    ("GET", "/v1/tid/9b2d4f6a", "GET /v1/tenants/{tenant_id}"),
    ("GET", "/v1/users/bob", "GET /v1/principals/{principal_id}"),
    ("GET", "/v1/globex/acme/s_123", "GET /v1/{segment}/{segment}/{segment}"),
    ("FOO", "/v1/me", "OTHER /v1/me"),
    ("GET", "/v1/" + "/".join("abcdefghijklmnop"), "GET /v1/" + "/".join(["{segment}"] * 11) + "/{more}"),
])
def test_route_templates(method: str, raw: str, route: str) -> None:
    assert template_of(method, raw) == route


def test_authorizer_route_is_the_resource_template_never_the_path() -> None:
    event = {"httpMethod": "POST", "resource": "/v1/{proxy+}", "path": f"/v1/sessions/{SID}/messages"}
    assert _route(event) == "POST /v1/{proxy+}"
    # an event whose resource is concrete (a misbehaving emulator) still yields no id
    assert _route({**event, "resource": f"/v1/tenants/globex/sessions/{SID}"}) == \
        "POST /v1/tenants/{tenant_id}/sessions/{session_id}"


@settings(max_examples=300, deadline=None)
@given(adversarial_paths(), st.sampled_from(["GET", "POST", "DELETE", "PATCH", "OPTIONS", "HEAD", "X"]))
def test_route_never_carries_an_id(generated: tuple[str, set[str]], method: str) -> None:
    raw, ids = generated
    route = template_of(method, raw)
    assert not any(identifier in route for identifier in ids)
    allowed = set(ROUTE_WORDS.values()) | {"tenants", "apps", "principals", "{segment}", "{more}", "{session_id}",
                                           "{tenant_id}", "{app_id}", "{principal_id}", "{malformed_path}"}
    assert set(route.split(" ", 1)[1].strip("/").split("/")) <= allowed


@settings(max_examples=150, deadline=None)
@given(adversarial_paths())
def test_normalization_is_idempotent(generated: tuple[str, set[str]]) -> None:
    once = normalize(generated[0])
    assert normalize(once.path) == once
