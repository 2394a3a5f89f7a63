"""The Terragrunt decision gate (ADR 0016) on synthetic trees: both verdicts, the plan-scope
brake, the HCL scanner's blind spots, the CLI, and the ADR table pinned to the code."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tenantkit_local import PROJECT_ROOT
from tenantkit_local.cli import main
from tenantkit_local.release.backend import Target, Targets
from tenantkit_local.release.hcl import blocks
from tenantkit_local.release.terragrunt_gate import MAX_PLAN_SCOPE, THRESHOLDS, decide, measure

ADR = PROJECT_ROOT / "docs" / "adr" / "0016-terraform-scaling-stack-topology-and-terragrunt-adoption-thresholds.md"

STACK = '''# a root module
terraform {
  required_version = ">= 1.10"
  backend "s3" {}
}

provider "aws" {
  region = var.region # "not a block {"
  default_tags {
    tags = { stack = "${var.name}-{x}" }
  }
}

module "svc" {
  source = "../../modules/svc"
}
'''
MODULE = '''
resource "aws_s3_bucket" "b" {
  bucket = "x"
}
/* resource "aws_s3_bucket" "commented" {} */
data "aws_partition" "p" {}
resource "aws_iam_policy" "p" {
  policy = <<-EOT
    { "Statement": [ { "Effect": "Allow" } ] }
  EOT
}
'''


def tree(root: Path, stacks: int, *, resources: int = 0, remote_reads: int = 0) -> Path:
    (root / "modules" / "svc").mkdir(parents=True)
    (root / "modules" / "svc" / "main.tf").write_text(MODULE + 'resource "null_resource" "r" {}\n' * resources)
    for i in range(stacks):
        stack = root / "stacks" / f"s{i}"
        stack.mkdir(parents=True)
        reads = 'data "terraform_remote_state" "net" {\n  backend = "s3"\n}\n' * remote_reads
        (stack / "main.tf").write_text(STACK + reads)
    return root


def test_parser_ignores_comments_strings_and_heredocs():
    found = blocks(STACK + MODULE)
    assert sorted(b.type for b in found) == ["data", "module", "provider", "resource", "resource", "terraform"]
    by_type = {b.type: b for b in found}
    assert by_type["terraform"].find("backend")[0].labels == ("s3",)
    assert by_type["provider"].find("default_tags")
    assert by_type["module"].literal("source") == "../../modules/svc"
    assert sorted(b.labels for b in found if b.type == "resource") == [("aws_iam_policy", "p"),
                                                                       ("aws_s3_bucket", "b")]


def test_small_tree_defers(tmp_path):
    m = measure(tree(tmp_path, 2))
    assert (m.root_modules, m.backend_blocks, m.duplicated_backend_blocks, m.duplicated_provider_blocks) == (2, 2, 1, 1)
    assert m.max_plan_scope == 3  # the module's declarations, followed through `source`; the commented one is not
    verdict = decide(m)
    assert verdict.decision == "defer" and verdict.exceeded == ()


def test_large_repetitive_tree_adopts(tmp_path):
    m = measure(tree(tmp_path, 12, remote_reads=1))
    assert m.root_modules == 12 and m.duplicated_blocks == 22 and m.cross_stack_dependencies == 12
    assert m.operator_steps_per_change == 12 + 12 * 3 * 3
    verdict = decide(m)
    assert verdict.decision == "adopt"
    assert set(verdict.exceeded) == set(THRESHOLDS)


def test_oversized_plan_blocks_adoption(tmp_path):
    m = measure(tree(tmp_path, 12, resources=MAX_PLAN_SCOPE))
    verdict = decide(m)
    assert verdict.decision == "defer" and "split that stack first" in verdict.reasons[0]
    assert len(verdict.exceeded) >= 2  # thresholds were reached; the brake still wins


def test_targets_file_drives_operator_steps(tmp_path):
    tree(tmp_path, 2)
    named = (Target("s0", "a", "x"), Target("s0", "a", "y"), Target("s1", "b", "z"), Target("gone", "c", "w"))
    targets = Targets("b-{env}", "us-east-1", ("dev", "prod"), named)
    m = measure(tmp_path, targets)
    assert m.deployment_targets == 3 * 2
    assert m.operator_steps_per_change == 2 + 6 * 3


def test_this_repository_measures_and_defers(capsys):
    assert main(["tf", "terragrunt-gate"]) == 0
    out = capsys.readouterr().out
    assert "verdict: DEFER" in out and "stacks/audit" in out
    assert main(["tf", "terragrunt-gate", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["verdict"]["decision"] == "defer" and data["measurements"]["root_modules"] >= 1


def test_adr_table_states_the_thresholds_the_code_uses():
    text = ADR.read_text()
    for name, limit in THRESHOLDS.items():
        assert re.search(rf"`{name}`.*\|\s*>= {limit}\s*\|", text), f"ADR 0016 must state {name} >= {limit}"
    assert re.search(rf"`max_plan_scope`.*\|\s*> {MAX_PLAN_SCOPE}\s*\|", text)
