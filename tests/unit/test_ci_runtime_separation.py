"""CI/release metadata is never a runtime input (seed Phase D; docs/release-governance.md).

Runtime code (``functions/``, ``layers/``) must not read GitLab CI variables or release
metadata: a tenant decision that depended on which pipeline deployed the code would let
whoever controls a pipeline variable influence authorization. Release tooling lives in
``local/tenantkit_local/release/``. Three independent checks: an AST scan (catches
indirection the grep misses), the plain-text scan of the before-stop hook, and the function
environments of ``template.yaml`` and ``local/env.json``. A negative control proves the
scanner fires on a planted violation.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from tenantkit_local import PROJECT_ROOT
from tenantkit_local.template import load_template

RUNTIME_DIRS = ("functions", "layers")
CI_VARIABLE = re.compile(r"^(?:CI|GITLAB_CI|(?:CI|GITLAB)_[A-Z0-9_]+)$")
RELEASE_VARIABLES = frozenset({
    "RELEASE_TAG", "RELEASE_SHA", "RELEASE_VERSION", "PROMOTED_SHA", "ROLLBACK_SHA", "DEPLOY_SHA",
    "DEPLOYMENT_ID", "DEPLOY_APPROVER", "APPROVED_BY", "PIPELINE_ID", "COMMIT_SHA", "COMMIT_TAG",
})
RELEASE_MARKERS = ("promotion-evidence", "evidence.json", "promoted_sha", "rollback_sha", "tenantkit_local.release")
# The before-stop hook's check 4, verbatim in spirit: a line that reads the environment and names CI_/GITLAB_.
HOOK_PATTERN = re.compile(r"""(environ|getenv)[^\n]*["']CI_|GITLAB_""")
ENV_READERS = frozenset({"getenv", "get", "setdefault", "pop", "getenvb", "__getitem__"})


def is_release_name(value: str) -> bool:
    return bool(CI_VARIABLE.match(value)) or value in RELEASE_VARIABLES


def _is_environ(node: ast.AST) -> bool:
    """``os.environ``, ``environ`` or ``os``-module access (``os.getenv``)."""
    return (isinstance(node, ast.Attribute) and node.attr in ("environ", "environb")) or (
        isinstance(node, ast.Name) and node.id in ("environ", "environb"))


def _first_str(args: list[ast.expr]) -> str | None:
    return args[0].value if args and isinstance(args[0], ast.Constant) and isinstance(args[0].value, str) else None


def ast_violations(source: str, filename: str) -> list[str]:
    """Every place in ``source`` that reads CI/release metadata, as ``file:line: what``."""
    found: list[str] = []
    tree = ast.parse(source, filename)
    for node in ast.walk(tree):
        where = f"{filename}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Subscript) and _is_environ(node.value):
            key = node.slice.value if isinstance(node.slice, ast.Constant) else None
            if isinstance(key, str) and is_release_name(key):
                found.append(f"{where}: environ[{key!r}]")
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            reads_env = name == "getenv" or (name in ENV_READERS and isinstance(func, ast.Attribute)
                                             and _is_environ(func.value))
            key = _first_str(node.args)
            if reads_env and key and is_release_name(key):
                found.append(f"{where}: {name}({key!r})")
        elif isinstance(node, ast.Compare) and any(_is_environ(c) for c in node.comparators):
            key = _first_str([node.left])
            if key and is_release_name(key):
                found.append(f"{where}: {key!r} in environ")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            # Indirection (NAME = "CI_COMMIT_SHA"; os.environ[NAME]) or release artifacts by name.
            if is_release_name(node.value) or any(m in node.value for m in RELEASE_MARKERS):
                found.append(f"{where}: release metadata name {node.value!r}")
        elif isinstance(node, ast.Import | ast.ImportFrom):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            found += [f"{where}: imports {m}" for m in modules if m.startswith("tenantkit_local")]
    return sorted(set(found))


