"""``make template-smoke`` / ``make template-smoke-full``: run the template checks, print evidence.

Fast is the inner loop (Terraform fmt/validate/test with mock providers, SAM lint). Full is
trust-and-verify for a release: fast, plus checkov against the committed baseline, the GitLab
CI example against GitLab's schema, ``sam build`` for x86_64 and arm64 with the layer check
(size budget, wheel tags, no bundled SDK, no removed stdlib imports), every backend key rendered,
a mock-provider plan for every stack x target x environment, the rehearsal apply of every stack
on a moto server (apply, clean second plan, destroy), and the Terragrunt gate. Every step runs even
after a failure, so one run shows everything that is wrong; the summary is short enough to
paste into an MR.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tenantkit_local import PROJECT_ROOT

TERRAFORM = PROJECT_ROOT / "terraform"
SAM = PROJECT_ROOT / ".venv-sam" / "bin" / "sam"
CHECKOV_VENV = PROJECT_ROOT / ".venv-checkov" / "bin"
SMOKE_DIR = ".terraform/smoke"  # inside each stack; .terraform/ is git-ignored
MOCKS = """mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{}" }
  }
}
"""


@dataclass(slots=True)
class Step:
    name: str
    result: str  # PASS | FAIL | a verdict word for measurements
    detail: str
    seconds: float
    output: str = ""

    @property
    def failed(self) -> bool:
        return self.result == "FAIL"


def _run(cmd: list[str | Path], env: dict[str, str] | None = None, cwd: Path = PROJECT_ROOT) -> tuple[int, str]:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    return proc.returncode, proc.stdout + proc.stderr


def terraform_cli_config() -> Path:
    """The CLI configuration terraform/Makefile uses: the provider mirror's when the machine has
    it, the public registry's otherwise (``terraform/scripts/cli-config.sh`` decides, once)."""
    code, out = _run(["bash", TERRAFORM / "scripts" / "cli-config.sh"])
    if code != 0 or not out.strip():
        raise RuntimeError(f"terraform/scripts/cli-config.sh failed: {out.strip()}")
    return Path(out.strip().splitlines()[-1])


