"""Layer build inputs: lock files, the shared Makefile block, runtime/arch parameters, removed-stdlib scan."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from packaging.requirements import Requirement

from tenantkit_local.release.layer_check import REMOVED_STDLIB, removed_imports
from tenantkit_local.release.layer_lock import RUNTIME_PROVIDED, canonical, parse_lock
from tenantkit_local.template import load_template

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"# --- layer build block ---\n(.*)# --- end layer build block ---", re.S)


def test_both_layer_makefiles_share_one_build_block():
    blocks = [BLOCK.search((ROOT / "layers" / name / "Makefile").read_text()).group(1)
              for name in ("tenantkit", "abac")]
    assert blocks[0] == blocks[1]
    assert "--require-hashes --no-deps" in blocks[0] and "--only-binary=:all:" in blocks[0]


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
    for name in ("TenantkitLayer", "AbacLayer"):
        props = resources[name]["Properties"]
        assert resources[name]["Metadata"]["BuildMethod"] == "makefile"
        assert props["CompatibleRuntimes"] == [{"Ref": "Runtime"}]
        assert props["CompatibleArchitectures"] == [{"Ref": "Architecture"}]
        assert f"build-{name}:" in (ROOT / props["ContentUri"] / "Makefile").read_text()


def test_each_lock_pins_every_requirement_with_hashes_and_no_runtime_sdk():
    for layer in ("tenantkit", "abac"):
        lock = parse_lock((ROOT / "layers" / layer / "requirements.lock").read_text())
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
