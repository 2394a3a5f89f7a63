"""BFF configuration from the environment, validated once at init."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from tenantkit.config import env_number, env_required, registry_source, require_https_url
from tenantkit.exceptions import ConfigurationError
from tenantkit.identity_keys import DEFAULT_KEYS, IdentityKeys

__all__ = [
    "UPSTREAM_MODES",
    "BffConfig",
]

UPSTREAM_MODES = ("agentcore", "http")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")


@dataclass(frozen=True, slots=True)
class BffConfig:
    sessions_table: str
    upstream_mode: str
    session_ttl_seconds: int = 3600
    upstream_url: str | None = None
    agent_runtime_arn: str | None = None
    agent_runtime_qualifier: str | None = None
    agent_name: str = "default"
    upstream_timeout_seconds: float = 25.0
    upstream_sigv4_service: str | None = None
    max_body_bytes: int = 256 * 1024
    inference_profile_arn: str | None = None
    identity_keys: IdentityKeys = DEFAULT_KEYS  # SPOOF_IDENTITY_KEYS extends the documented defaults
    # The role whose tenant-tagged sessions sign every sessions-table call (None only for
    # in-process tests that hand the service a repository of their own).
    tenant_data_role_arn: str | None = None
    tenant_credentials_seconds: int = 900
    # Revocation bounds (docs/bff.md): the registry the BFF re-checks statuses against (None only
    # when built by hand, e.g. in tests; load_bff() always sets it), its bound, the token leeway.
    tenant_registry: str | None = None
    registry_cache_seconds: float = 30.0
    token_leeway_seconds: int = 60

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> BffConfig:
        env = os.environ if environ is None else environ
        mode = env_required(env, "UPSTREAM_MODE")
        if mode not in UPSTREAM_MODES:
            raise ConfigurationError("UPSTREAM_MODE", f"must be one of {', '.join(UPSTREAM_MODES)}")
        url = env.get("UPSTREAM_URL", "").strip() or None
        arn = env.get("AGENT_RUNTIME_ARN", "").strip() or None
        cloudmap = bool(env.get("CLOUDMAP_NAMESPACE", "").strip())
        if mode == "agentcore" and not arn:
            raise ConfigurationError("AGENT_RUNTIME_ARN", "is required when UPSTREAM_MODE=agentcore")
        if mode == "agentcore" and arn and not arn.startswith("arn:"):
            raise ConfigurationError("AGENT_RUNTIME_ARN", "must be an ARN")
        if mode == "http" and not url and not cloudmap:
            raise ConfigurationError("UPSTREAM_URL", "is required when UPSTREAM_MODE=http (or set CLOUDMAP_NAMESPACE)")
        if url and cloudmap:
            if not url.startswith("/") or url.startswith("//"):
                raise ConfigurationError("UPSTREAM_URL",
                                         "with CLOUDMAP_NAMESPACE it is a path on the instance, e.g. /invocations")
        elif url:
            require_https_url("UPSTREAM_URL", url)
        role_arn = env_required(env, "TENANT_DATA_ROLE_ARN")
        if not _ROLE_ARN.match(role_arn):
            raise ConfigurationError("TENANT_DATA_ROLE_ARN", "must be an IAM role ARN")
        return cls(
            tenant_data_role_arn=role_arn,
            tenant_credentials_seconds=int(env_number(env, "TENANT_CREDENTIALS_SECONDS", 900, 900, 3600)),
            sessions_table=env_required(env, "SESSIONS_TABLE"),
            upstream_mode=mode,
            session_ttl_seconds=int(env_number(env, "SESSION_TTL_SECONDS", 3600, 60, 7 * 86400)),
            upstream_url=url,
            agent_runtime_arn=arn,
            agent_runtime_qualifier=env.get("AGENT_RUNTIME_QUALIFIER", "").strip() or None,
            agent_name=env.get("AGENT_NAME", "").strip() or "default",
            upstream_timeout_seconds=env_number(env, "UPSTREAM_TIMEOUT_SECONDS", 25, 1, 28),
            upstream_sigv4_service=env.get("UPSTREAM_SIGV4_SERVICE", "").strip() or None,
            max_body_bytes=int(env_number(env, "MAX_BODY_BYTES", 256 * 1024, 1024, 6 * 1024 * 1024)),
            inference_profile_arn=env.get("INFERENCE_PROFILE_ARN", "").strip() or None,
            identity_keys=IdentityKeys.from_setting(env.get("SPOOF_IDENTITY_KEYS", "")),
            tenant_registry=registry_source(env),
            registry_cache_seconds=env_number(env, "TENANT_REGISTRY_CACHE_SECONDS", 30, 1, 60),
            token_leeway_seconds=int(env_number(env, "OIDC_CLOCK_LEEWAY_SECONDS", 60, 0, 300)),
        )
