"""BFF overhead per request, excluding network (DESIGN.md: p50 <= 1 ms), printed not asserted.

The session store's DynamoDB client and the upstream are in-memory fakes, so the figures are
the BFF's own work: envelope parse, token-expiry and registry-status re-checks, spoof checks,
one session read, ABAC (Cedar), outbound headers, audit lines. Baseline in the same run: a bare
Powertools REST resolver route.
Also: Cedar evaluation alone, and cold import of the handler module.

Usage: .venv/bin/python bench/bff.py [--iterations N]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from _common import budget_line, summarize, timed  # noqa: E402

COLD_IMPORT = """
import importlib.util, json, sys, time
t0 = time.perf_counter()
spec = importlib.util.spec_from_file_location("bff_app", {path!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps({{"import_ms": (time.perf_counter() - t0) * 1000, "boto3": "boto3" in sys.modules}}))
"""


class MemoryDynamo:
    """get_item/put_item/delete_item over a dict: the store's calls without the network."""

    def __init__(self) -> None:
        self.items: dict[str, dict] = {}

    def put_item(self, TableName, Item, ConditionExpression=None):
        self.items[Item["pk"]["S"]] = Item

    def get_item(self, TableName, Key, ConsistentRead=False):
        item = self.items.get(Key["pk"]["S"])
        return {"Item": item} if item else {}

    def delete_item(self, **kwargs):
        self.items.pop(kwargs["Key"]["pk"]["S"], None)


class InstantUpstream:
    def invoke(self, request):
        from tenantkit.bff.outbound import UpstreamResponse, identity_headers

        identity_headers(request)  # the outbound identity work is part of the BFF's overhead
        return UpstreamResponse(200, b'{"reply":"ok","usage":{"input_tokens":3,"output_tokens":2}}',
                                "application/json", {"input_tokens": 3, "output_tokens": 2})




def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=3000)
    args = parser.parse_args()
    os.environ.setdefault("TENANTKIT_LOG_HASH_KEY", "bench-key")
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "tenantkit-bff")

    from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response

    from support.bff import envelope, proxy_event
    from tenantkit.abac import AbacResource, PolicyEngine
    from tenantkit.bff import BffApi, BffConfig, BffService, SessionStore

    alice = envelope()
    store = SessionStore("bench", client_factory=MemoryDynamo)
    # The registry the local stack uses: every turn also re-checks token expiry and tenant/app status.
    registry = json.loads((ROOT / "local" / "env.json").read_text())["BffProxyFunction"]["TENANT_REGISTRY"]
    config = BffConfig(sessions_table="bench", upstream_mode="http", upstream_url="http://127.0.0.1:9/unused",
                       tenant_registry=registry)
    policy = PolicyEngine.default()
    api = BffApi(lambda: BffService(config=config, store=store, upstream=InstantUpstream(), policy=policy))
    session_id = store.create(alice).session_id
    message = proxy_event("POST", f"/v1/sessions/{session_id}/messages", alice, body={"text": "hello"})
    me = proxy_event("GET", "/v1/me", alice)

    bare = APIGatewayRestResolver()

    @bare.post("/v1/sessions/<session_id>/messages")
    def bare_route(session_id: str) -> Response:
        return Response(200, "application/json", json.dumps({"reply": "ok"}))

    sink = io.StringIO()
    with contextlib.redirect_stdout(sink):
        assert api.handle(message, None)["statusCode"] == 200
        baseline = timed(lambda: bare.resolve(message, None), args.iterations)
        messages = timed(lambda: api.handle(message, None), args.iterations)
        profile = timed(lambda: api.handle(me, None), args.iterations)
    resource = AbacResource("Session", session_id, "acme", "portal", alice.principal_id)
    cedar = timed(lambda: policy.authorize(alice, "message.send", resource), args.iterations)

    cold = []
    env = {**os.environ, "SESSIONS_TABLE": "bench", "UPSTREAM_MODE": "http", "UPSTREAM_URL": "http://127.0.0.1:9/x",
           "TENANT_REGISTRY": registry}
    for _ in range(5):
        out = subprocess.run([sys.executable, "-c", COLD_IMPORT.format(path=str(ROOT / "functions/bff_proxy/app.py"))],
                             capture_output=True, text=True, env=env, check=True)
        cold.append(json.loads(out.stdout.strip().splitlines()[-1]))

    b, m, p, c = summarize(baseline), summarize(messages), summarize(profile), summarize(cedar)
    print(f"bff bench ({args.iterations} iterations, in-memory store and upstream)")
    print(f"  baseline bare Powertools route            p50 {b['p50']:.3f} ms   p99 {b['p99']:.3f} ms")
    print(f"  POST /v1/sessions/{{id}}/messages (full)    p50 {m['p50']:.3f} ms   p99 {m['p99']:.3f} ms"
          f"   ratio to baseline p50 {m['p50'] / b['p50']:.2f}x")
    print(f"  GET /v1/me                                p50 {p['p50']:.3f} ms   p99 {p['p99']:.3f} ms")
    print(f"  Cedar authorize() alone                   p50 {c['p50']:.3f} ms   p99 {c['p99']:.3f} ms"
          f"   share of message p50 {c['p50'] / m['p50']:.0%}")
    print(budget_line("BFF overhead p50 (message turn)", m["p50"], 1.0))
    print(budget_line(f"cold import of handler, median of {len(cold)}", statistics.median(r["import_ms"] for r in cold),
                      300))
    print(f"  boto3 imported at handler import: {cold[0]['boto3']} (clients are created on first use)")
    print("  session store calls on the hot path: 1 GetItem per message (ConsistentRead), "
          "1 conditional PutItem per new session")


if __name__ == "__main__":
    main()
