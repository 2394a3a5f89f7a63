"""Session ids in logs, audit lines and traces: a keyed hash by default, raw only by choice.

``TENANTKIT_SESSION_ID_LOGGING`` = ``hashed`` (default) | ``raw``; ``TENANTKIT_LOG_HASH_KEY`` is
the HMAC key (the template generates it in Secrets Manager). Hashes are stable across
containers for one key, so a session can still be followed through the logs and joined in
Athena. Without a key, hashed mode writes a fixed placeholder rather than leak the id or crash
logging (the placeholder still matches the audit schema's identifier pattern).
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

from tenantkit.exceptions import ConfigurationError
from tenantkit.observability.settings import (
    SESSION_ID_LOGGING,
    SESSION_ID_LOGGING_MODES,
    observability_settings,
    reset_observability_settings,
)

__all__ = [
    "HASH_PREFIX",
    "UNKEYED_PLACEHOLDER",
    "SessionIdPolicy",
    "reset_session_id_policy",
    "session_id_policy",
]

HASH_PREFIX = "h1:"
UNKEYED_PLACEHOLDER = "redacted:no-hash-key"


class SessionIdPolicy:
    def __init__(self, mode: str = "hashed", key: bytes | None = None) -> None:
        if mode not in SESSION_ID_LOGGING_MODES:
            raise ConfigurationError(SESSION_ID_LOGGING, f"must be one of {', '.join(SESSION_ID_LOGGING_MODES)}")
        self.mode = mode
        self._key = key

    @classmethod
    def from_env(cls) -> SessionIdPolicy:
        settings = observability_settings()
        return cls(settings.session_id_logging, settings.log_hash_key)

    def apply(self, session_id: str | None) -> str | None:
        if session_id is None or self.mode == "raw" or session_id.startswith(HASH_PREFIX):
            return session_id
        if self._key is None:
            return UNKEYED_PLACEHOLDER
        return HASH_PREFIX + _digest(self._key, session_id)


@lru_cache(maxsize=4096)
def _digest(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:32]


_policy: dict[str, SessionIdPolicy] = {}
_policy_source: dict[str, object] = {}


def session_id_policy() -> SessionIdPolicy:
    """The policy of the current observability settings (rebuilt only when they change)."""
    settings = observability_settings()
    cached = _policy.get("policy")
    if cached is None or _policy_source.get("settings") is not settings:
        cached = _policy["policy"] = SessionIdPolicy(settings.session_id_logging, settings.log_hash_key)
        _policy_source["settings"] = settings
    return cached


def reset_session_id_policy() -> None:
    """Forget the cached policy (tests and the local runner change the environment)."""
    _policy.clear()
    _policy_source.clear()
    reset_observability_settings()
