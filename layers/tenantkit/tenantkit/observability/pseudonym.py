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
import os
from functools import lru_cache

HASH_PREFIX = "h1:"
UNKEYED_PLACEHOLDER = "redacted:no-hash-key"


class SessionIdPolicy:
    def __init__(self, mode: str = "hashed", key: bytes | None = None) -> None:
        if mode not in ("hashed", "raw"):
            raise ValueError("TENANTKIT_SESSION_ID_LOGGING must be 'hashed' or 'raw'")
        self.mode = mode
        self._key = key

    @classmethod
    def from_env(cls) -> SessionIdPolicy:
        mode = os.environ.get("TENANTKIT_SESSION_ID_LOGGING", "hashed").strip().lower() or "hashed"
        key = os.environ.get("TENANTKIT_LOG_HASH_KEY", "")
        return cls(mode if mode in ("hashed", "raw") else "hashed", key.encode() if key else None)

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


def session_id_policy() -> SessionIdPolicy:
    """The process-wide policy, read from the environment once."""
    if "policy" not in _policy:
        _policy["policy"] = SessionIdPolicy.from_env()
    return _policy["policy"]


def reset_session_id_policy() -> None:
    """Forget the cached policy (tests and the local runner change the environment)."""
    _policy.clear()
