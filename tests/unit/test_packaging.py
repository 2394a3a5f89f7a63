"""The layer's requirements.txt (what `sam build` bundles) and pyproject agree."""

from __future__ import annotations

import itertools
import re
import tomllib
from pathlib import Path

from tenantkit_local.release.layer_lock import LAYERS

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
    layers = {name: _requirements((ROOT / "layers" / name / "requirements.txt").read_text().splitlines())
              for name in LAYERS}
    declared.pop("boto3")  # provided by the Lambda runtime
    for first, second in itertools.combinations(LAYERS, 2):
        assert not set(layers[first]) & set(layers[second]), (first, second)  # each stated once
    assert {name: line for layer in layers.values() for name, line in layer.items()} == declared


def test_layer_ships_py_typed_and_no_local_tooling():
    package = ROOT / "layers/tenantkit/tenantkit"
    assert (package / "py.typed").exists()
    sources = "\n".join(p.read_text() for p in package.rglob("*.py"))
    assert "tenantkit_local" not in sources
    assert "moto" not in sources and "pytest" not in sources
