"""Session binding: a session belongs to one (app_id, tenant_id, principal_id).

The port is :class:`SessionRepository`; :class:`DynamoDbSessionRepository` is the production
adapter and :class:`InMemorySessionRepository` the one unit tests and benches use.

Key design (see docs/bff.md, "Session binding in DynamoDB"):

* base table ``pk = "T#<tenant_id>#A#<app_id>#S#<session_id>"``. The tenant and app lead the
  key so that IAM can confine tenant-scoped credentials to their own items with
  ``dynamodb:LeadingKeys`` (``T#${aws:PrincipalTag/tenant_id}#A#${aws:PrincipalTag/app_id}#*``).
  Identifiers never contain ``#`` (nor ``*``/``?``), so the prefix of tenant ``acme`` can never
  be a prefix of tenant ``acme2``'s keys. The random 256-bit session id still spreads a tenant's
  items over partitions, and it is the only part the client ever sees: the BFF derives the key
  from the verified envelope plus the session id, so another tenant's (or app's) session is
  simply a key that does not exist;
* every item carries ``app_id`` and ``tenant_id`` and a GSI key
  ``tenant_key = "T#<tenant>#A#<app>#SHARD#<n>"`` that starts with the same prefix (so the same
  ``LeadingKeys`` condition covers a tenant-scoped query of the index); the shard suffix spreads
  one tenant's sessions over N GSI partitions;
* ``expires_at`` is checked on every read (TTL deletion lags by up to days); ``ttl`` lets
  DynamoDB purge the item later.

A session presented by another principal of the same tenant and app is reported exactly like a
session that does not exist; it is never rebound.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from tenantkit import aws
from tenantkit.bff.exceptions import (
    SessionConflictError,
    SessionExpiredError,
    SessionNotFoundError,
    SessionStoreUnavailableError,
)
from tenantkit.envelope import IdentityEnvelope

__all__ = [
    "GSI_SHARDS", "SESSION_ID_PATTERN", "DynamoDbSessionRepository", "InMemorySessionRepository",
    "SessionBinding", "SessionConflictError", "SessionRepository", "SessionStore", "TenantClients",
    "key_prefix", "new_session_id", "partition_key", "tenant_key",
]

SESSION_ID_PATTERN = re.compile(r"^s_[A-Za-z0-9_-]{43}\Z")
TTL_GRACE_SECONDS = 86400
GSI_SHARDS = 8


def new_session_id() -> str:
    """256 bits of entropy; 45 characters, above AgentCore's 33-character runtimeSessionId minimum."""
    return "s_" + secrets.token_urlsafe(32)


def key_prefix(tenant_id: str, app_id: str) -> str:
    """What every key of this (tenant, app) starts with: the literal part of the IAM condition."""
    for value in (tenant_id, app_id):
        if not value or any(c in value for c in "#*?$"):  # the envelope's identifier pattern forbids these
            raise ValueError("tenant and app ids must be non-empty and free of '#', '*', '?', '$'")
    return f"T#{tenant_id}#A#{app_id}#"


def partition_key(tenant_id: str, app_id: str, session_id: str) -> str:
    return f"{key_prefix(tenant_id, app_id)}S#{session_id}"


def tenant_key(app_id: str, tenant_id: str, session_id: str) -> str:
    """The ``by-tenant`` index key: the tenant prefix plus a shard derived from the session id."""
    shard = int.from_bytes(hashlib.sha256(session_id.encode()).digest()[:2], "big") % GSI_SHARDS
    return f"{key_prefix(tenant_id, app_id)}SHARD#{shard}"


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


class SessionRepository(Protocol):
    """Where session bindings live. Every method is scoped by the caller's envelope: an
    implementation never looks at a session of another tenant or app."""

    def create(self, envelope: IdentityEnvelope) -> SessionBinding:
        """Bind a fresh server-generated session id to the envelope's caller."""
        ...

    def bind(self, session_id: str, envelope: IdentityEnvelope) -> SessionBinding:
        """Bind ``session_id``; :class:`SessionConflictError` if it is already bound."""
        ...

    def get_for(self, session_id: str, envelope: IdentityEnvelope) -> SessionBinding:
        """The caller's live session, or :class:`SessionNotFoundError` (unknown, foreign, expired)."""
        ...

    def delete(self, session_id: str, envelope: IdentityEnvelope) -> None:
        """Delete the caller's session, or :class:`SessionNotFoundError`."""
        ...


