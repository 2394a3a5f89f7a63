"""Layer build inputs: lock files, the shared Makefile block, runtime/arch parameters, removed-stdlib scan."""

from __future__ import annotations

import itertools
import marshal
import os
import py_compile
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.requirements import Requirement

from tenantkit_local.release.layer_check import (
    BUDGETS,
    PYC_MAGIC,
    PYC_UNCHECKED_HASH,
    REMOVED_STDLIB,
    check_build,
    removed_imports,
)
from tenantkit_local.release.layer_lock import LAYERS, RUNTIME_PROVIDED, canonical, parse_lock
from tenantkit_local.template import load_template

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"# --- layer build block ---\n(.*)# --- end layer build block ---", re.S)


def test_every_layer_makefile_shares_one_build_block():
    blocks = [BLOCK.search((ROOT / "layers" / name / "Makefile").read_text()).group(1) for name in LAYERS]
    assert all(block == blocks[0] for block in blocks)
    assert "--require-hashes --no-deps" in blocks[0] and "--only-binary=:all:" in blocks[0]
    assert "-m compileall -q --invalidation-mode unchecked-hash" in blocks[0]


def test_makefile_defaults_are_the_template_defaults():
    params = load_template(ROOT / "template.yaml")["Parameters"]
    block = BLOCK.search((ROOT / "layers/tenantkit/Makefile").read_text()).group(1)
    assert f"LAYER_RUNTIME ?= {params['Runtime']['Default']}" in block
    assert f"LAYER_ARCH ?= {params['Architecture']['Default']}" in block
    root = (ROOT / "Makefile").read_text()
    assert f"RUNTIME ?= {params['Runtime']['Default']}" in root
    assert f"ARCH ?= {params['Architecture']['Default']}" in root


def test_every_layer_builds_with_makefile_for_the_runtime_and_architecture_parameters():
    resources = load_template(ROOT / "template.yaml")["Resources"]
    layers = {name for name, resource in resources.items() if resource["Type"] == "AWS::Serverless::LayerVersion"}
    assert layers == set(BUDGETS)  # every layer is checked against a budget of its own
    assert {resources[name]["Properties"]["ContentUri"] for name in layers} == {f"layers/{n}/" for n in LAYERS}
    for name in layers:
        props = resources[name]["Properties"]
        assert resources[name]["Metadata"]["BuildMethod"] == "makefile"
        assert props["CompatibleRuntimes"] == [{"Ref": "Runtime"}]
        assert props["CompatibleArchitectures"] == [{"Ref": "Architecture"}]
        assert f"build-{name}:" in (ROOT / props["ContentUri"] / "Makefile").read_text()


def test_each_lock_pins_every_requirement_with_hashes_and_no_runtime_sdk():
    locks = {layer: parse_lock((ROOT / "layers" / layer / "requirements.lock").read_text()) for layer in LAYERS}
    for first, second in itertools.combinations(LAYERS, 2):
        assert not set(locks[first]) & set(locks[second]), (first, second)  # one copy under /opt
    for layer in LAYERS:
        lock = locks[layer]
        assert lock and all(hashes and all(len(h) == 64 for h in hashes) for _, hashes in lock.values())
        assert not set(lock) & RUNTIME_PROVIDED
        for line in (ROOT / "layers" / layer / "requirements.txt").read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                requirement = Requirement(line)
                version, _ = lock[canonical(requirement.name)]
                assert requirement.specifier.contains(version), (requirement, version)


@given(module=st.sampled_from(sorted(REMOVED_STDLIB)), form=st.sampled_from(["import {m}", "from {m} import x",
                                                                           "import {m}.sub as y"]))
def test_a_removed_stdlib_import_is_found_unless_guarded(module, form):
    statement = form.format(m=module)
    assert removed_imports(statement + "\n") == [module if "sub" not in form else f"{module}.sub"]
    guarded = f"try:\n    {statement}\nexcept ImportError:\n    pass\n"
    assert removed_imports(guarded) == []
    dead = f"import sys\nif sys.version_info >= (3, 3):\n    pass\nelse:\n    {statement}\n"
    assert removed_imports(dead, (3, 13)) == []
    live = f"import sys\nif sys.version_info < (3, 12):\n    pass\nelse:\n    {statement}\n"
    assert removed_imports(live, (3, 13)) != []


