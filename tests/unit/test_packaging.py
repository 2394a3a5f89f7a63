"""The layer's requirements.txt (what `sam build` bundles) and pyproject agree."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _requirements(lines: list[str]) -> dict[str, str]:
    result = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line:
            name = re.split(r"[\[<>=!~ ]", line, maxsplit=1)[0].lower()
            result[name] = line
    return result


def test_layer_requirements_match_pyproject_runtime_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = _requirements(project["dependencies"])
    layer = _requirements((ROOT / "layers/tenantkit/requirements.txt").read_text().splitlines())
    abac = _requirements((ROOT / "layers/abac/requirements.txt").read_text().splitlines())
    declared.pop("boto3")  # provided by the Lambda runtime
    assert not set(layer) & set(abac)
    assert {**layer, **abac} == declared


def test_layer_ships_py_typed_and_no_local_tooling():
    package = ROOT / "layers/tenantkit/tenantkit"
    assert (package / "py.typed").exists()
    sources = "\n".join(p.read_text() for p in package.rglob("*.py"))
    assert "tenantkit_local" not in sources
    assert "moto" not in sources and "pytest" not in sources
