"""The packaged layers, built by their Makefiles as `sam build` does, for the interpreter running this test.

They hold only wheels fitting the target, no boto3/botocore, no removed stdlib imports, no
package or file twice, fit their budgets, ship unchecked-hash bytecode of exactly the modules the
handlers load at cold start (``layers/*/cold_start.txt`` is not stale), and every tenantkit
module imports from the shared and tracing layers (what every function carries) with nothing
but the runtime's SDK beside them; a handler traced with TENANTKIT_TRACING=otel exports its span
to a collector on 127.0.0.1. The AgentCore client exists even on a runtime botocore without the
service (the shipped model).
"""

from __future__ import annotations

import base64
import gzip
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tenantkit_local.otlp_receiver import OtlpReceiver
from tenantkit_local.release.layer_bytecode import LAYER_RESOURCES, build_layer, cold_start_lists, read_list
from tenantkit_local.release.layer_check import check_build, check_layer, tag_fits

ROOT = Path(__file__).resolve().parents[2]
RUNTIME = f"python3.{sys.version_info.minor}"
SDK = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six.py")


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory) -> Path:
    """The layers as `sam build` lays them out (.aws-sam/build/<resource>), bytecode compiled by
    the interpreter running this test (the target runtime: LAYER_RUNTIME is its version)."""
    out = tmp_path_factory.mktemp("build")
    for folder, resource in LAYER_RESOURCES.items():
        build_layer(folder, out / resource)
    return out


@pytest.fixture(scope="module")
def built(build_dir) -> Path:
    return build_dir / "TenantkitLayer"


@pytest.fixture(scope="module")
def tracing(build_dir) -> Path:
    return build_dir / "TracingLayer"


@pytest.fixture(scope="module")
def runtime_sdk(tmp_path_factory) -> Path:
    """Only the runtime's SDK closure (here: the dev environment's copies), nothing else."""
    import boto3

    site = Path(boto3.__file__).parents[1]
    folder = tmp_path_factory.mktemp("runtime")
    for name in SDK:
        (folder / name).symlink_to(site / name)
    return folder


def test_the_built_layer_fits_its_target(built):
    report = check_layer("TenantkitLayer", built, RUNTIME, "x86_64")
    assert report.ok, report.problems
    assert report.size_bytes <= 30_000_000
    assert not {"boto3", "botocore"} & set(report.wheels)
    assert (built / "python" / "tenantkit" / "bff" / "botocore_data" / "bedrock-agentcore").is_dir()
    assert not (built / "python" / "opentelemetry").exists()  # the TracingLayer's


def test_the_tracing_layer_fits_its_target_and_shares_nothing_with_the_shared_layer(build_dir, tracing):
    reports = {r.name: r for r in check_build(build_dir, RUNTIME, "x86_64")}
    assert set(reports) == {"TenantkitLayer", "TracingLayer", "AbacLayer"}
    assert all(r.ok for r in reports.values()), {n: r.problems for n, r in reports.items()}
    assert {"opentelemetry-api", "opentelemetry-sdk"} <= set(reports["TracingLayer"].wheels)
    # the OTLP payload is written by tenantkit.observability.otlp_proto: no protobuf runtime shipped
    gone = {"protobuf", "opentelemetry-proto", "opentelemetry-exporter-otlp-proto-common"}
    assert not gone & set(reports["TracingLayer"].wheels)
    assert not (tracing / "python" / "google").exists()
    assert "typing-extensions" not in reports["TracingLayer"].wheels  # the shared layer's copy serves both


def _run(built: Path, sdk: Path, code: str, *, layers: tuple[Path, ...] = (),
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``code`` with only the layers (in /opt/python order) and the runtime's SDK importable."""
    paths = [str(built / "python"), *(str(layer / "python") for layer in layers), str(sdk)]
    prelude = f"import sys; sys.path[:0] = {paths!r}\n"
    return subprocess.run([sys.executable, "-I", "-B", "-c", prelude + code], capture_output=True, text=True,  # noqa: S603
                          check=False, env={"AWS_DEFAULT_REGION": "us-east-1", "PATH": os.environ["PATH"],
                                            **(env or {})})


def test_every_tenantkit_module_imports_from_the_layer(built, tracing, runtime_sdk):
    code = ("import pkgutil, importlib, tenantkit\n"
            "assert tenantkit.__file__.startswith(sys.path[0]), tenantkit.__file__\n"
            "for m in pkgutil.walk_packages(tenantkit.__path__, 'tenantkit.'):\n"
            "    if m.name != 'tenantkit.abac.engine': importlib.import_module(m.name)\n"  # cedarpy: AbacLayer
            "print('ok')\n")
    proc = _run(built, runtime_sdk, code, layers=(tracing,))
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-3000:]


