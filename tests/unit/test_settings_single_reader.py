"""Configuration is read once, through a settings object: in the layer, the process environment
is touched only inside a ``from_env`` constructor or the observability settings module."""

from __future__ import annotations

import ast
from pathlib import Path

LAYER = Path(__file__).resolve().parents[2] / "layers" / "tenantkit" / "tenantkit"
SETTINGS_MODULE = LAYER / "observability" / "settings.py"


def _environment_reads(path: Path) -> list[tuple[int, str]]:
    """(line, enclosing function) of every ``os.environ`` / ``os.getenv`` use outside ``from_env``."""
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            name = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else function
            if (isinstance(child, ast.Attribute) and child.attr in ("environ", "getenv")
                    and isinstance(child.value, ast.Name) and child.value.id == "os" and function != "from_env"):
                found.append((child.lineno, function))
            visit(child, name)

    visit(ast.parse(path.read_text()), "<module>")
    return found


def test_only_settings_objects_read_the_environment():
    offenders = [f"{path.relative_to(LAYER)}:{line} in {function}" for path in sorted(LAYER.rglob("*.py"))
                 if path != SETTINGS_MODULE for line, function in _environment_reads(path)]
    assert offenders == []


def test_the_scan_sees_a_stray_read(tmp_path):
    stray = tmp_path / "stray.py"
    stray.write_text("import os\n\ndef handler():\n    return os.environ.get('X')\n\n"
                     "class C:\n    @classmethod\n    def from_env(cls):\n        return os.getenv('Y')\n")
    assert _environment_reads(stray) == [(4, "handler")]
