"""Tenant-scoped AWS credentials for the BFF's data calls.

The BFF's own role may not touch the sessions table. For each (tenant_id, app_id) it calls
``sts:AssumeRole`` on the tenant data role with the envelope's values as session tags; that
role's policy allows the table only where ``dynamodb:LeadingKeys`` starts with
``T#${aws:PrincipalTag/tenant_id}#A#${aws:PrincipalTag/app_id}#``. A BFF bug that builds the
wrong key is then refused by DynamoDB instead of reading another tenant's data.

Cache: one DynamoDB client per (tenant, app), in a bounded LRU (``max_entries``), kept until
``refresh_margin_seconds`` before its credentials expire (so the staleness bound is the session
duration). The warm path is a dictionary lookup under a lock: no STS call. A miss holds a
per-key lock, so concurrent first requests of one tenant make one ``AssumeRole`` between them.

Credentials never leave this module: they are not logged, not put in a context, not part of
any error message or ``repr``. An STS failure is :class:`TenantCredentialsUnavailableError`
(503); there is no fallback to the BFF's own credentials.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tenantkit import aws
from tenantkit.bff.exceptions import TenantCredentialsUnavailableError
from tenantkit.observability import get_logger

__all__ = ["ScopedCredentials", "TenantScopedClients", "role_session_name"]

TAG_TENANT = "tenant_id"  # the Cedar attribute name too: one attribute, two engines (docs/abac.md)
TAG_APP = "app_id"
_SESSION_NAME_UNSAFE = re.compile(r"[^\w+=,.@-]")


@dataclass(frozen=True, slots=True)
class ScopedCredentials:
    access_key_id: str = field(repr=False)
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expires_at: float  # epoch seconds


def role_session_name(tenant_id: str, app_id: str) -> str:
    """``tk-<tenant>-<app>`` in the characters STS accepts (CloudTrail shows it per call)."""
    return _SESSION_NAME_UNSAFE.sub("-", f"tk-{tenant_id}-{app_id}")[:64]


@dataclass
class _Entry:
    client: Any
    expires_at: float


class TenantScopedClients:
    """``client_for(tenant_id, app_id)``: a DynamoDB client signed with that pair's credentials."""

    def __init__(
        self,
        role_arn: str,
        *,
        sts_client_factory: Callable[[], Any] | None = None,
        client_factory: Callable[[ScopedCredentials], Any] | None = None,
        duration_seconds: int = 900,
        refresh_margin_seconds: int = 120,
        max_entries: int = 256,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not 900 <= duration_seconds <= 43200:
            raise ValueError("duration_seconds must be within 900..43200 (STS limits)")
        if not 0 <= refresh_margin_seconds < duration_seconds:
            raise ValueError("refresh_margin_seconds must be below duration_seconds")
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.role_arn = role_arn
        self._sts_factory = sts_client_factory or _default_sts_client
        self._client_factory = client_factory or _default_dynamodb_client
        self._duration = duration_seconds
        self._margin = refresh_margin_seconds
        self._max = max_entries
        self._clock = clock
        self._sts: Any = None
        # boto3's default session is not safe for concurrent client creation: one at a time.
        self._create_lock = threading.Lock()
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self._fill_locks: dict[tuple[str, str], threading.Lock] = {}
        self.assume_role_calls = 0  # for benches and tests: STS calls made by this container

    def clear(self) -> None:
        """Drop every cached client and credential (and the STS client)."""
        with self._lock:
            self._entries.clear()
            self._sts = None

    def client_for(self, tenant_id: str, app_id: str) -> Any:
        key = (tenant_id, app_id)
        client = self._fresh(key)
        if client is not None:
            return client
        with self._lock:
            fill_lock = self._fill_locks.setdefault(key, threading.Lock())
        with fill_lock:
            client = self._fresh(key)  # another thread may have filled it while we waited
            if client is not None:
                return client
            try:
                credentials = self._assume(tenant_id, app_id)
                client = self._build_client(credentials)
            except BaseException:
                with self._lock:  # a failed fill leaves nothing behind (the lock map stays bounded)
                    if key not in self._entries:
                        self._fill_locks.pop(key, None)
                raise
            with self._lock:
                self._entries[key] = _Entry(client, credentials.expires_at)
                self._entries.move_to_end(key)
                while len(self._entries) > self._max:
                    evicted, _ = self._entries.popitem(last=False)
                    self._fill_locks.pop(evicted, None)
        return client

    def cached_pairs(self) -> list[tuple[str, str]]:
        with self._lock:
            return list(self._entries)

    def _fresh(self, key: tuple[str, str]) -> Any:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if self._clock() >= entry.expires_at - self._margin:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry.client

    def _build_client(self, credentials: ScopedCredentials) -> Any:
        try:
            with self._create_lock:
                return self._client_factory(credentials)
        except Exception as exc:  # as an STS failure: fail closed, the message may echo the keys
            get_logger().error("tenant data client not built", extra={"cause": type(exc).__name__})
            raise TenantCredentialsUnavailableError("tenant data credentials are unavailable") from None

    def _assume(self, tenant_id: str, app_id: str) -> ScopedCredentials:
        requested_at = self._clock()
        try:
            with self._create_lock:
                if self._sts is None:
                    self._sts = self._sts_factory()
                self.assume_role_calls += 1
            response = self._sts.assume_role(
                RoleArn=self.role_arn, RoleSessionName=role_session_name(tenant_id, app_id),
                DurationSeconds=self._duration,
                Tags=[{"Key": TAG_TENANT, "Value": tenant_id}, {"Key": TAG_APP, "Value": app_id}],
            )
            issued = response["Credentials"]
            expiration = issued["Expiration"]
            stated = expiration.timestamp() if hasattr(expiration, "timestamp") else float(expiration)
            return ScopedCredentials(
                access_key_id=issued["AccessKeyId"], secret_access_key=issued["SecretAccessKey"],
                session_token=issued["SessionToken"],
                # Never trust a remote clock further than our own: whichever ends first.
                expires_at=min(stated, requested_at + self._duration),
            )
        except Exception as exc:  # any STS or transport failure: no data access at all
            cause = aws.error_code(exc) or type(exc).__name__
            get_logger().error("tenant credentials unavailable", extra={"cause": cause})
            raise TenantCredentialsUnavailableError("tenant data credentials are unavailable") from None


def _default_sts_client() -> Any:
    # The BFF's own (function role) credentials sign only this client.
    return aws.client("sts", max_attempts=3, connect_timeout=1, read_timeout=2)


def _default_dynamodb_client(credentials: ScopedCredentials) -> Any:
    return aws.client("dynamodb", max_attempts=3, connect_timeout=1, read_timeout=2,
                      credentials={"aws_access_key_id": credentials.access_key_id,
                                   "aws_secret_access_key": credentials.secret_access_key,
                                   "aws_session_token": credentials.session_token})
