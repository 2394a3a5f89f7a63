"""What each handler's cold start loads: the heavy modules a handler needs, and none it does not.

Each handler module is imported in a fresh interpreter as Lambda imports it (the function's own
directory first, then the layer, then the runtime's packages), with the reference stack's
environment (``template.yaml`` + ``local/env.json``) and ``TENANTKIT_TRACING=otel`` under a sampled
trace header; then the tracer the first traced invocation builds is loaded. Not a timing
assertion: a module that is loaded costs its import on every cold start, so the class of defect
("a heavy module one path needs is imported by every path") is caught by name, both ways: a
module the table says a handler does not need must be absent, and one it needs must be present
(so the probe really imported the handler).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tenantkit_local.template import function_spec, load_env_vars

ROOT = Path(__file__).resolve().parents[2]
XRAY_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
HANDLERS = {"authorizer": "AuthorizerFunction", "bff_proxy": "BffProxyFunction",
            "audit_sink": "AuditSinkFunction", "audit_compaction": "AuditCompactionFunction"}

# Heavy modules (or packages: a name covers its submodules) and why a handler may need them.
HEAVY = {
    "boto3": "the AWS SDK: created on the first AWS call, never at import",
    # not the bare botocore package: Powertools' own __init__ imports it to register its user agent
    "botocore.session": "the AWS SDK: created on the first AWS call, never at import",
    "botocore.client": "the AWS SDK: created on the first AWS call, never at import",
    "aws_xray_sdk": "the X-Ray adapter: loaded only with TENANTKIT_TRACING=xray",
    "aws_lambda_powertools.utilities.parameters": "SSM reads: only for an ssm: registry source",
    "google.protobuf": "the OTLP payload is written by tenantkit.observability.otlp_proto",
    "opentelemetry.proto": "the OTLP payload is written by tenantkit.observability.otlp_proto",
    "opentelemetry.exporter": "the OTLP payload is written by tenantkit.observability.otlp_proto",
    "opentelemetry.util._importlib_metadata": "OTel's entry-point scans (context, resource detectors)",
    "opentelemetry.propagators": "the inbound X-Ray header is parsed by tenantkit.observability.otel",
    "opentelemetry.sdk": "the OTel SDK: loaded by the first traced invocation, never at import",
    "pydantic": "models: the envelope, the registry and the audit record",
    "importlib.metadata": "pydantic's plugin loader imports it with the first model",
    "jwt": "PyJWT: the verifier and the JWKS loader call cryptography directly (its import loads x509)",
    "cryptography": "token verification (the JWKS keys)",
    "cedarpy": "the ABAC policy engine",
    "aws_lambda_powertools.event_handler": "every Powertools resolver; the BFF routes with tenantkit.bff.routing",
    "asyncio": "pulled in by Powertools' event_handler package (its AppSync resolver)",
    "tenantkit_local": "local tooling: never part of a function",
}
PYDANTIC = {"pydantic", "importlib.metadata"}
OTEL_SDK = {"opentelemetry.sdk"}
# What each handler needs, and at which point: at import (init) or once its tracer is loaded.
NEEDS_AT_IMPORT = {
    # verifies every token (cryptography, keys parsed at init); the envelope, the inline
    # registry and the audit record are pydantic models
    "authorizer": {"cryptography", *PYDANTIC},
    # envelope and audit record (pydantic), ABAC (cedarpy)
    "bff_proxy": {"cedarpy", *PYDANTIC},
    # validates every ingested record against the audit model
    "audit_sink": {*PYDANTIC},
    # orchestration of Athena and S3 calls only: field names without the model
    "audit_compaction": set(),
}
NEEDS_WITH_TRACER = {name: needs | OTEL_SDK for name, needs in NEEDS_AT_IMPORT.items()}

PROBE = """
import importlib.util, json, os, sys
spec = importlib.util.spec_from_file_location("handler_app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
at_import = sorted(sys.modules)
from tenantkit.observability import otel
otel.pipeline(os.environ["POWERTOOLS_SERVICE_NAME"])
print(json.dumps({"at_import": at_import, "with_tracer": sorted(sys.modules)}))
"""


def _loaded(modules: list[str], name: str) -> bool:
    return any(m == name or m.startswith(name + ".") for m in modules)


@pytest.fixture(scope="module")
def cold_modules(tmp_path_factory) -> dict[str, dict[str, list[str]]]:
    env_vars = load_env_vars(ROOT / "local/env.json")
    cwd = tmp_path_factory.mktemp("lambda-task")  # nothing importable from the working directory
    found = {}
    for name, logical in HANDLERS.items():
        spec = function_spec(ROOT / "template.yaml", logical, env_vars=env_vars)
        env = {"PATH": os.environ.get("PATH", ""), **spec.environment, "TENANTKIT_TRACING": "otel",
               "_X_AMZN_TRACE_ID": XRAY_HEADER, "AWS_LAMBDA_FUNCTION_NAME": logical, "AWS_REGION": "us-east-1",
               "AWS_DEFAULT_REGION": "us-east-1", "OIDC_JWKS_URI": "http://127.0.0.1:9/keys",
               "PYTHONPATH": os.pathsep.join([str(ROOT / "functions" / name), str(ROOT / "layers/tenantkit")])}
        out = subprocess.run([sys.executable, "-c", PROBE, str(ROOT / "functions" / name / "app.py")],  # noqa: S603
                             capture_output=True, text=True, env=env, cwd=cwd, check=False, timeout=120)
        assert out.returncode == 0, out.stderr[-2000:]
        found[name] = json.loads(out.stdout.strip().splitlines()[-1])
    return found


@pytest.mark.parametrize("stage", ["at_import", "with_tracer"])
@pytest.mark.parametrize("handler", sorted(HANDLERS))
def test_a_cold_start_loads_the_heavy_modules_the_handler_needs_and_no_other(cold_modules, handler, stage):
    needs = (NEEDS_AT_IMPORT if stage == "at_import" else NEEDS_WITH_TRACER)[handler]
    modules = cold_modules[handler][stage]
    loaded = {name for name in HEAVY if _loaded(modules, name)}
    unneeded = {name: HEAVY[name] for name in loaded - needs}
    assert unneeded == {}, f"{handler} ({stage}) loads modules it does not need"
    assert needs <= loaded, f"{handler} ({stage}): the probe did not load what the handler needs"
    assert ("tenantkit.observability.otel" in modules) == (stage == "with_tracer")


def test_the_table_names_only_heavy_modules_it_explains():
    needed = set().union(*NEEDS_AT_IMPORT.values(), *NEEDS_WITH_TRACER.values())
    assert needed <= set(HEAVY)