def _terraform_env() -> dict[str, str]:
    """As terraform/Makefile: the chosen CLI config, nothing from the caller's TF_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    return {**env, "TF_CLI_CONFIG_FILE": str(terraform_cli_config()), "TF_IN_AUTOMATION": "1",
            "CHECKPOINT_DISABLE": "1"}


def terraform_check() -> tuple[bool, str, str]:
    code, out = _run(["make", "--no-print-directory", "-C", TERRAFORM, "check"])
    dirs = re.findall(r"^\s+(modules/\S+|stacks/\S+)\s+fmt", out, re.M)
    passed = sum(int(n) for n in re.findall(r"(\d+) passed", out))
    failed = sum(int(n) for n in re.findall(r"(\d+) failed", out))
    return code == 0, f"{len(dirs)} dirs fmt/init/validate, terraform test {passed} passed, {failed} failed", out


def sam_validate() -> tuple[bool, str, str]:
    code, out = _run([SAM, "validate", "--lint", "--template", "template.yaml"])
    return code == 0, "template.yaml valid (cfn-lint rules)" if code == 0 else "sam validate --lint failed", out


def sam_build(runtime: str = "python3.13", arch: str = "x86_64") -> tuple[bool, str, str]:
    """``sam build`` for one runtime/architecture (layers from their lock files), then the layer check."""
    from tenantkit_local.release.layer_check import MB, check_build

    build_dir = PROJECT_ROOT / ".aws-sam" / f"build-{runtime}-{arch}"
    env = {**os.environ, "LAYER_RUNTIME": runtime, "LAYER_ARCH": arch, "PIP": f"{sys.executable} -m pip"}
    # --no-cached: SAM's cache does not key the makefile layers on LAYER_ARCH (docs/runtime.md).
    code, out = _run([SAM, "build", "--no-cached", "--template", "template.yaml", "--build-dir", build_dir,
                      "--parameter-overrides", f"Runtime={runtime}", f"Architecture={arch}"], env=env)
    if code != 0:
        return False, f"sam build {runtime}/{arch} failed", out
    reports = check_build(build_dir, runtime, arch)
    artifacts = sorted(p.name for p in build_dir.iterdir() if p.is_dir())
    sizes = ", ".join(f"{r.name} {r.size_bytes / MB:.1f} MB" for r in reports)
    problems = [f"{r.name}: {p}" for r in reports for p in r.problems]
    return not problems, f"{runtime}/{arch}: {len(artifacts)} artifacts, {sizes}", out + "\n".join(problems)


def sam_build_arm64() -> tuple[bool, str, str]:
    return sam_build("python3.13", "arm64")


def rehearsal_apply() -> tuple[bool, str, str]:
    """Every Terraform stack applied to a moto server, planned again (no change), destroyed."""
    from tenantkit_local.release.rehearsal import rehearse, summary

    results = rehearse()
    return all(r.ok for r in results), summary(results).replace("\n", "; "), "\n".join(r.log for r in results)


def checkov() -> tuple[bool, str, str]:
    """Terraform tree and SAM template, one run each, against the accepted list in .checkov.yaml."""
    import yaml

    accepted = yaml.safe_load((PROJECT_ROOT / ".checkov.yaml").read_text()).get("skip-check", [])
    totals, failed, logs = {"passed": 0, "parsing_errors": 0}, [], []
    for target in (["-d", "terraform"], ["-f", "template.yaml"]):
        code, out = _run([CHECKOV_VENV / "checkov", "--config-file", ".checkov.yaml", *target, "--output", "json"])
        try:
            data = json.loads(out[out.index("{") if "[" not in out[:5] else out.index("["):])
        except ValueError:
            return False, f"checkov {' '.join(target)}: output unreadable (exit {code})", out[-3000:]
        for report in data if isinstance(data, list) else [data]:
            for key in totals:
                totals[key] += report.get("summary", {}).get(key, 0)
            failed += [f"{c['check_id']} {c['resource']} ({c['file_path']}): {c['check_name']}"
                       for c in report.get("results", {}).get("failed_checks", [])]
        logs.append(f"checkov {' '.join(target)}: exit {code}")
    detail = (f"{totals['passed']} passed, {len(failed)} new findings, {len(accepted)} check ids accepted "
              f"in .checkov.yaml, {totals['parsing_errors']} file(s) checkov could not parse")
    if failed:
        logs += ["new findings (fix, or accept with a reason):", *failed]
    return not failed, detail, "\n".join(logs)


def gitlab_schema() -> tuple[bool, str, str]:
    code, out = _run([CHECKOV_VENV / "check-jsonschema", "--builtin-schema", "vendor.gitlab-ci",
                      "docs/examples/gitlab-ci.yml"])
    return code == 0, "docs/examples/gitlab-ci.yml valid against GitLab's CI schema" if code == 0 else "invalid", out


def backend_keys() -> tuple[bool, str, str]:
    from tenantkit_local.release.backend import Targets, format_table, uncovered_stacks

    targets = Targets.load()
    rows = targets.render_all()
    missing, unknown = uncovered_stacks(targets, TERRAFORM / "stacks")
    problems = [f"stack {s} has no target" for s in missing] + [f"target stack {s} does not exist" for s in unknown]
    stacks = sorted({t.stack for t in targets.targets})
    detail = f"{len(rows)} keys rendered, {len({c.key for _, _, c in rows})} unique, stacks {', '.join(stacks)}"
    return not problems, detail + ("; " + "; ".join(problems) if problems else ""), format_table(rows)


def _stack_variables(stack: str, env: str, app_id: str, agent_name: str) -> dict[str, object]:
    """The variables the pipeline passes (deploy/environments.json via `tenantkit deploy tfvars`)."""
    from tenantkit_local.deploy.plan import terraform_variables
    from tenantkit_local.deploy.sources import Sources, load_environments

    environment = load_environments(Sources().environments).environments[env]
    return terraform_variables(stack, env, environment, app_id, agent_name)[0]


def mock_plans() -> tuple[bool, str, str]:
    """One ``command = plan`` run per target x environment, mocked AWS provider, per stack."""
    from tenantkit_local.release.backend import Targets
    from tenantkit_local.release.hcl import module_blocks

    targets = Targets.load()
    ok, logs, count, stacks = True, [], 0, sorted({t.stack for t in targets.targets})
    for stack in stacks:
        directory = TERRAFORM / "stacks" / stack
        declared = {b.labels[0] for b in module_blocks(directory) if b.type == "variable"}
        runs = []
        for target in (t for t in targets.targets if t.stack == stack):
            for env in targets.environments:
                values = _stack_variables(stack, env, target.app_id, target.agent_name)
                body = "".join(f"    {k} = {json.dumps(v)}\n" for k, v in values.items() if k in declared)
                runs.append(f'run "plan_{env}_{target.app_id}_{target.agent_name}" {{\n  command = plan\n'
                            f"  variables {{\n{body}  }}\n}}\n")
        smoke = directory / SMOKE_DIR
        smoke.mkdir(parents=True, exist_ok=True)
        (smoke / "plan.tftest.hcl").write_text(MOCKS + "\n".join(runs))
        code, out = _run(["terraform", f"-chdir={directory}", "init", "-backend=false", "-input=false", "-no-color"],
                         env=_terraform_env())
        if code == 0:
            code, out = _run(["terraform", f"-chdir={directory}", "test", "-no-color", f"-test-directory={SMOKE_DIR}"],
                             env=_terraform_env())
        passed = sum(int(n) for n in re.findall(r"(\d+) passed", out))
        ok = ok and code == 0 and passed == len(runs)
        count += passed
        logs.append(f"stacks/{stack}: {passed}/{len(runs)} plans\n" + (out if code else ""))
    return ok, f"{count} plans passed ({len(stacks)} stacks x targets x environments)", "\n".join(logs)


def terragrunt_gate() -> tuple[str, str, str]:
    from tenantkit_local.release.backend import Targets
    from tenantkit_local.release.terragrunt_gate import decide, measure, report

    m = measure(TERRAFORM, Targets.load())
    v = decide(m)
    detail = (f"root_modules={m.root_modules} duplicated_blocks={m.duplicated_blocks} "
              f"operator_steps={m.operator_steps_per_change} max_plan_scope={m.max_plan_scope}")
    return v.decision.upper(), detail, report(m, v)


FAST: list[tuple[str, Callable[[], tuple[object, str, str]]]] = [
    ("terraform fmt/validate/test", terraform_check), ("sam validate --lint", sam_validate)]
FULL = [*FAST, ("checkov (baseline)", checkov), ("gitlab-ci schema", gitlab_schema), ("sam build", sam_build),
        ("sam build arm64", sam_build_arm64), ("backend keys", backend_keys), ("mock-provider plans", mock_plans),
        ("rehearsal apply (moto)", rehearsal_apply), ("terragrunt gate", terragrunt_gate)]


def run(full: bool) -> list[Step]:
    steps = []
    for name, func in FULL if full else FAST:
        started = time.monotonic()
        print(f"template-smoke: {name} ...", file=sys.stderr, flush=True)
        try:
            ok, detail, output = func()
        except Exception as exc:  # a broken step is a failed step, and the others still run
            ok, detail, output = False, f"{type(exc).__name__}: {exc}", ""
        result = ok if isinstance(ok, str) else "PASS" if ok else "FAIL"
        steps.append(Step(name, result, detail, time.monotonic() - started, output))
    return steps


def summary(steps: list[Step], label: str, seconds: float) -> str:
    commit = _run(["git", "rev-parse", "--short", "HEAD"])[1].strip() or "unknown"
    width = max(len(s.name) for s in steps)
    lines = [f"{label} evidence ({datetime.now(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}, commit {commit})"]
    lines += [f"  {s.name:<{width}}  {s.result:<5}  {s.seconds:6.1f} s  {s.detail}" for s in steps]
    failed = [s for s in steps if s.failed]
    verdict = "FAIL" if failed else "PASS"
    lines.append(f"{label}: {verdict}, {len(steps) - len(failed)}/{len(steps)} steps ok in {seconds:.1f} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="template-smoke")
    parser.add_argument("--full", action="store_true", help="trust-and-verify (release) mode")
    args = parser.parse_args(argv)
    started = time.monotonic()
    steps = run(args.full)
    for step in steps:
        if step.failed or step.name in ("backend keys", "terragrunt gate"):
            print(f"\n---- {step.name} ----\n{step.output.rstrip()}")
    label = "template-smoke-full" if args.full else "template-smoke"
    print("\n" + summary(steps, label, time.monotonic() - started))
    return 1 if any(s.failed for s in steps) else 0


if __name__ == "__main__":
    sys.exit(main())