def text_violations(text: str, filename: str) -> list[str]:
    lines = enumerate(text.splitlines(), 1)
    return [f"{filename}:{n}: {line.strip()}" for n, line in lines if HOOK_PATTERN.search(line)]


def runtime_files() -> list[Path]:
    files = [p for d in RUNTIME_DIRS for p in (PROJECT_ROOT / d).rglob("*") if p.is_file()]
    return [p for p in files if "__pycache__" not in p.parts and p.suffix not in (".pyc", ".zip")]


def test_runtime_tree_is_not_empty():
    python = [p for p in runtime_files() if p.suffix == ".py"]
    assert len(python) > 20, "the scan must see the layer and the functions"


def test_runtime_python_reads_no_ci_or_release_metadata():
    violations = []
    for path in runtime_files():
        if path.suffix == ".py":
            violations += ast_violations(path.read_text(), str(path.relative_to(PROJECT_ROOT)))
    assert violations == [], "runtime code must not read CI/release metadata:\n" + "\n".join(violations)


def test_runtime_files_pass_the_hook_grep():
    violations = []
    for path in runtime_files():
        try:
            violations += text_violations(path.read_text(), str(path.relative_to(PROJECT_ROOT)))
        except UnicodeDecodeError:
            continue
    assert violations == []


def test_function_environments_carry_no_ci_or_release_variables():
    template = load_template(PROJECT_ROOT / "template.yaml")
    scopes = {"Globals": ((template.get("Globals") or {}).get("Function") or {})}
    for name, resource in (template.get("Resources") or {}).items():
        if resource.get("Type") in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            scopes[name] = resource.get("Properties") or {}
    assert len(scopes) > 2
    named = {f"template.yaml {scope}: {var}" for scope, props in scopes.items()
             for var in ((props.get("Environment") or {}).get("Variables") or {}) if is_release_name(var)}
    env_file = PROJECT_ROOT / "local" / "env.json"
    if env_file.exists():
        named |= {f"local/env.json {fn}: {var}" for fn, env in json.loads(env_file.read_text()).items()
                  for var in env if is_release_name(var)}
    assert named == set()


# --- negative controls: the checker itself ------------------------------------------------------

PLANTED = '''
import os
from os import environ, getenv
import tenantkit_local.release.evidence

SHA = "CI_COMMIT_SHA"

def decide(tenant):
    if os.environ["CI_ENVIRONMENT_NAME"] == "prod":
        return True
    tag = os.environ.get("CI_COMMIT_TAG", "")
    user = getenv("GITLAB_USER_LOGIN")
    ci = "CI" in environ
    approver = os.environ.setdefault("DEPLOY_APPROVER", "")
    return os.environ[SHA] and open("evidence.json").read()
'''


def test_negative_control_catches_a_planted_violation(tmp_path):
    planted = tmp_path / "functions" / "authorizer" / "app.py"
    planted.parent.mkdir(parents=True)
    planted.write_text(PLANTED)
    found = "\n".join(ast_violations(planted.read_text(), str(planted)))
    for expected in ("environ['CI_ENVIRONMENT_NAME']", "get('CI_COMMIT_TAG')", "getenv('GITLAB_USER_LOGIN')",
                     "'CI' in environ", "setdefault('DEPLOY_APPROVER')", "release metadata name 'CI_COMMIT_SHA'",
                     "release metadata name 'evidence.json'", "imports tenantkit_local.release.evidence"):
        assert expected in found, f"the checker missed {expected}:\n{found}"
    assert len(text_violations(planted.read_text(), str(planted))) >= 3


@pytest.mark.parametrize("clean", [
    'import os\nregion = os.environ.get("AWS_REGION")\n',
    'import os\nissuer = os.environ["OIDC_ISSUER"]\n',
    '"""Docs may say CI/release metadata is not an input."""\n',
    'CIRCUIT_BREAKER = "CIRCUIT_OPEN"\n',
])
def test_checker_leaves_ordinary_runtime_code_alone(clean):
    assert ast_violations(clean, "ok.py") == [] and text_violations(clean, "ok.py") == []
