"""Spoof-check cost of identity-name reading, printed not asserted.

``IdentityKeys.field_of`` reads a request's names through percent-decoding, nested-key notation
and UTS #39 look-alikes. Figures: a warm ASCII name (the common case, cached), a cold
look-alike name (first sight, uncached), and the worst body that fits the default 256 KiB limit:
every key a distinct eight-part nested name in look-alike letters (each a cache miss).

Usage: .venv/bin/python bench/identity_names.py [--iterations N]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from _common import summarize, timed  # noqa: E402

LOOK_ALIKES = "\u0430\u0435\u043e\u0440\u0441\u0456\u0501\u0455"  # Cyrillic letters drawn like Latin ones


def hostile_key(rng: random.Random, index: int) -> str:
    return "[".join("".join(rng.choice(LOOK_ALIKES) for _ in range(6)) for _ in range(8)) + str(index)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=3000)
    args = parser.parse_args()

    from support.bff import envelope, memory_bff, proxy_event
    from tenantkit.bff.config import BffConfig
    from tenantkit.identity_keys import DEFAULT_KEYS

    rng = random.Random(7)
    warm = summarize(timed(lambda: DEFAULT_KEYS.field_of("X-Tenant-Id"), args.iterations))
    cold_names = iter([hostile_key(rng, i) for i in range(args.iterations + 200)])
    cold = summarize(timed(lambda: DEFAULT_KEYS.field_of(next(cold_names)), args.iterations))

    limit = BffConfig(sessions_table="bench", upstream_mode="http", upstream_url="http://unused").max_body_bytes
    body: dict[str, int] = {}
    while len(json.dumps(body, ensure_ascii=False).encode()) < limit - 200:
        body.update({hostile_key(rng, len(body) + i): 1 for i in range(100)})
    while len(json.dumps(body, ensure_ascii=False).encode()) > limit:
        body.popitem()
    api, _, _ = memory_bff()
    event = proxy_event("POST", "/v1/sessions", envelope(), raw_body=json.dumps(body, ensure_ascii=False))
    with contextlib.redirect_stdout(io.StringIO()):
        started = time.perf_counter()
        status = api.handle(event, None)["statusCode"]
        whole_ms = (time.perf_counter() - started) * 1000

    print(f"identity-name reading ({args.iterations} iterations)")
    for label, figures in (("warm ASCII name (cached)", warm), ("cold 8-part look-alike name (uncached)", cold)):
        print(f"  {label:<42}p50 {figures['p50'] * 1000:.1f} us   p99 {figures['p99'] * 1000:.1f} us")
    print(f"  worst body at the {limit // 1024} KiB limit: {len(body)} such keys, one request "
          f"{whole_ms:.0f} ms (status {status})")


if __name__ == "__main__":
    main()
