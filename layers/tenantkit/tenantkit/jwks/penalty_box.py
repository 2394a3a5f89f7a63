"""Rate limit for JWKS refetches: one per URI per interval, whatever kids tokens claim.

Without it, a stream of tokens with random ``kid`` values would turn the authorizer into a
traffic amplifier against the IdP.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = [
    "PenaltyBox",
]


class PenaltyBox:
    def __init__(self, *, interval_seconds: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = interval_seconds
        self._clock = clock
        self._last_attempt: dict[str, float] = {}
        self._lock = threading.Lock()

    def may_fetch(self, uri: str) -> bool:
        with self._lock:
            last = self._last_attempt.get(uri)
            return last is None or self._clock() - last >= self._interval

    def record_attempt(self, uri: str) -> None:
        with self._lock:
            self._last_attempt[uri] = self._clock()
