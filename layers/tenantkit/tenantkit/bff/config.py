"""BFF configuration from the environment, validated once at init."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from tenantkit.config import env_number, env_required
from tenantkit.exceptions import ConfigurationError

__all__ = [
    "UPSTREAM_MODES",
    "BffConfig",
]

UPSTREAM_MODES = ("agentcore", "http")


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
        if url and urlsplit(url).scheme not in ("http", "https"):
            raise ConfigurationError("UPSTREAM_URL", "must be an http(s) URL")
        return cls(
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
        )
