"""BFF overhead per request, excluding network (p50 <= 1 ms), printed not asserted.

The session repository is the in-memory adapter and the upstream answers at once, so the
figures are the BFF's own work: envelope parse, token-expiry and registry-status re-checks,
spoof checks, one session read, ABAC (Cedar), outbound headers, audit lines. Baseline in the
same run: a bare Powertools REST resolver route.
Also: Cedar evaluation alone, cold import of the handler module, and the tenant-scoped
credentials: the warm lookup's cost, AssumeRole calls per (tenant, app) per container, and the
cold-path cost of a tenant's first request (AssumeRole + client creation) against a moto server
on 127.0.0.1 (real STS adds its own round trip, typically tens of ms, once per tenant and app).

Usage: .venv/bin/python bench/bff.py [--iterations N] [--no-moto]
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


class InstantUpstream:
    def invoke(self, request):
        from tenantkit.bff.outbound import UpstreamResponse, identity_headers

        identity_headers(request)  # the outbound identity work is part of the BFF's overhead
        return UpstreamResponse(200, b'{"reply":"ok","usage":{"input_tokens":3,"output_tokens":2}}',
                                "application/json", {"input_tokens": 3, "output_tokens": 2})




def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=3000)
    parser.add_argument("--no-moto", action="store_true", help="skip the credential-path figures on moto")
    args = parser.parse_args()
    os.environ.setdefault("TENANTKIT_LOG_HASH_KEY", "bench-key")
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "tenantkit-bff")

    from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response

    from support.bff import envelope, proxy_event
    from tenantkit.abac import AbacResource, PolicyEngine
    from tenantkit.bff import BffApi, BffConfig, BffService, InMemorySessionRepository

    alice = envelope()
    store = InMemorySessionRepository()
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
           "TENANT_DATA_ROLE_ARN": "arn:aws:iam::123456789012:role/bench-tenant-data",
           "TENANT_REGISTRY": registry}
    for _ in range(5):
        out = subprocess.run([sys.executable, "-c", COLD_IMPORT.format(path=str(ROOT / "functions/bff_proxy/app.py"))],
                             capture_output=True, text=True, env=env, check=True)
        cold.append(json.loads(out.stdout.strip().splitlines()[-1]))

    b, m, p, c = summarize(baseline), summarize(messages), summarize(profile), summarize(cedar)
    MESSAGE_P50.append(m["p50"])
    print(f"bff bench ({args.iterations} iterations, in-memory session repository and upstream)")
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
    lookup = credential_lookup(args.iterations)
    print(f"  tenant credentials, warm client_for() lookup p50 {lookup['p50'] * 1000:.1f} us   "
          f"p99 {lookup['p99'] * 1000:.1f} us   ({lookup['share']:.1%} of the message p50)")
    if not args.no_moto:
        credential_path_on_moto(sink)


def credential_lookup(iterations: int) -> dict[str, float]:
    """The warm path's only added work: a locked LRU lookup of the (tenant, app) client."""
    import datetime as dt

    from tenantkit.bff.credentials import TenantScopedClients

    class CountingSts:
        def assume_role(self, **_: object) -> dict:
            expiry = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=900)
            return {"Credentials": {"AccessKeyId": "ASIABENCH", "SecretAccessKey": "s", "SessionToken": "t",
                                    "Expiration": expiry}}

    clients = TenantScopedClients("arn:aws:iam::123456789012:role/bench", sts_client_factory=CountingSts,
                                  client_factory=lambda credentials: object())
    pairs = [(f"tenant-{i}", "portal") for i in range(50)]
    for pair in pairs:
        clients.client_for(*pair)
    counter = iter(range(10**9))
    samples = timed(lambda: clients.client_for(*pairs[next(counter) % len(pairs)]), iterations)
    assert clients.assume_role_calls == len(pairs)
    figures = summarize(samples)
    return {**figures, "share": figures["p50"] / MESSAGE_P50[0] if MESSAGE_P50 else 0.0}


def credential_path_on_moto(sink: io.StringIO) -> None:
    """The BFF with the DynamoDB adapter and tenant-scoped clients against moto (STS + DynamoDB):
    AssumeRole calls per (tenant, app) per container, and each tenant's first request against
    its warm requests."""
    from support.bff import envelope, proxy_event
    from tenantkit.abac import PolicyEngine
    from tenantkit.bff import BffApi, BffConfig, BffService, DynamoDbSessionRepository
    from tenantkit_local.cloud import MotoServer, create_table

    server = MotoServer().start()
    try:
        create_table(server.client("dynamodb"), "SessionsTable", "bench-sessions")
        clients = server.tenant_scoped_clients()
        repository = DynamoDbSessionRepository("bench-sessions", clients=clients)
        config = BffConfig(sessions_table="bench-sessions", upstream_mode="http", upstream_url="http://unused")
        api = BffApi(lambda: BffService(config=config, store=repository, upstream=InstantUpstream(),
                                        policy=PolicyEngine.default()))
        tenants = [envelope(tenant=f"tenant-{i:02d}") for i in range(12)]
        # Sessions are created with operator credentials, so each tenant's first BFF request
        # (the cold one: AssumeRole + client creation) is a read like the warm ones.
        operator = DynamoDbSessionRepository("bench-sessions", client_factory=lambda: server.client("dynamodb"))
        cold, warm = [], []
        with contextlib.redirect_stdout(sink):
            for caller in tenants:
                session_id = operator.create(caller).session_id
                event = proxy_event("GET", f"/v1/sessions/{session_id}", caller)
                cold += timed(lambda event=event: api.handle(event, None), 1, warmup=0)
                warm += timed(lambda event=event: api.handle(event, None), 30, warmup=0)
        print(f"  credential path on moto ({len(tenants)} tenants x 31 GET /v1/sessions/{{id}}, "
              f"loopback STS and DynamoDB)")
        print(f"    AssumeRole calls: {clients.assume_role_calls} for {len(tenants)} (tenant, app) pairs "
              f"and {len(cold) + len(warm)} requests (one per pair per container)")
        print(f"    first request of a tenant p50 {statistics.median(cold):.2f} ms   "
              f"warm request p50 {statistics.median(warm):.2f} ms   "
              f"cold-path cost {statistics.median(cold) - statistics.median(warm):.2f} ms per tenant and app")
    finally:
        server.stop()


MESSAGE_P50: list[float] = []


if __name__ == "__main__":
    main()