def test_a_handler_traced_with_otel_exports_its_span_from_the_packaged_layers(built, tracing, runtime_sdk, tmp_path):
    """The audit sink's handler module as Lambda loads it (/var/task first, then the layers)."""
    task = ROOT / "functions" / "audit_sink"
    control = {"messageType": "CONTROL_MESSAGE", "logGroup": "", "logStream": "", "logEvents": []}
    event = {"awslogs": {"data": base64.b64encode(gzip.compress(json.dumps(control).encode())).decode()}}
    code = (f"sys.path.insert(0, {str(task)!r})\n"
            "import opentelemetry.sdk.trace\n"
            f"assert opentelemetry.sdk.trace.__file__.startswith({str(tracing)!r}), opentelemetry.sdk.trace.__file__\n"
            "import app\n"
            "from types import SimpleNamespace\n"
            "context = SimpleNamespace(function_name='audit-sink', function_version='$LATEST',\n"
            "    memory_limit_in_mb=512,\n"
            "    invoked_function_arn='arn:aws:lambda:us-east-1:123456789012:function:audit-sink',\n"
            "    aws_request_id='req-1', get_remaining_time_in_millis=lambda: 10_000)\n"
            f"print(app.lambda_handler({event!r}, context))\n"
            "assert not [m for m in sys.modules if m.startswith(('google.protobuf', 'opentelemetry.proto'))]\n")
    with OtlpReceiver() as receiver:
        proc = _run(built, runtime_sdk, code, layers=(tracing,), env={
            "TENANTKIT_TRACING": "otel", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": receiver.endpoint,
            "TENANTKIT_TRACING_FLUSH_TIMEOUT_MS": "2000", "AUDIT_STORE": str(tmp_path / "audit"),
            "AWS_LAMBDA_FUNCTION_NAME": "audit-sink", "TENANTKIT_LOG_HASH_KEY": "k" * 32})
        assert proc.returncode == 0, proc.stderr[-3000:]
        spans = receiver.wait_for(1)
    assert "CONTROL_MESSAGE" in proc.stdout, proc.stdout
    assert len(spans) == 1 and spans[0]["kind"] == "server", spans
    assert spans[0]["resource"]["service.name"], spans[0]["resource"]


def test_the_cold_start_lists_are_the_modules_the_handlers_load_from_the_built_layers(build_dir, runtime_sdk):
    """``make layer-bytecode`` would write the committed lists: otherwise they are stale."""
    layers = {folder: build_dir / resource for folder, resource in LAYER_RESOURCES.items()}
    assert cold_start_lists(layers, runtime_sdk) == {folder: read_list(folder) for folder in layers}
    for folder, out in layers.items():
        site = out / "python"
        compiled = {p.relative_to(site).as_posix() for p in site.rglob("*.py")
                    if Path(importlib.util.cache_from_source(str(p))).exists()}
        assert compiled == set(read_list(folder)), folder  # what the build compiled: the list, no more


def test_the_agentcore_client_exists_on_a_runtime_botocore_without_the_service(built, runtime_sdk, tmp_path):
    import botocore

    old_data = tmp_path / "data"  # botocore's data minus bedrock-agentcore: an older runtime
    old_data.mkdir()
    for entry in (Path(botocore.__file__).parent / "data").iterdir():
        if entry.name != "bedrock-agentcore":
            (old_data / entry.name).symlink_to(entry)
    code = (
        "import botocore.session\nfrom botocore.loaders import Loader\n"
        "from botocore.stub import Stubber\n"
        "from tenantkit.bff.agentcore_client import agentcore_client\n"
        "core = botocore.session.get_session()\n"
        f"core.register_component('data_loader', Loader(extra_search_paths=[{str(old_data)!r}],"
        " include_default_search_paths=False))\n"
        "assert 'bedrock-agentcore' not in core.get_available_services()\n"
        "client = agentcore_client(botocore_session=core)\n"
        "assert hasattr(client, 'invoke_agent_runtime')\n"
        "stub = Stubber(client); stub.add_response('invoke_agent_runtime', {'runtimeSessionId': 's' * 33,"
        " 'contentType': 'application/json', 'statusCode': 200, 'response': b'{}'}); stub.activate()\n"
        "client.invoke_agent_runtime(agentRuntimeArn='arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/a',"
        " payload=b'{}')\n"
        "print('ok')\n")
    proc = _run(built, runtime_sdk, code)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-3000:]


@pytest.mark.parametrize(("tag", "runtime", "arch", "fits"), [
    ("cp313-cp313-manylinux_2_17_aarch64", "python3.13", "arm64", True),
    ("cp313-cp313-manylinux_2_17_aarch64", "python3.13", "x86_64", False),
    ("cp313-cp313-manylinux_2_34_x86_64", "python3.11", "x86_64", False),
    ("cp312-cp312-manylinux_2_28_x86_64", "python3.11", "x86_64", False),
    ("cp311-abi3-manylinux_2_17_x86_64", "python3.13", "x86_64", True),
    ("cp314-abi3-manylinux_2_17_x86_64", "python3.13", "x86_64", False),
    ("cp313-cp313-manylinux_2_34_x86_64", "python3.12", "x86_64", False),
    ("cp312-cp312-manylinux_2_34_x86_64", "python3.12", "x86_64", True),
    ("cp311-cp311-musllinux_1_2_x86_64", "python3.11", "x86_64", False),
    ("py3-none-any", "python3.11", "arm64", True),
])
def test_wheel_tags_are_judged_against_python_and_glibc(tag, runtime, arch, fits):
    assert tag_fits(tag, runtime, arch) is fits