class _RepositoryBase:
    """What both adapters share: ids, the binding record, ownership and expiry rules."""

    def __init__(self, *, ttl_seconds: int, clock: Callable[[], float]) -> None:
        self._ttl = ttl_seconds
        self._clock = clock

    def create(self, envelope: IdentityEnvelope) -> SessionBinding:
        for _ in range(3):  # a collision of 256-bit ids is theoretical; retry rather than fail
            try:
                return self.bind(new_session_id(), envelope)
            except SessionConflictError:
                continue
        raise SessionConflictError("could not allocate a session id")

    def bind(self, session_id: str, envelope: IdentityEnvelope) -> SessionBinding:
        raise NotImplementedError

    def _new_binding(self, session_id: str, envelope: IdentityEnvelope) -> SessionBinding:
        now = int(self._clock())
        return SessionBinding(session_id, envelope.app_id, envelope.tenant_id, envelope.principal_id,
                              envelope.principal_type, now, now + self._ttl)

    def _check_live_and_owned(self, binding: SessionBinding | None, envelope: IdentityEnvelope) -> SessionBinding:
        if binding is None:
            raise SessionNotFoundError("no such session")
        if not binding.owned_by(envelope):
            raise SessionNotFoundError("no such session", reason=_mismatch(binding, envelope))
        if self._clock() >= binding.expires_at:
            raise SessionExpiredError("no such session")
        return binding


def _require_well_formed(session_id: str) -> None:
    if not SESSION_ID_PATTERN.match(session_id):
        raise SessionNotFoundError("no such session", reason="session_id_malformed")


class InMemorySessionRepository(_RepositoryBase):
    """The repository in a dict keyed exactly like the table (thread-safe). For unit tests,
    benches and tools; never a production store (nothing survives the process)."""

    def __init__(self, *, ttl_seconds: int = 3600, clock: Callable[[], float] = time.time) -> None:
        super().__init__(ttl_seconds=ttl_seconds, clock=clock)
        self.items: dict[str, SessionBinding] = {}
        self._lock = threading.Lock()

    def bind(self, session_id: str, envelope: IdentityEnvelope) -> SessionBinding:
        binding = self._new_binding(session_id, envelope)
        key = partition_key(envelope.tenant_id, envelope.app_id, session_id)
        with self._lock:
            if key in self.items:
                raise SessionConflictError(session_id)
            self.items[key] = binding
        return binding

    def get_for(self, session_id: str, envelope: IdentityEnvelope) -> SessionBinding:
        _require_well_formed(session_id)
        binding = self.items.get(partition_key(envelope.tenant_id, envelope.app_id, session_id))
        return self._check_live_and_owned(binding, envelope)

    def delete(self, session_id: str, envelope: IdentityEnvelope) -> None:
        _require_well_formed(session_id)
        key = partition_key(envelope.tenant_id, envelope.app_id, session_id)
        with self._lock:
            binding = self.items.get(key)
            if binding is None or not binding.owned_by(envelope):
                raise SessionNotFoundError("no such session", reason="session_not_owned")
            del self.items[key]


class TenantClients(Protocol):
    """DynamoDB clients per (tenant, app): see :mod:`tenantkit.bff.credentials`."""

    def client_for(self, tenant_id: str, app_id: str) -> Any: ...

    def clear(self) -> None: ...


class SharedClient:
    """One client for every tenant, for tools that act for the operator (key migration, test
    set-up). The BFF never uses it: it takes tenant-scoped clients."""

    def __init__(self, factory: Callable[[], Any]) -> None:
        self._factory = factory
        self._client: Any = None
        self._lock = threading.Lock()

    def client_for(self, tenant_id: str, app_id: str) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._factory()
        return self._client

    def clear(self) -> None:
        with self._lock:
            self._client = None


