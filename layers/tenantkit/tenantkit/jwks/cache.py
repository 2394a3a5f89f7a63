"""JWKS cache: keys fetched at init, refetched on an unknown kid at most once per interval,
last-known-good keys served through an IdP outage for a bounded time.

The hot path (known kid, fresh cache) takes no lock. Misses serialize per JWKS URI, so
concurrent cold misses cause one fetch: the threads that waited find the keys in place.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from tenantkit.config import JwksSettings
from tenantkit.exceptions import (
    JwksUnavailableError,
    KeyAlgorithmMismatchError,
    KidNotFoundError,
    WeakKeyError,
)
from tenantkit.jwks.fetcher import JwksFetcher, UrllibFetcher
from tenantkit.jwks.keys import KeySet, VerificationKey, parse_jwks
from tenantkit.jwks.penalty_box import PenaltyBox
from tenantkit.observability import get_logger

__all__ = [
    "JwksCache",
]


@dataclass(frozen=True, slots=True)
class _Entry:
    keyset: KeySet
    fetched_at: float


class JwksCache:
    def __init__(
        self,
        *,
        settings: JwksSettings | None = None,
        fetcher: JwksFetcher | None = None,
        penalty_box: PenaltyBox | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings or JwksSettings()
        self._fetcher = fetcher or UrllibFetcher(
            timeout_seconds=self._settings.fetch_timeout_seconds,
            max_bytes=self._settings.max_document_bytes,
        )
        self._penalty_box = penalty_box or PenaltyBox(
            interval_seconds=self._settings.min_refetch_interval_seconds, clock=clock
        )
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def prefetch(self, uri: str) -> bool:
        """Warm the cache at init; a failure is logged, not raised (the first request retries)."""
        with self._lock_for(uri):
            return self._refresh(uri)

    def after_restore(self) -> None:
        """SnapStart restore: keys fetched at snapshot time are due now; fetch them again at once.

        A failed fetch keeps the old keys, due for refresh (the penalty box bounds the retries).
        """
        for uri in list(self._entries):
            with self._lock_for(uri):
                entry = self._entries[uri]
                self._entries[uri] = _Entry(keyset=entry.keyset,
                                            fetched_at=self._clock() - self._settings.refresh_after_seconds)
                self._refresh(uri)

    def get_key(self, uri: str, kid: str, alg: str) -> VerificationKey:
        entry = self._entries.get(uri)
        if entry is not None and self._clock() - entry.fetched_at < self._settings.refresh_after_seconds:
            key = entry.keyset.keys.get(kid)
            if key is not None:
                return _fitting(key, alg)
        return self._get_key_slow(uri, kid, alg)

    def _get_key_slow(self, uri: str, kid: str, alg: str) -> VerificationKey:
        with self._lock_for(uri):
            entry = self._entries.get(uri)
            fresh = entry is not None and self._clock() - entry.fetched_at < self._settings.refresh_after_seconds
            if not (fresh and entry is not None and kid in entry.keyset.keys):
                if self._penalty_box.may_fetch(uri):
                    self._refresh(uri)
                entry = self._entries.get(uri)
            if entry is None:
                raise JwksUnavailableError("no JWKS has been fetched successfully")
            if self._clock() - entry.fetched_at > self._settings.stale_max_seconds:
                raise JwksUnavailableError("cached JWKS is older than the stale limit")
            if kid in entry.keyset.rejected:
                rejected = entry.keyset.rejected[kid]
                if rejected == KeyAlgorithmMismatchError.reason:
                    raise KeyAlgorithmMismatchError("the JWK is declared for an algorithm we never accept")
                raise WeakKeyError(f"JWKS key is rejected: {rejected}")
            key = entry.keyset.keys.get(kid)
            if key is None:
                raise KidNotFoundError("kid is not in the pinned JWKS")
            return _fitting(key, alg)

    def _refresh(self, uri: str) -> bool:
        """Fetch and replace the keys for ``uri``; on failure keep what we had."""
        self._penalty_box.record_attempt(uri)
        try:
            keyset = parse_jwks(self._fetcher.fetch(uri))
        except JwksUnavailableError as exc:
            # jwks_event is what the JwksRefreshFailures metric filter (template.yaml) matches.
            get_logger().warning("JWKS refresh failed for %s: %s", uri, exc, extra={"jwks_event": "refresh_failed"})
            return False
        self._entries[uri] = _Entry(keyset=keyset, fetched_at=self._clock())
        return True

    def _lock_for(self, uri: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(uri, threading.Lock())


def _fitting(key: VerificationKey, alg: str) -> VerificationKey:
    if not key.fits(alg):
        raise KeyAlgorithmMismatchError("the JWK does not fit the token's alg")
    return key