def _fake_layer(root: Path, machine: int, wheel_tag: str, size: int = 0) -> Path:
    site = root / "python"
    (site / "pkg-1.0.dist-info").mkdir(parents=True)
    (site / "pkg-1.0.dist-info" / "WHEEL").write_text(f"Wheel-Version: 1.0\nTag: {wheel_tag}\n")
    header = b"\x7fELF" + bytes(14) + machine.to_bytes(2, "little")
    (site / "pkg").mkdir()
    (site / "pkg" / "_native.so").write_bytes(header + bytes(size))
    return root


def test_the_layer_check_rejects_another_cpu_a_foreign_wheel_the_sdk_and_an_oversized_layer(tmp_path):
    from tenantkit_local.release.layer_check import check_layer

    ok = check_layer("AbacLayer", _fake_layer(tmp_path / "ok", 0xB7, "cp313-cp313-manylinux_2_17_aarch64"),
                     "python3.13", "arm64")
    assert ok.ok, ok.problems
    wrong = check_layer("AbacLayer", _fake_layer(tmp_path / "x86", 0x3E, "cp313-cp313-manylinux_2_17_x86_64"),
                        "python3.13", "arm64")
    assert any("built for x86_64" in p for p in wrong.problems) and any("do not fit" in p for p in wrong.problems)
    big = check_layer("AbacLayer", _fake_layer(tmp_path / "big", 0xB7, "py3-none-any", size=16_000_000),
                      "python3.11", "arm64")
    assert any("budget" in p for p in big.problems)
    sdk = _fake_layer(tmp_path / "sdk", 0xB7, "py3-none-any")
    (sdk / "python" / "botocore").mkdir()
    assert any("botocore/ is bundled" in p for p in check_layer("AbacLayer", sdk, "python3.12", "arm64").problems)


@given(name=st.sampled_from(sorted(RUNTIME_PROVIDED)), version=st.sampled_from(["1.0", "1.35.2", "2.9.0.post0"]))
def test_a_runtime_sdk_distribution_is_found_by_its_dist_info(tmp_path_factory, name, version):
    from tenantkit_local.release.layer_check import check_layer

    root = _fake_layer(tmp_path_factory.mktemp("layer"), 0x3E, "py3-none-any")
    dist_info = root / "python" / f"{name.replace('-', '_')}-{version}.dist-info"
    dist_info.mkdir()
    (dist_info / "WHEEL").write_text("Wheel-Version: 1.0\nTag: py3-none-any\n")
    report = check_layer("TracingLayer", root, "python3.13", "x86_64")
    assert set(report.wheels) == {"pkg", name}
    assert f"{name} is bundled: the Lambda runtime provides it" in report.problems


def test_every_function_carries_the_shared_and_tracing_layers_within_lambdas_limit():
    template = load_template(ROOT / "template.yaml")
    shared = template["Globals"]["Function"]["Layers"]
    assert {"Ref": "TenantkitLayer"} in shared and {"Ref": "TracingLayer"} in shared
    functions = {n: r for n, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}
    assert functions
    for resource in functions.values():
        # SAM appends a function's Layers to the Globals list; Lambda allows five per function.
        assert len(shared) + len(resource["Properties"].get("Layers", [])) <= 5


def _layer_with(root: Path, distributions: list[str], files: list[str]) -> None:
    site = root / "python"
    for distribution in distributions:
        (site / f"{distribution}-1.0.dist-info").mkdir(parents=True)
        (site / f"{distribution}-1.0.dist-info" / "WHEEL").write_text("Wheel-Version: 1.0\nTag: py3-none-any\n")
    for file in files:
        (site / file).parent.mkdir(parents=True, exist_ok=True)
        (site / file).write_text("x = 1\n")


names = st.text(alphabet="abcdefgh_", min_size=1, max_size=6).map(lambda n: f"p{n}")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=st.sets(names, max_size=4), second=st.sets(names, max_size=4), common_file=st.booleans(),
       pair=st.sampled_from(list(itertools.combinations(sorted(BUDGETS), 2))))
