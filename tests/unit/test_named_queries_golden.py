"""Golden: the Athena named queries Terraform plans are exactly the query files under queries/.

Two independent readings of the same files must agree: the Python query-pack loader
(tenantkit_local.querypack, what the local engine and the tests use) and the Terraform module
(terraform/modules/named_queries, fileset + regex, what gets deployed). The test writes a tiny
root module that calls the real module on the repository's queries/, passes the Python side's
{file: {name, description}} as a variable, and runs `terraform test` (plan only, mock AWS
provider, providers from the repository's offline mirror via terraform/.terraformrc), whose
assertions compare the planned aws_athena_named_query resources with it. A file Terraform would
miss (wrong depth, no header) or read differently (name, multi-line description) fails here.
Offline, no credentials, no state; about ten seconds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tenantkit_local import PROJECT_ROOT
from tenantkit_local.querypack import QUERIES_DIR, parse_query
from tenantkit_local.release.smoke import terraform_cli_config

MODULE = PROJECT_ROOT / "terraform" / "modules" / "named_queries"

HARNESS = PROJECT_ROOT / "tests" / "fixtures" / "terraform" / "named_queries_golden"


def python_side() -> dict[str, dict[str, str]]:
    """Every .sql file at any depth under queries/, read by the Python loader."""
    expected = {}
    for path in sorted(QUERIES_DIR.rglob("*.sql")):
        query = parse_query(path)
        expected[path.relative_to(QUERIES_DIR).as_posix()] = {"name": query.name, "description": query.description}
    return expected


def harness(root: Path) -> None:
    """The root module and its golden test, in a scratch directory (its own .terraform/)."""
    (root / "tests").mkdir(parents=True)
    template = (HARNESS / "main.tf.template").read_text()
    (root / "main.tf").write_text(template % {"source": os.path.relpath(MODULE, root),
                                              "queries": QUERIES_DIR.as_posix()})
    shutil.copyfile(HARNESS / "tests" / "golden.tftest.hcl", root / "tests" / "golden.tftest.hcl")


def terraform(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("terraform")
    if binary is None:
        pytest.fail("terraform is not installed (needed by `make test` for the terraform checks as well)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    env.update(TF_CLI_CONFIG_FILE=str(terraform_cli_config()), TF_IN_AUTOMATION="1", CHECKPOINT_DISABLE="1",
               AWS_EC2_METADATA_DISABLED="true")  # the provider is mocked; never look for credentials
    return subprocess.run([binary, f"-chdir={cwd}", *args], capture_output=True, text=True, env=env,  # noqa: S603
                          timeout=300, check=False)


def test_terraform_named_queries_equal_the_queries_file_set(tmp_path: Path):
    expected = python_side()
    assert len(expected) >= 11, "the shipped packs hold at least 11 queries"
    root = tmp_path / "golden"
    harness(root)
    var_file = tmp_path / "expected.tfvars.json"
    var_file.write_text(json.dumps({"expected": expected}))

    init = terraform("init", "-backend=false", "-input=false", "-no-color", cwd=root)
    assert init.returncode == 0, init.stdout + init.stderr
    result = terraform("test", "-no-color", f"-var-file={var_file}", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed, 0 failed" in result.stdout, result.stdout


def test_the_golden_comparison_fails_when_a_file_is_added_that_terraform_would_miss(tmp_path: Path):
    """The same harness with one expected file Terraform does not see (a file two folders deep):
    the run must fail and name it, so the golden test above cannot pass vacuously."""
    expected = python_side()
    expected["tenant_ops/nested/too_deep.sql"] = {"name": "too_deep", "description": "x"}
    root = tmp_path / "golden"
    harness(root)
    var_file = tmp_path / "expected.tfvars.json"
    var_file.write_text(json.dumps({"expected": expected}))

    assert terraform("init", "-backend=false", "-input=false", "-no-color", cwd=root).returncode == 0
    result = terraform("test", "-no-color", f"-var-file={var_file}", cwd=root)
    assert result.returncode != 0
    assert "tenant_ops/nested/too_deep.sql" in result.stdout + result.stderr
