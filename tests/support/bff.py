"""Builders for BFF tests: envelopes, API Gateway proxy events with an authorizer context."""

from __future__ import annotations

import json
from typing import Any

from tenantkit.envelope import IdentityEnvelope, rest_integration_context

ACME_TID = "6e1c3a4b-2f7d-4c1e-9a8b-0d5f3e2a1b7c"
GLOBEX_TID = "9b2d4f6a-8c1e-4a3b-b5d7-e9f1a2c3d4e5"
FAR_FUTURE_EXP = 4_102_444_800  # 2100-01-01: tests that are not about expiry never hit it


def envelope(tenant: str = "acme", app: str = "portal", oid: str = "a1111111-1111-4111-8111-111111111111",
             principal_type: str = "user", scopes: tuple[str, ...] = ("access_as_user", "agent.invoke"),
             roles: tuple[str, ...] = (), exp: int | None = FAR_FUTURE_EXP) -> IdentityEnvelope:
    tid = ACME_TID if tenant == "acme" else GLOBEX_TID
    return IdentityEnvelope(
        app_id=app, tenant_id=tenant, principal_id=f"{tid}:{oid}", principal_type=principal_type,
        correlation_id="authorizer-request", issuer=f"https://login.microsoftonline.com/{tid}/v2.0",
        scopes=scopes, roles=roles, auth_time=1795867200, exp=exp,
    )


def proxy_event(method: str, path: str, env: IdentityEnvelope | None, *, body: Any = None,
                headers: dict[str, str] | None = None, query: dict[str, str] | None = None,
                request_id: str = "req-bff-1", raw_body: str | None = None) -> dict[str, Any]:
    """A REST API Lambda proxy event; authorizer context values stringified like API Gateway does."""
    context: dict[str, Any] | None = None
    if env is not None:
        context = rest_integration_context(env.to_authorizer_context())
        context["principalId"] = env.principal_id
        context["integrationLatency"] = 12
    all_headers = {"Content-Type": "application/json", "Authorization": "Bearer inbound.user.token-CANARY",
                   "Cookie": "portal_session=CANARY-COOKIE-bff", **(headers or {})}
    text = raw_body if raw_body is not None else (json.dumps(body) if body is not None else None)
    return {
        "resource": "/v1/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": {"proxy": path.removeprefix("/v1/")},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/v1/{proxy+}", "httpMethod": method, "path": f"/dev{path}", "stage": "dev",
            "requestId": request_id, "accountId": "123456789012", "apiId": "a1b2c3d4e5",
            "identity": {"sourceIp": "203.0.113.10"}, "authorizer": context,
        },
        "body": text,
        "isBase64Encoded": False,
    }


class MemoryDynamo:
    """The session store's three DynamoDB calls over a dict, conditions included."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def put_item(self, TableName: str, Item: dict[str, Any], ConditionExpression: str | None = None) -> dict:
        if ConditionExpression and Item["pk"]["S"] in self.items:
            raise _conditional_failure()
        self.items[Item["pk"]["S"]] = Item
        return {}

    def get_item(self, TableName: str, Key: dict[str, Any], ConsistentRead: bool = False) -> dict:
        item = self.items.get(Key["pk"]["S"])
        return {"Item": item} if item else {}

    def delete_item(self, **kwargs: Any) -> dict:
        key = kwargs["Key"]["pk"]["S"]
        item = self.items.get(key)
        values = kwargs.get("ExpressionAttributeValues") or {}
        if item is None or any(item[name]["S"] != values[f":{name[0]}"]["S"]
                               for name in ("app_id", "tenant_id", "principal_id")):
            raise _conditional_failure()
        del self.items[key]
        return {}


def _conditional_failure() -> Exception:
    error = Exception("ConditionalCheckFailedException")
    error.response = {"Error": {"Code": "ConditionalCheckFailedException"}}  # type: ignore[attr-defined]
    return error


class RecordingUpstream:
    """Keeps every outbound request; answers like a well-behaved agent."""

    def __init__(self) -> None:
        self.requests: list[Any] = []

    def invoke(self, request: Any) -> Any:
        from tenantkit.bff.outbound import UpstreamResponse

        self.requests.append(request)
        return UpstreamResponse(200, b'{"reply":"ok"}', "application/json", {})


_POLICY: Any = None


def memory_bff(**config: Any) -> tuple[Any, MemoryDynamo, RecordingUpstream]:
    """A BffApi over an in-memory session table and a recording upstream."""
    from tenantkit.abac import PolicyEngine
    from tenantkit.bff import BffApi, BffConfig, BffService, SessionStore

    global _POLICY
    if _POLICY is None:
        _POLICY = PolicyEngine.default()  # Cedar policy parsing is the slow part; it is read-only
    dynamo, upstream = MemoryDynamo(), RecordingUpstream()
    bff_config = BffConfig(sessions_table="sessions", upstream_mode="http", upstream_url="http://127.0.0.1:9/x",
                           **config)
    service = BffService(config=bff_config, store=SessionStore("sessions", client_factory=lambda: dynamo),
                         upstream=upstream, policy=_POLICY)
    return BffApi(lambda: service, keys=bff_config.identity_keys), dynamo, upstream