def test_a_distribution_or_file_shipped_by_two_layers_fails_both(tmp_path_factory, first, second, common_file, pair):
    build = tmp_path_factory.mktemp("build")
    _layer_with(build / pair[0], sorted(first), ["only_first/a.py", *(["ns/shared.py"] if common_file else [])])
    _layer_with(build / pair[1], sorted(second), ["only_second/a.py", *(["ns/shared.py"] if common_file else [])])
    reports = {r.name: r for r in check_build(build, "python3.13", "x86_64")}
    clash = bool(first & second) or common_file
    for name in pair:
        overlap = [p for p in reports[name].problems if " both " in p]
        assert bool(overlap) is clash, (name, reports[name].problems)
        assert all(d in " ".join(overlap) for d in first & second)


# --- bytecode: compiled by the target interpreter, unchecked-hash (docs/runtime.md) ---------------

RUNTIME_HERE = f"python3.{sys.version_info.minor}"
MODES = {"timestamp": py_compile.PycInvalidationMode.TIMESTAMP,
         "checked-hash": py_compile.PycInvalidationMode.CHECKED_HASH,
         "unchecked-hash": py_compile.PycInvalidationMode.UNCHECKED_HASH}


def _pyc_header(magic: int, flags: int) -> bytes:
    return magic.to_bytes(2, "little") + b"\r\n" + flags.to_bytes(4, "little") + bytes(8)


def test_the_magic_numbers_are_the_interpreters_own():
    import importlib.util

    assert PYC_MAGIC[RUNTIME_HERE].to_bytes(2, "little") + b"\r\n" == importlib.util.MAGIC_NUMBER
    assert set(PYC_MAGIC) == {f"python3.{m}" for m in (11, 12, 13)}  # the template's Runtime values


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(runtime=st.sampled_from(sorted(PYC_MAGIC)), compiled_for=st.sampled_from(sorted(PYC_MAGIC)),
       flags=st.sampled_from([0b00, 0b01, 0b11, 0b10]), named_for=st.sampled_from(sorted(PYC_MAGIC)))
def test_a_pyc_passes_only_for_the_runtime_and_unchecked_hash(tmp_path_factory, runtime, compiled_for, flags,
                                                              named_for):
    from tenantkit_local.release.layer_check import check_layer

    root = _fake_layer(tmp_path_factory.mktemp("layer"), 0x3E, "py3-none-any")
    cache = root / "python" / "pkg" / "__pycache__"
    cache.mkdir()
    tag = f"cpython-3{named_for.removeprefix('python3.')}"
    (cache / f"mod.{tag}.pyc").write_bytes(_pyc_header(PYC_MAGIC[compiled_for], flags) + b"\xe3")
    report = check_layer("TracingLayer", root, runtime, "x86_64")
    assert report.bytecode_files == 1
    expected_ok = compiled_for == runtime and named_for == runtime and flags == PYC_UNCHECKED_HASH
    assert report.ok is expected_ok, report.problems
    if compiled_for != runtime:
        assert any(f"is bytecode of {compiled_for}, not {runtime}" in p for p in report.problems)
    elif named_for != runtime:
        assert any("named for another interpreter" in p for p in report.problems)
    elif flags != PYC_UNCHECKED_HASH:
        assert any("not unchecked-hash" in p for p in report.problems)


@pytest.mark.parametrize("mode", sorted(MODES))
def test_the_check_reads_what_py_compile_writes(tmp_path, mode):
    from tenantkit_local.release.layer_check import check_layer

    root = _fake_layer(tmp_path, 0x3E, "py3-none-any")
    source = root / "python" / "pkg" / "mod.py"
    source.write_text("VALUE = 1\n")
    py_compile.compile(str(source), doraise=True, invalidation_mode=MODES[mode])
    report = check_layer("TracingLayer", root, RUNTIME_HERE, "x86_64")
    assert report.bytecode_files == 1 and report.ok is (mode == "unchecked-hash"), report.problems


def _compile_step(tmp_path: Path, listed: list[str], files: list[str], **variables: str):
    """The layer Makefiles' compile step alone, on a fake layer built in ``tmp_path/out``."""
    source = tmp_path / "src"
    source.mkdir(exist_ok=True)
    (source / "cold_start.txt").write_text("# a comment line\n" + "".join(f"{f}\n" for f in listed))
    (source / "step.mk").write_text("probe:\n\t$(call compile_bytecode)\n")
    site = tmp_path / "out" / "python"
    for file in files:
        (site / file).parent.mkdir(parents=True, exist_ok=True)
        (site / file).write_text(f"NAME = {file!r}\n")
    make_vars = {"ARTIFACTS_DIR": str(tmp_path / "out"), "LAYER_RUNTIME": RUNTIME_HERE,
                 "LAYER_PYTHON": sys.executable, **variables}
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAYER_")}
    command = ["make", "--no-print-directory", "-C", str(source), "-f", str(ROOT / "layers/abac/Makefile"),
               "-f", "step.mk", "probe", *(f"{k}={v}" for k, v in make_vars.items())]
    proc = subprocess.run(command, capture_output=True, text=True, env=env, check=False)  # noqa: S603
    return proc, site


