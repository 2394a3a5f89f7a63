"""Authorizer figures against the performance budgets (printed, never asserted by tests).

* warm lambda_handler (logging, audit line; tracing per TENANTKIT_TRACING, off here), cached
  JWKS: p50 <= 1.3x pyjwt's own jwt.decode of the same token in the same run, p99 <= 1 ms;
  straight loops here, interleaved rounds (less exposed to load drift) in bench/tracing.py
* warm invocation p50 <= 0.25 ms (absolute, machine-dependent)
* cold import of the handler module: <= 300 ms
Baseline in the same run: pyjwt's own decode (signature + standard claims) of the same token.

Usage: .venv/bin/python bench/authorizer.py [--iterations N]
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
sys.path.insert(0, str(ROOT / "tests"))

from _common import budget_line, summarize  # noqa: E402

COLD_IMPORT = """
import importlib.util, sys, time, json
t0 = time.perf_counter()
spec = importlib.util.spec_from_file_location("authorizer_app", {path!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
t1 = time.perf_counter()
print(json.dumps({{"import_ms": (t1 - t0) * 1000, "xray_loaded": "aws_xray_sdk" in sys.modules,
                  "boto3_loaded": "boto3" in sys.modules}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=5000)
    parser.add_argument("--cold-runs", type=int, default=7)
    args = parser.parse_args()

    import jwt

    from support.tokens import API_AUDIENCE, entra_claims, jwk_for, rsa_key, sign
    from tenantkit_local.jwks_server import JwksServer

    key = rsa_key()
    document = json.dumps({"keys": [jwk_for(key, "bench-kid")]}).encode()
    env = json.loads((ROOT / "local/env.json").read_text())["AuthorizerFunction"]
    token = sign(entra_claims(exp=int(time.time()) + 86400), key, kid="bench-kid")
    event = {
        "type": "REQUEST", "httpMethod": "GET", "resource": "/v1/me",
        "methodArn": "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/dev/GET/v1/me",
        "headers": {"Authorization": f"Bearer {token}"}, "requestContext": {"requestId": "bench-request"},
    }

    with JwksServer(document) as server:
        env = {**env, "OIDC_JWKS_URI": server.jwks_uri, "POWERTOOLS_SERVICE_NAME": "tenantkit-authorizer",
               "AWS_LAMBDA_FUNCTION_NAME": "bench-authorizer"}
        os.environ.update(env)
        from tenantkit.observability.settings import reset_observability_settings

        reset_observability_settings()  # read once per process: this one's environment just changed

        # Baseline: pyjwt alone, same token, same key.
        public = key.public_key()
        baseline = []
        for _ in range(200):  # warm-up, as for the handler below
            jwt.decode(token, public, algorithms=["RS256"], audience=API_AUDIENCE)
        for _ in range(args.iterations):
            t0 = time.perf_counter()
            jwt.decode(token, public, algorithms=["RS256"], audience=API_AUDIENCE)
            baseline.append((time.perf_counter() - t0) * 1000)

        # Warm handler: imported once (init fetches the JWKS), then invoked repeatedly.
        sys.path.insert(0, str(ROOT / "functions/authorizer"))
        sink = io.StringIO()
        with contextlib.redirect_stdout(sink):
            import app  # the handler module

            from tenantkit_local.runner import LocalLambdaContext

            context = LocalLambdaContext(function_name="bench-authorizer")
            response = app.lambda_handler(event, context)
            assert response["policyDocument"]["Statement"][0]["Effect"] == "Allow", response
            for _ in range(200):  # warm-up
                app.lambda_handler(event, context)
            sink.seek(0)
            sink.truncate()
            warm = []
            for _ in range(args.iterations):
                t0 = time.perf_counter()
                app.lambda_handler(event, context)
                warm.append((time.perf_counter() - t0) * 1000)
                sink.seek(0)
                sink.truncate()
            # Same path without the Powertools decorator: what the rules themselves cost.
            core = []
            for _ in range(args.iterations):
                t0 = time.perf_counter()
                app.authorizer.handle(event, context)
                core.append((time.perf_counter() - t0) * 1000)
                sink.seek(0)
                sink.truncate()
        jwks_requests = server.jwks_requests

        cold = []
        for _ in range(args.cold_runs):
            out = subprocess.run(
                [sys.executable, "-c", COLD_IMPORT.format(path=str(ROOT / "functions/authorizer/app.py"))],
                capture_output=True, text=True, env={**os.environ, **env}, check=True,
            )
            cold.append(json.loads(out.stdout.strip().splitlines()[-1]))

    b, w, c = summarize(baseline), summarize(warm), summarize(core)
    cold_ms = statistics.median(r["import_ms"] for r in cold)
    print(f"authorizer bench ({args.iterations} iterations, Python {sys.version.split()[0]})")
    print(f"  baseline pyjwt.decode alone               p50 {b['p50']:.3f} ms   p99 {b['p99']:.3f} ms")
    print(f"  authorizer.handle (rules + log line)      p50 {c['p50']:.3f} ms   p99 {c['p99']:.3f} ms"
          f"   ratio to baseline p50 {c['p50'] / b['p50']:.2f}x")
    print(f"  lambda_handler (with Powertools context)  p50 {w['p50']:.3f} ms   p99 {w['p99']:.3f} ms"
          f"   ratio to baseline p50 {w['p50'] / b['p50']:.2f}x")
    print(budget_line("warm lambda_handler p50 / pyjwt p50", w["p50"] / b["p50"], 1.3, "x"))
    print(budget_line("warm invocation p50", w["p50"], 0.25))
    print(budget_line("warm invocation p99", w["p99"], 1.0))
    print(budget_line(f"cold import + init, median of {len(cold)}", cold_ms, 300))
    print(f"  JWKS requests during the warm loop: {jwks_requests} (1 = the init fetch only)")
    print(f"  X-Ray SDK loaded at import: {cold[0]['xray_loaded']}; boto3 loaded at import: {cold[0]['boto3_loaded']}")


if __name__ == "__main__":
    main()
