"""Authorizer figures against the performance budgets (printed, never asserted by tests).

* warm lambda_handler (logging, audit line; tracing per TENANTKIT_TRACING, off here), cached
  JWKS: p50 <= 1.3x pyjwt's own jwt.decode of the same token in the same run, p99 <= 1 ms;
  straight loops here, interleaved rounds (less exposed to load drift) in bench/tracing.py
* warm invocation p50 <= 0.25 ms (absolute, machine-dependent)
* cold import of the handler module (init included: the JWKS fetch), from the file layout Lambda
  imports from (``_lambda_layout``: the layers as built, without bytecode and all compiled): <= 250 ms
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
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from _common import budget_line, summarize  # noqa: E402
from _lambda_layout import lambda_environment, layer_layouts  # noqa: E402

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
    if args.cold_runs < 5:
        parser.error("--cold-runs: a median needs at least 5 runs")

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

        # The reference stack reads the registry from SSM (TENANT_REGISTRY=ssm:<name>) at init: that
        # variant loads boto3 and creates the SSM client; the endpoint refuses on 127.0.0.1, so the
        # round trip is not counted (the registry is then retried on the first request).
        ssm = {"TENANT_REGISTRY": "ssm:/tenantkit/bench/registry", "AWS_ENDPOINT_URL_SSM": "http://127.0.0.1:9",
               "AWS_MAX_ATTEMPTS": "1", "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
               "AWS_REGION": "eu-west-1"}
        variants = {"layers without bytecode (before)": ("no bytecode", {}), "layers as built": ("as built", {}),
                    "layers all compiled": ("all compiled", {}),
                    "layers as built, registry from SSM": ("as built", ssm)}
        cold: dict[str, list[dict]] = {name: [] for name in variants}
        with tempfile.TemporaryDirectory(prefix="tenantkit-lambda-") as scratch:
            sites = layer_layouts(Path(scratch))
            for _ in range(args.cold_runs):  # interleaved: load drift hits every variant alike
                for name, (layout, extra) in variants.items():
                    out = subprocess.run(
                        [sys.executable, "-c", COLD_IMPORT.format(path=str(ROOT / "functions/authorizer/app.py"))],
                        capture_output=True, text=True, check=True, cwd=ROOT / "functions/authorizer",
                        env={**os.environ, **env, **extra, **lambda_environment("authorizer", sites[layout])},
                    )
                    cold[name].append(json.loads(out.stdout.strip().splitlines()[-1]))

    b, w, c = summarize(baseline), summarize(warm), summarize(core)
    print(f"authorizer bench ({args.iterations} iterations, Python {sys.version.split()[0]})")
    print(f"  baseline pyjwt.decode alone               p50 {b['p50']:.3f} ms   p99 {b['p99']:.3f} ms")
    print(f"  authorizer.handle (rules + log line)      p50 {c['p50']:.3f} ms   p99 {c['p99']:.3f} ms"
          f"   ratio to baseline p50 {c['p50'] / b['p50']:.2f}x")
    print(f"  lambda_handler (with Powertools context)  p50 {w['p50']:.3f} ms   p99 {w['p99']:.3f} ms"
          f"   ratio to baseline p50 {w['p50'] / b['p50']:.2f}x")
    print(budget_line("warm lambda_handler p50 / pyjwt p50", w["p50"] / b["p50"], 1.3, "x"))
    print(budget_line("warm invocation p50", w["p50"], 0.25))
    print(budget_line("warm invocation p99", w["p99"], 1.0))
    print(f"  cold import + init, median of {args.cold_runs} runs (Lambda's file layout, bench/_lambda_layout.py)")
    for name, runs in cold.items():
        print(budget_line(f"  {name}", statistics.median(r["import_ms"] for r in runs), 250))
    print(f"  JWKS requests during the warm loop: {jwks_requests} (1 = the init fetch only)")
    for name, runs in cold.items():
        print(f"  {name}: X-Ray SDK loaded at import: {runs[0]['xray_loaded']}; boto3: {runs[0]['boto3_loaded']}")


if __name__ == "__main__":
    main()
