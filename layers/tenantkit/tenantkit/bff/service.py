"""The BFF's use cases: each checks ABAC, touches the session repository once, and audits.

Routes (``tenantkit.bff.api``) only parse and shape; every rule is here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tenantkit.abac import AbacResource, Action, PolicyEngine
from tenantkit.audit import emit_audit
from tenantkit.bff.config import BffConfig
from tenantkit.bff.exceptions import AbacDeniedError
from tenantkit.bff.outbound import Upstream, UpstreamRequest, UpstreamResponse
from tenantkit.bff.revocation import AccessGuard, RegistryStatus
from tenantkit.bff.sessions import SESSION_ID_PATTERN, SessionBinding, SessionRepository
from tenantkit.envelope import IdentityEnvelope
from tenantkit.observability import bind_identity
from tenantkit.observability.spans import client_span


@dataclass
class RequestContext:
    """One request: the envelope (with this request's correlation id) and what it cost."""

    envelope: IdentityEnvelope
    route: str
    cost: dict[str, Any] = field(default_factory=dict)


class BffService:
    def __init__(self, *, config: BffConfig, store: SessionRepository, upstream: Upstream, policy: PolicyEngine,
                 access: AccessGuard | None = None) -> None:
        self.config = config
        self.store = store
        self.upstream = upstream
        self.policy = policy
        self.access = access or access_guard(config)

    def me(self, ctx: RequestContext) -> dict[str, Any]:
        envelope = ctx.envelope
        self._authorize(ctx, "profile.read", AbacResource("Profile", envelope.principal_id, envelope.tenant_id,
                                                          envelope.app_id, envelope.principal_id))
        return envelope.model_dump(include={"envelope_version", "app_id", "tenant_id", "principal_id",
                                            "principal_type", "roles", "scopes", "auth_time", "correlation_id"})

    def create_session(self, ctx: RequestContext) -> dict[str, Any]:
        envelope = ctx.envelope
        self._authorize(ctx, "session.create", AbacResource("Session", "new", envelope.tenant_id, envelope.app_id,
                                                            envelope.principal_id))
        binding = self.store.create(envelope)
        bind_identity(session_id=binding.session_id)
        emit_audit("session.bound", "success", "session_created", route=ctx.route, status=201,
                   session_id=binding.session_id, principal_type=envelope.principal_type)
        return binding.public()

    def get_session(self, ctx: RequestContext, session_id: str) -> dict[str, Any]:
        binding = self._owned_session(ctx, session_id, "session.read")
        return binding.public()

    def delete_session(self, ctx: RequestContext, session_id: str) -> None:
        self._owned_session(ctx, session_id, "session.delete")
        self.store.delete(session_id, ctx.envelope)
        emit_audit("session.deleted", "success", "session_deleted", route=ctx.route, status=204,
                   session_id=session_id)

    def send_message(self, ctx: RequestContext, session_id: str, payload: bytes, content_type: str) -> UpstreamResponse:
        binding = self._owned_session(ctx, session_id, "message.send")
        emit_audit("session.continued", "success", "session_bound_to_caller", route=ctx.route,
                   session_id=binding.session_id)
        ctx.cost["agent_name"] = self.config.agent_name
        ctx.cost["inference_profile_arn"] = self.config.inference_profile_arn
        agent = self.config.agent_name
        with client_span(f"invoke_agent {agent}", {"gen_ai.operation.name": "invoke_agent",
                                                   "gen_ai.agent.name": agent}) as span:
            response = self.upstream.invoke(UpstreamRequest(
                envelope=ctx.envelope, session_id=binding.session_id, correlation_id=ctx.envelope.correlation_id,
                payload=payload, content_type=content_type,
            ))
            if span is not None:
                span.set("http.response.status_code", response.status)
                for name, value in response.usage.items():
                    span.set(f"gen_ai.usage.{name}", value)
        ctx.cost.update(response.usage)
        return response

    def _owned_session(self, ctx: RequestContext, session_id: str, action: Action) -> SessionBinding:
        if SESSION_ID_PATTERN.match(session_id):  # a malformed id is never an identity field
            bind_identity(session_id=session_id)
        binding = self.store.get_for(session_id, ctx.envelope)  # one read; foreign/expired -> 404
        self._authorize(ctx, action, AbacResource("Session", binding.session_id, binding.tenant_id,
                                                  binding.app_id, binding.principal_id))
        return binding

    def _authorize(self, ctx: RequestContext, action: Action, resource: AbacResource) -> None:
        decision = self.policy.authorize(ctx.envelope, action, resource)
        if not decision.allowed:
            raise AbacDeniedError(f"{action} is not permitted", reason=decision.reason)


def access_guard(config: BffConfig) -> AccessGuard:
    """Token expiry with the authorizer's leeway, and registry statuses within the configured bound."""
    registry = (RegistryStatus(config.tenant_registry, bound_seconds=config.registry_cache_seconds)
                if config.tenant_registry else None)
    return AccessGuard(leeway_seconds=config.token_leeway_seconds, registry=registry)