def test_the_build_compiles_the_listed_files_for_the_runtime_unchecked_hash(tmp_path):
    from tenantkit_local.release.layer_check import check_layer

    proc, site = _compile_step(tmp_path, ["pkg/a.py", "top.py"], ["pkg/a.py", "pkg/b.py", "top.py"])
    assert proc.returncode == 0, proc.stderr
    tag = sys.implementation.cache_tag
    assert sorted(p.relative_to(site).as_posix() for p in site.rglob("*.pyc")) == [
        f"__pycache__/top.{tag}.pyc", f"pkg/__pycache__/a.{tag}.pyc"]  # pkg/b.py is not listed
    report = check_layer("TracingLayer", tmp_path / "out", RUNTIME_HERE, "x86_64")
    assert report.ok and report.bytecode_files == 2, report.problems
    code = marshal.loads((site / "pkg/__pycache__" / f"a.{tag}.pyc").read_bytes()[16:])  # noqa: S302 (ours)
    assert code.co_filename == "/opt/python/pkg/a.py"  # the same bytes from any build folder
    # the interpreter uses it as it is, whatever the source's mtime (the layer is read-only)
    os.utime(site / "pkg/a.py", (1, 1))
    probe = subprocess.run([sys.executable, "-I", "-v", "-c", f"import sys; sys.path.insert(0, {str(site)!r});"  # noqa: S603
                            "import pkg.a"], capture_output=True, text=True, check=True)
    assert f"matches {site / 'pkg/a.py'}" in probe.stderr and "code object from" in probe.stderr


@pytest.mark.parametrize("variables, message", [
    ({"LAYER_PYTHON": "/nonexistent/python"}, "is missing"),
    ({"LAYER_RUNTIME": "python3.12" if sys.version_info[:2] != (3, 12) else "python3.13"},
     f"is 3.{sys.version_info.minor}"),
    ({"LAYER_BYTECODE": "all"}, "must be cold-start or none"),
])
def test_the_build_fails_without_the_target_interpreter(tmp_path, variables, message):
    proc, site = _compile_step(tmp_path, ["top.py"], ["top.py"], **variables)
    assert proc.returncode != 0 and message in proc.stderr, proc.stderr
    assert "LAYER_BYTECODE=none" in proc.stderr or "LAYER_BYTECODE must" in proc.stderr
    assert not list(site.rglob("*.pyc"))


def test_the_build_without_bytecode_is_an_explicit_choice(tmp_path):
    proc, site = _compile_step(tmp_path, ["top.py"], ["top.py"], LAYER_PYTHON="/nonexistent/python",
                               LAYER_BYTECODE="none")
    assert proc.returncode == 0 and "no .pyc shipped" in proc.stdout, proc.stderr
    assert not list(site.rglob("*.pyc"))


def test_the_build_fails_on_a_stale_list(tmp_path):
    proc, site = _compile_step(tmp_path, ["top.py", "gone.py"], ["top.py"])
    assert proc.returncode != 0 and "gone.py" in proc.stderr and "make layer-bytecode" in proc.stderr
    assert not list(site.rglob("*.pyc"))


def test_every_layer_has_a_cold_start_list_of_its_own_files():
    from tenantkit_local.release.layer_bytecode import HEADER, LAYER_RESOURCES, read_list

    assert set(LAYER_RESOURCES) == set(LAYERS) and set(LAYER_RESOURCES.values()) == set(BUDGETS)
    for layer in LAYERS:
        files = read_list(layer)
        assert (ROOT / "layers" / layer / "cold_start.txt").read_text().startswith(HEADER)
        assert files == sorted(set(files)) and all(f.endswith(".py") and not f.startswith("/") for f in files)
        assert "$(call compile_bytecode)" in (ROOT / "layers" / layer / "Makefile").read_text()
