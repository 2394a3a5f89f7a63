"""What the observability contract costs (printed, not asserted).

* per-request logging overhead: a handler that writes one log line and one audit record through
  the contract (state, formatter, redaction, session-id hashing) vs the same bare handler;
* cold import of the authorizer handler with tracing disabled vs enabled (X-Ray SDK loaded).

Usage: .venv/bin/python bench/observability.py [--iterations N]
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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from _common import summarize  # noqa: E402

COLD = """
import importlib.util, json, sys, time
t0 = time.perf_counter()
spec = importlib.util.spec_from_file_location("authorizer_app", {path!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
from tenantkit.observability.tracing import get_tracer, tracing_enabled
if tracing_enabled():
    get_tracer("tenantkit-authorizer")  # what the first traced invocation loads
print(json.dumps({{"ms": (time.perf_counter() - t0) * 1000, "xray": "aws_xray_sdk" in sys.modules}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=5000)
    parser.add_argument("--cold-runs", type=int, default=7)
    args = parser.parse_args()
    os.environ.setdefault("TENANTKIT_LOG_HASH_KEY", "bench-key")

    from tenantkit.audit import emit_audit
    from tenantkit.observability import bind_identity, get_logger
    from tenantkit.observability.handler import observe
    from tenantkit_local.runner import LocalLambdaContext

    logger = get_logger("bench")
    event = {"requestContext": {"requestId": "bench-request"}, "path": "/v1/me"}

    def bare(event: dict, context: object) -> dict:
        return {"statusCode": 200}

    @observe
    def contracted(event: dict, context: object) -> dict:
        bind_identity(tenant_id="acme", app_id="portal", principal_id="tid:oid", session_id="s_" + "a" * 43)
        logger.info("request handled", extra={"route": "GET /v1/me"})
        emit_audit("request.completed", "success", "http_200", route="GET /v1/me", status=200, latency_ms=1.0)
        return {"statusCode": 200}

    context = LocalLambdaContext(function_name="bench")
    sink = io.StringIO()
    samples: dict[str, list[float]] = {"bare": [], "contract": []}
    with contextlib.redirect_stdout(sink):
        for _ in range(args.iterations):
            for name, fn in (("bare", bare), ("contract", contracted)):
                t0 = time.perf_counter()
                fn(event, context)
                samples[name].append((time.perf_counter() - t0) * 1000)
            sink.seek(0)
            sink.truncate()
    bare_s, contract_s = summarize(samples["bare"]), summarize(samples["contract"])

    inherited = {k: v for k, v in os.environ.items() if k != "POWERTOOLS_TRACE_DISABLED"}
    authorizer_env = json.loads((ROOT / "local/env.json").read_text())["AuthorizerFunction"]
    base_env = {**inherited, **authorizer_env, "OIDC_JWKS_URI": "http://127.0.0.1:9/common/discovery/v2.0/keys"}
    cold: dict[str, list[dict]] = {"tracing disabled": [], "tracing enabled": []}
    for label, extra in (("tracing disabled", {"POWERTOOLS_TRACE_DISABLED": "true"}),
                         ("tracing enabled", {"AWS_LAMBDA_FUNCTION_NAME": "bench",
                                              "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;"
                                              "Parent=53995c3f42cd8ad8;Sampled=1"})):
        for _ in range(args.cold_runs):
            out = subprocess.run([sys.executable, "-c", COLD.format(path=str(ROOT / "functions/authorizer/app.py"))],
                                 capture_output=True, text=True, env={**base_env, **extra}, check=False)
            if out.returncode:
                raise SystemExit(f"cold import failed ({label}):\n{out.stderr[-2000:]}")
            cold[label].append(json.loads(out.stdout.strip().splitlines()[-1]))

    print(f"observability bench ({args.iterations} iterations)")
    print(f"  bare handler                              p50 {bare_s['p50'] * 1000:.1f} us")
    print(f"  handler + 1 log line + 1 audit record     p50 {contract_s['p50'] * 1000:.1f} us   "
          f"p99 {contract_s['p99'] * 1000:.1f} us   overhead p50 {(contract_s['p50'] - bare_s['p50']) * 1000:.1f} us "
          f"({contract_s['p50'] / bare_s['p50']:.0f}x the bare handler)")
    for label, runs in cold.items():
        print(f"  cold import of the authorizer, {label:<17} median {statistics.median(r['ms'] for r in runs):7.1f} ms"
              f"   X-Ray SDK loaded: {runs[0]['xray']}")


if __name__ == "__main__":
    main()
