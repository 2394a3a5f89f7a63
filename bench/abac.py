"""ABAC figures: what a Cedar decision costs the BFF (printed, never asserted by tests).

Budget: BFF overhead excluding upstream and DynamoDB round trips p50 <= 1 ms.
PolicyEngine.authorize() is one slice of that overhead; this prints its p50/p99 for an allow
and a deny, its share of the 1 ms, and the one-time cost of loading the packaged policies.
Baseline in the same run: the plain-Python tenant/app equality check Cedar replaces.

Usage: .venv/bin/python bench/abac.py [--iterations N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from _common import budget_line, summarize, timed  # noqa: E402

BFF_OVERHEAD_P50_MS = 1.0

COLD_LOAD = """
import json, time
t0 = time.perf_counter()
import cedarpy
tc = time.perf_counter()
from tenantkit.abac import PolicyEngine
t1 = time.perf_counter()
PolicyEngine.default()
t2 = time.perf_counter()
PolicyEngine.default()
t3 = time.perf_counter()
print(json.dumps({"cedarpy_ms": (tc - t0) * 1000, "import_ms": (t1 - t0) * 1000,
                  "load_ms": (t2 - t1) * 1000, "cached_ms": (t3 - t2) * 1000}))
"""




def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=5000)
    parser.add_argument("--cold-runs", type=int, default=7)
    args = parser.parse_args()

    import cedarpy

    from tenantkit.abac import AbacResource, PolicyEngine, packaged_policies, packaged_schema
    from tenantkit.abac.engine import _entities
    from tenantkit.envelope import IdentityEnvelope

    cold = []
    for _ in range(args.cold_runs):
        out = subprocess.run([sys.executable, "-c", COLD_LOAD], capture_output=True, text=True, check=True)
        cold.append(json.loads(out.stdout.strip().splitlines()[-1]))

    t0 = time.perf_counter()
    engine = PolicyEngine(packaged_policies(), packaged_schema())
    parse_ms = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    errors = engine.validate()
    validate_ms = (time.perf_counter() - t0) * 1000
    assert errors == [], errors

    alice = IdentityEnvelope(
        app_id="portal", tenant_id="acme", principal_id="6e1c3a4b-2f7d-4c1e-9a8b-0d5f3e2a1b7c:alice",
        principal_type="user", correlation_id="bench", issuer="https://issuer.bench/",
        scopes=("access_as_user", "agent.invoke"), roles=(),
    )
    own = AbacResource("Session", "sess-1", "acme", "portal", alice.principal_id)
    foreign = AbacResource("Session", "sess-2", "globex", "portal", "9b2d4f6a:bob")
    assert engine.authorize(alice, "message.send", own).allowed
    assert engine.authorize(alice, "message.send", foreign).reason == "tenant_mismatch"

    def baseline() -> bool:
        return own.tenant_id == alice.tenant_id and own.app_id == alice.app_id

    request = {"principal": {"type": "Tenantkit::User", "id": alice.principal_id},
               "action": {"type": "Tenantkit::Action", "id": "message.send"},
               "resource": {"type": "Tenantkit::Session", "id": "sess-1"}}
    entities = _entities(alice, own)
    policies, schema = cedarpy.PolicySet.from_str(packaged_policies()), cedarpy.Schema.from_str(packaged_schema())

    base = summarize(timed(baseline, args.iterations))
    allow = summarize(timed(lambda: engine.authorize(alice, "message.send", own), args.iterations))
    deny = summarize(timed(lambda: engine.authorize(alice, "message.send", foreign), args.iterations))
    raw = summarize(timed(lambda: cedarpy.is_authorized(request, policies, entities, schema), args.iterations))
    unparsed = summarize(timed(lambda: cedarpy.is_authorized(request, packaged_policies(), entities,
                                                             packaged_schema()), max(200, args.iterations // 10)))

    def row(name: str, s: dict[str, float], extra: str = "") -> str:
        return f"  {name:<44} p50 {s['p50'] * 1000:8.3f} us  p99 {s['p99'] * 1000:8.3f} us{extra}"

    def ratio(s: dict[str, float]) -> str:
        return f"   ratio to baseline p50 {s['p50'] / base['p50']:,.0f}x"

    median = statistics.median
    print(f"abac bench ({args.iterations} iterations, Python {sys.version.split()[0]}, "
          f"cedarpy {metadata.version('cedarpy')})")
    print(row("baseline: Python tenant/app equality", base))
    print(row("authorize() allow (message.send)", allow, ratio(allow)))
    print(row("authorize() deny (tenant_mismatch)", deny, ratio(deny)))
    print(row("  of which cedarpy.is_authorized, pre-parsed", raw))
    print(row("contrast: policies+schema re-parsed per call", unparsed))
    worst = max(allow["p50"], deny["p50"])
    print(f"  Cedar's share of the BFF overhead budget (p50 <= {BFF_OVERHEAD_P50_MS:g} ms): "
          f"{worst / BFF_OVERHEAD_P50_MS:.1%} (worst of allow/deny p50)")
    print(budget_line("authorize() p50, alone against the BFF budget", worst, BFF_OVERHEAD_P50_MS))
    print(budget_line("authorize() p99", max(allow["p99"], deny["p99"]), BFF_OVERHEAD_P50_MS))
    print(f"  one-time, fresh interpreter, median of {len(cold)}:")
    print(f"    import cedarpy                             {median(r['cedarpy_ms'] for r in cold):8.3f} ms")
    print(f"    import tenantkit.abac (incl. cedarpy)      {median(r['import_ms'] for r in cold):8.3f} ms")
    print(f"    PolicyEngine.default() first call          {median(r['load_ms'] for r in cold):8.3f} ms"
          f"   (cached afterwards: {median(r['cached_ms'] for r in cold) * 1000:.3f} us)")
    print(f"  in-process: parse policies+schema {parse_ms:.3f} ms; validate() {validate_ms:.3f} ms "
          "(tests and CI only, not on the request path)")

if __name__ == "__main__":
    main()