class DynamoDbSessionRepository(_RepositoryBase):
    """Session bindings in DynamoDB: one conditional write to bind, one strongly consistent read
    per request, a conditional delete. Every call is signed by the client ``clients`` gives for
    the envelope's (tenant, app)."""

    def __init__(
        self,
        table_name: str,
        *,
        ttl_seconds: int = 3600,
        clients: TenantClients | None = None,
        client_factory: Callable[[], Any] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(ttl_seconds=ttl_seconds, clock=clock)
        if (clients is None) == (client_factory is None):
            raise ValueError("give exactly one of clients (tenant-scoped) or client_factory (operator tools)")
        self._table = table_name
        self._clients: TenantClients
        if clients is not None:
            self._clients = clients
        else:
            assert client_factory is not None  # checked above
            self._clients = SharedClient(client_factory)

    def drop_clients(self) -> None:
        """Forget every cached client and credential (SnapStart restore: a restored environment
        must not reuse another one's tenant credentials; the next call assumes the role again)."""
        self._clients.clear()

    @property
    def table_name(self) -> str:
        return self._table

    def _client(self, envelope: IdentityEnvelope) -> Any:
        return self._clients.client_for(envelope.tenant_id, envelope.app_id)

    def bind(self, session_id: str, envelope: IdentityEnvelope) -> SessionBinding:
        """One conditional write: succeeds only if nobody in this tenant and app holds ``session_id``."""
        binding = self._new_binding(session_id, envelope)
        client = self._client(envelope)
        try:
            client.put_item(TableName=self._table, Item=to_item(binding),
                            ConditionExpression="attribute_not_exists(pk)")
        except Exception as exc:
            if aws.error_code(exc) == "ConditionalCheckFailedException":
                raise SessionConflictError(session_id) from None
            raise _store_error(exc) from None
        return binding

    def get_for(self, session_id: str, envelope: IdentityEnvelope) -> SessionBinding:
        _require_well_formed(session_id)
        key = partition_key(envelope.tenant_id, envelope.app_id, session_id)
        client = self._client(envelope)
        try:
            response = client.get_item(TableName=self._table, Key={"pk": {"S": key}}, ConsistentRead=True)
        except Exception as exc:
            raise _store_error(exc) from None
        item = response.get("Item")
        return self._check_live_and_owned(from_item(item) if item is not None else None, envelope)

    def delete(self, session_id: str, envelope: IdentityEnvelope) -> None:
        """Delete only if the caller owns it (checked atomically by the condition)."""
        _require_well_formed(session_id)
        client = self._client(envelope)
        try:
            client.delete_item(
                TableName=self._table,
                Key={"pk": {"S": partition_key(envelope.tenant_id, envelope.app_id, session_id)}},
                ConditionExpression="attribute_exists(pk) AND app_id = :a AND tenant_id = :t AND principal_id = :p",
                ExpressionAttributeValues={":a": {"S": envelope.app_id}, ":t": {"S": envelope.tenant_id},
                                           ":p": {"S": envelope.principal_id}},
            )
        except Exception as exc:
            if aws.error_code(exc) == "ConditionalCheckFailedException":
                raise SessionNotFoundError("no such session", reason="session_not_owned") from None
            raise _store_error(exc) from None


SessionStore = DynamoDbSessionRepository  # the name earlier releases exported


def to_item(binding: SessionBinding) -> dict[str, Any]:
    """The table item of a binding (DynamoDB attribute-value form)."""
    return {
        "pk": {"S": partition_key(binding.tenant_id, binding.app_id, binding.session_id)},
        "session_id": {"S": binding.session_id},
        "app_id": {"S": binding.app_id},
        "tenant_id": {"S": binding.tenant_id},
        "principal_id": {"S": binding.principal_id},
        "principal_type": {"S": binding.principal_type},
        "tenant_key": {"S": tenant_key(binding.app_id, binding.tenant_id, binding.session_id)},
        "created_at": {"N": str(binding.created_at)},
        "expires_at": {"N": str(binding.expires_at)},
        "ttl": {"N": str(binding.expires_at + TTL_GRACE_SECONDS)},
    }


def from_item(item: dict[str, Any]) -> SessionBinding:
    return SessionBinding(
        session_id=item["session_id"]["S"],
        app_id=item["app_id"]["S"],
        tenant_id=item["tenant_id"]["S"],
        principal_id=item["principal_id"]["S"],
        principal_type=item.get("principal_type", {}).get("S", "user"),
        created_at=int(item["created_at"]["N"]),
        expires_at=int(item["expires_at"]["N"]),
    )


def _mismatch(binding: SessionBinding, envelope: IdentityEnvelope) -> str:
    # With tenant- and app-prefixed keys only another principal's session can be read at all;
    # the other branches guard an item whose attributes disagree with its own key.
    if binding.tenant_id != envelope.tenant_id:
        return "session_cross_tenant"
    if binding.app_id != envelope.app_id:
        return "session_cross_app"
    return "session_cross_principal"


def _store_error(exc: Exception) -> SessionStoreUnavailableError:
    """A failed table call as a 503; the cause is logged by code only (messages may echo keys)."""
    from tenantkit.observability import get_logger

    code = aws.error_code(exc) or type(exc).__name__
    get_logger().error("session store call failed", extra={"cause": code})
    if code in ("AccessDeniedException", "AccessDenied", "UnrecognizedClientException"):
        return SessionStoreUnavailableError("session store unavailable", reason="session_store_access_denied")
    return SessionStoreUnavailableError("session store unavailable")
