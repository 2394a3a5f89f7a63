"""The BFF proxy: envelope-only identity, session binding, spoof rejection, ABAC, outbound
identity to agent runtimes. ``load_bff()`` builds it from the environment once, at init."""

from __future__ import annotations

from collections.abc import Mapping

from tenantkit.bff.api import BffApi
from tenantkit.bff.config import BffConfig
from tenantkit.bff.exceptions import ServiceMisconfiguredError, UpstreamFailedError
from tenantkit.bff.outbound import AgentCoreUpstream, HttpUpstream, Upstream
from tenantkit.bff.service import BffService
from tenantkit.bff.sessions import (
    DynamoDbSessionRepository,
    InMemorySessionRepository,
    SessionRepository,
    SessionStore,
)
from tenantkit.exceptions import ConfigurationError, TenantkitError
from tenantkit.observability import get_logger
from tenantkit.observability.settings import ObservabilitySettings

__all__ = ["BffApi", "BffConfig", "BffService", "DynamoDbSessionRepository", "InMemorySessionRepository",
           "SessionRepository", "SessionStore", "build_session_repository", "build_upstream", "load_bff"]


def build_upstream(config: BffConfig, environ: Mapping[str, str] | None = None) -> Upstream:
    if config.upstream_mode == "agentcore":
        assert config.agent_runtime_arn is not None
        return AgentCoreUpstream(config.agent_runtime_arn, qualifier=config.agent_runtime_qualifier,
                                 timeout_seconds=config.upstream_timeout_seconds)
    from tenantkit.discovery import CloudMapResolver

    resolver = CloudMapResolver.from_env(environ)
    if resolver is None:
        url = config.upstream_url or ""
        return HttpUpstream(lambda: url, timeout_seconds=config.upstream_timeout_seconds,
                            sigv4_service=config.upstream_sigv4_service)
    path = config.upstream_url or "/invocations"  # with Cloud Map, UPSTREAM_URL may name just a path

    def discovered_url() -> str:
        try:
            base = resolver.resolve().url.rstrip("/")
        except TenantkitError as exc:
            raise UpstreamFailedError("upstream discovery failed", reason=exc.reason) from None
        return base + (path if path.startswith("/") else "/" + path)

    return HttpUpstream(discovered_url, timeout_seconds=config.upstream_timeout_seconds,
                        sigv4_service=config.upstream_sigv4_service)


def build_session_repository(config: BffConfig) -> SessionRepository:
    """The production repository: every table call signed with the caller's tenant-scoped
    credentials (``tenantkit.bff.credentials``); there is no path that uses the BFF's own."""
    from tenantkit.bff.credentials import TenantScopedClients

    if not config.tenant_data_role_arn:
        raise ConfigurationError("TENANT_DATA_ROLE_ARN", "is required")
    clients = TenantScopedClients(config.tenant_data_role_arn, duration_seconds=config.tenant_credentials_seconds)
    return DynamoDbSessionRepository(config.sessions_table, ttl_seconds=config.session_ttl_seconds, clients=clients)


def load_bff(environ: Mapping[str, str] | None = None) -> BffApi:
    try:
        ObservabilitySettings.from_env(environ)
        config = BffConfig.from_env(environ)
        upstream = build_upstream(config, environ)
        repository = build_session_repository(config)
    except ConfigurationError as error:
        get_logger().error("bff misconfigured", extra={"variable": error.variable, "problem": error.problem})
        variable = error.variable

        def misconfigured() -> BffService:
            raise ServiceMisconfiguredError(f"{variable} is invalid")

        return BffApi(misconfigured)
    from tenantkit.abac import PolicyEngine
    from tenantkit.snapstart import register_after_restore

    service = BffService(config=config, store=repository, upstream=upstream, policy=PolicyEngine.default())
    # SnapStart: restored environments must not share credentials or SDK clients.
    for drop in (getattr(repository, "drop_clients", None), getattr(upstream, "drop_client", None)):
        if drop is not None:
            register_after_restore(drop)
    return BffApi(lambda: service, keys=config.identity_keys)
