"""The packaged layer, built by its Makefile as `sam build` does, for the interpreter running this test.

It holds only wheels fitting the target, no boto3/botocore, no removed stdlib imports, fits its
budget, and every tenantkit module imports from it with nothing but the runtime's SDK beside it.
The AgentCore client exists even on a runtime botocore without the service (the shipped model).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tenantkit_local.release.layer_check import check_layer, tag_fits

ROOT = Path(__file__).resolve().parents[2]
RUNTIME = f"python3.{sys.version_info.minor}"
SDK = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six.py")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("layer")
    env = {**os.environ, "ARTIFACTS_DIR": str(out), "LAYER_RUNTIME": RUNTIME, "LAYER_ARCH": "x86_64",
           "PIP": f"{sys.executable} -m pip"}
    command = ["make", "--no-print-directory", "-C", str(ROOT / "layers" / "tenantkit"), "build-TenantkitLayer"]
    proc = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


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


def _run(built: Path, sdk: Path, code: str) -> subprocess.CompletedProcess[str]:
    prelude = f"import sys; sys.path[:0] = [{str(built / 'python')!r}, {str(sdk)!r}]\n"
    return subprocess.run([sys.executable, "-I", "-c", prelude + code], capture_output=True, text=True,  # noqa: S603
                          check=False, env={"AWS_DEFAULT_REGION": "us-east-1", "PATH": os.environ["PATH"]})


def test_every_tenantkit_module_imports_from_the_layer(built, runtime_sdk):
    code = ("import pkgutil, importlib, tenantkit\n"
            "assert tenantkit.__file__.startswith(sys.path[0]), tenantkit.__file__\n"
            "for m in pkgutil.walk_packages(tenantkit.__path__, 'tenantkit.'):\n"
            "    if m.name != 'tenantkit.abac.engine': importlib.import_module(m.name)\n"  # cedarpy: AbacLayer
            "print('ok')\n")
    proc = _run(built, runtime_sdk, code)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-3000:]


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
