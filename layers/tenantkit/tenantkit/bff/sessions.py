"""Session binding in DynamoDB: a session belongs to one (app_id, tenant_id, principal_id).

Key design (see docs/bff.md):

* base table ``pk = "SESSION#<session_id>"``: session ids are 256-bit random, so items spread
  evenly over partitions whatever the tenant mix (no hot partition from a big tenant), and a
  bind is one conditional write on a globally unique key: two callers racing for one id
  cannot both win;
* every item carries ``app_id`` and ``tenant_id`` and a GSI key
  ``tenant_key = "APP#<app>#TENANT#<tenant>#SHARD#<n>"`` (the AppID + TenantID partitioning
  model); the shard suffix spreads one tenant's sessions over N GSI partitions;
* ``expires_at`` is checked on every read (TTL deletion lags by up to days); ``ttl`` lets
  DynamoDB purge the item later.

A session presented by another tenant, app or principal is reported exactly like a session
that does not exist; it is never rebound.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tenantkit.bff.errors import SessionExpiredError, SessionNotFoundError
from tenantkit.envelope import IdentityEnvelope

SESSION_ID_PATTERN = re.compile(r"^s_[A-Za-z0-9_-]{43}\Z")
TTL_GRACE_SECONDS = 86400
GSI_SHARDS = 8


def new_session_id() -> str:
    """256 bits of entropy; 45 characters, above AgentCore's 33-character runtimeSessionId minimum."""
    return "s_" + secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class SessionBinding:
    session_id: str
    app_id: str
    tenant_id: str
    principal_id: str
    principal_type: str
    created_at: int
    expires_at: int

    def owned_by(self, envelope: IdentityEnvelope) -> bool:
        return (self.app_id, self.tenant_id, self.principal_id) == (
            envelope.app_id, envelope.tenant_id, envelope.principal_id)

    def public(self) -> dict[str, Any]:
        return {"session_id": self.session_id, "app_id": self.app_id, "tenant_id": self.tenant_id,
                "created_at": self.created_at, "expires_at": self.expires_at}


class SessionConflictError(Exception):
    """The session id is already bound (the conditional write lost)."""


def tenant_key(app_id: str, tenant_id: str, session_id: str) -> str:
    shard = int.from_bytes(hashlib.sha256(session_id.encode()).digest()[:2], "big") % GSI_SHARDS
    return f"APP#{app_id}#TENANT#{tenant_id}#SHARD#{shard}"


class SessionStore:
    def __init__(
        self,
        table_name: str,
        *,
        ttl_seconds: int = 3600,
        client_factory: Callable[[], Any] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._table = table_name
        self._ttl = ttl_seconds
        self._client_factory = client_factory or _default_client
        self._client: Any = None
        self._clock = clock

    @property
    def client(self) -> Any:
        # Created once per container on first use (boto3 costs ~200 ms to import; the cold
        # import budget is 300 ms), then reused by every request.
        if self._client is None:
            self._client = self._client_factory()
        return self._client

    def drop_client(self) -> None:
        """Forget the SDK client (SnapStart restore: the next call gets current credentials)."""
        self._client = None

    def create(self, envelope: IdentityEnvelope) -> SessionBinding:
        for _ in range(3):  # a collision of 256-bit ids is theoretical; retry rather than fail
            try:
                return self.bind(new_session_id(), envelope)
            except SessionConflictError:
                continue
        raise SessionConflictError("could not allocate a session id")

    def bind(self, session_id: str, envelope: IdentityEnvelope) -> SessionBinding:
        """One conditional write: succeeds only if nobody holds ``session_id`` yet."""
        now = int(self._clock())
        binding = SessionBinding(session_id, envelope.app_id, envelope.tenant_id, envelope.principal_id,
                                 envelope.principal_type, now, now + self._ttl)
        item = {
            "pk": {"S": f"SESSION#{session_id}"},
            "session_id": {"S": session_id},
            "app_id": {"S": binding.app_id},
            "tenant_id": {"S": binding.tenant_id},
            "principal_id": {"S": binding.principal_id},
            "principal_type": {"S": binding.principal_type},
            "tenant_key": {"S": tenant_key(binding.app_id, binding.tenant_id, session_id)},
            "created_at": {"N": str(binding.created_at)},
            "expires_at": {"N": str(binding.expires_at)},
            "ttl": {"N": str(binding.expires_at + TTL_GRACE_SECONDS)},
        }
        try:
            self.client.put_item(TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)")
        except Exception as exc:
            if _error_code(exc) == "ConditionalCheckFailedException":
                raise SessionConflictError(session_id) from None
            raise
        return binding

    def get_for(self, session_id: str, envelope: IdentityEnvelope) -> SessionBinding:
        """The caller's live session, or :class:`SessionNotFoundError` (unknown, foreign, expired)."""
        if not SESSION_ID_PATTERN.match(session_id):
            raise SessionNotFoundError("no such session", reason="session_id_malformed")
        response = self.client.get_item(TableName=self._table, Key={"pk": {"S": f"SESSION#{session_id}"}},
                                        ConsistentRead=True)
        item = response.get("Item")
        if item is None:
            raise SessionNotFoundError("no such session")
        binding = _binding(item)
        if not binding.owned_by(envelope):
            raise SessionNotFoundError("no such session", reason=_mismatch(binding, envelope))
        if self._clock() >= binding.expires_at:
            raise SessionExpiredError("no such session")
        return binding

    def delete(self, session_id: str, envelope: IdentityEnvelope) -> None:
        """Delete only if the caller owns it (checked atomically by the condition)."""
        if not SESSION_ID_PATTERN.match(session_id):
            raise SessionNotFoundError("no such session", reason="session_id_malformed")
        try:
            self.client.delete_item(
                TableName=self._table,
                Key={"pk": {"S": f"SESSION#{session_id}"}},
                ConditionExpression="attribute_exists(pk) AND app_id = :a AND tenant_id = :t AND principal_id = :p",
                ExpressionAttributeValues={":a": {"S": envelope.app_id}, ":t": {"S": envelope.tenant_id},
                                           ":p": {"S": envelope.principal_id}},
            )
        except Exception as exc:
            if _error_code(exc) == "ConditionalCheckFailedException":
                raise SessionNotFoundError("no such session", reason="session_not_owned") from None
            raise


def _mismatch(binding: SessionBinding, envelope: IdentityEnvelope) -> str:
    if binding.tenant_id != envelope.tenant_id:
        return "session_cross_tenant"
    if binding.app_id != envelope.app_id:
        return "session_cross_app"
    return "session_cross_principal"


def _binding(item: dict[str, Any]) -> SessionBinding:
    return SessionBinding(
        session_id=item["session_id"]["S"],
        app_id=item["app_id"]["S"],
        tenant_id=item["tenant_id"]["S"],
        principal_id=item["principal_id"]["S"],
        principal_type=item.get("principal_type", {}).get("S", "user"),
        created_at=int(item["created_at"]["N"]),
        expires_at=int(item["expires_at"]["N"]),
    )


def _error_code(exc: Exception) -> str | None:
    response = getattr(exc, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, dict) else None


def _default_client() -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("dynamodb", config=Config(connect_timeout=1, read_timeout=2,
                                                  retries={"max_attempts": 3, "mode": "standard"}))
