"""Injectable stand-ins for the JWKS pieces (the aws-jwt-verify way: swap, don't patch)."""

from __future__ import annotations

import json
import threading
from typing import Any

from tenantkit.exceptions import JwksUnavailableError


class FakeClock:
    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class StaticFetcher:
    """Returns ``document``; counts fetches; ``fail = True`` simulates an outage."""

    def __init__(self, document: bytes | dict[str, Any]) -> None:
        self.document = document if isinstance(document, bytes) else json.dumps(document).encode()
        self.fail = False
        self.calls = 0
        self._lock = threading.Lock()

    def fetch(self, uri: str) -> bytes:
        with self._lock:
            self.calls += 1
        if self.fail:
            raise JwksUnavailableError("simulated outage")
        return self.document
