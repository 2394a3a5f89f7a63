"""Rehearsal apply: every Terraform stack applied to a moto server, planned again, destroyed.

``python -m tenantkit_local.release.rehearsal`` (a step of ``make template-smoke-full``). The
terraform/ tree is copied to a temporary folder; each stack gets a ``rehearsal_override.tf``
pointing the AWS provider at moto on 127.0.0.1 with fake credentials (Terraform merges
``*_override.tf`` into the stack's own provider block: the stacks are not edited). Then:

1. ``terraform apply`` of every resource whose type moto serves (:data:`UNSUPPORTED` lists the
   others, each covered by the mock-provider plans of ``make -C terraform check`` and
   ``template-smoke-full``; docs/terraform.md);
2. a second ``terraform plan -detailed-exitcode`` must report no change (exit 0): provider
   defaults, computed values and moto agree, so a real apply would converge;
3. ``terraform destroy`` must leave the state empty.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tenantkit_local import PROJECT_ROOT

TERRAFORM = PROJECT_ROOT / "terraform"
STACKS = ("audit", "agent")
# The stacks take their region from deploy/environments.json (no default): moto answers any region.
STACK_VARIABLES = {"audit": {"env": "dev", "region": "us-east-1", "force_destroy": "true"},
                   "agent": {"env": "dev", "region": "us-east-1", "app_id": "portal", "agent_name": "support"}}
# Resource types the rehearsal cannot apply on moto, and why. Their plan is proven with the
# mocked provider instead (terraform test in modules/*/tests and stacks/*/tests).
UNSUPPORTED: dict[str, str] = {
    "aws_bedrock_inference_profile": "moto does not implement Bedrock CreateInferenceProfile",
}
SERVICES = ("athena", "cloudwatch", "glue", "iam", "logs", "s3", "sts", "ssm", "bedrock", "sns")


@dataclass(slots=True)
class StackResult:
    stack: str
    applied: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    second_plan_clean: bool = False
    destroyed: bool = False
    seconds: float = 0.0
    log: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.applied) and self.second_plan_clean and self.destroyed


def override(endpoint: str) -> str:
    endpoints = "\n".join(f'    {s} = "{endpoint}"' for s in SERVICES)
    return f"""# Written by the rehearsal apply (tenantkit_local.release.rehearsal): AWS is a moto server,
# the state a local file of the temporary copy (never the real backend).
terraform {{
  backend "local" {{
    path = "rehearsal.tfstate"
  }}
}}

provider "aws" {{
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  s3_use_path_style           = true

  endpoints {{
{endpoints}
  }}
}}
"""


def _terraform_env(workdir: Path) -> dict[str, str]:
    from tenantkit_local.release.smoke import terraform_cli_config  # the mirror's config, or the registry's

    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "AWS_"))}
    return {**env, "TF_CLI_CONFIG_FILE": str(terraform_cli_config()), "TF_IN_AUTOMATION": "1",
            "CHECKPOINT_DISABLE": "1", "TF_DATA_DIR": str(workdir / ".terraform"),
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_EC2_METADATA_DISABLED": "true"}


def _tf(directory: Path, *args: str) -> tuple[int, str]:
    proc = subprocess.run(["terraform", f"-chdir={directory}", *args, "-no-color"],  # noqa: S603, S607
                          capture_output=True, text=True, check=False, env=_terraform_env(directory))
    return proc.returncode, proc.stdout + proc.stderr


def rehearse_stack(root: Path, stack: str, endpoint: str) -> StackResult:
    started = time.monotonic()
    result, directory, logs = StackResult(stack), root / "stacks" / stack, []
    (directory / "rehearsal_override.tf").write_text(override(endpoint))
    variables = [f"-var={k}={v}" for k, v in STACK_VARIABLES[stack].items()]

    def step(*args: str) -> tuple[int, str]:
        code, out = _tf(directory, *args)
        logs.append(f"$ terraform {' '.join(args)}  (exit {code})\n{out[-4000:] if code not in (0,) else ''}")
        return code, out

    try:
        if step("init", "-input=false")[0] != 0:
            return result
        code, _ = step("plan", "-input=false", "-out=rehearsal.plan", *variables)
        if code != 0:
            return result
        _, shown = _tf(directory, "show", "-json", "rehearsal.plan")
        changes = json.loads(shown[shown.index("{"):])["resource_changes"]
        addresses = [c["address"] for c in changes if c["mode"] == "managed"]
        result.skipped = [a for a, c in zip(addresses, [c for c in changes if c["mode"] == "managed"], strict=True)
                          if c["type"] in UNSUPPORTED]
        targets = [f"-target={a}" for a in addresses if a not in result.skipped] if result.skipped else []
        code, _ = step("apply", "-input=false", "-auto-approve", *variables, *targets)
        if code != 0:
            return result
        _, state = _tf(directory, "state", "list")
        result.applied = [line for line in state.splitlines() if line and not line.startswith("data.")]
        code, _ = step("plan", "-input=false", "-detailed-exitcode", *variables, *targets)
        result.second_plan_clean = code == 0
        code, _ = step("destroy", "-input=false", "-auto-approve", *variables)
        _, state = _tf(directory, "state", "list")
        result.destroyed = code == 0 and not [x for x in state.splitlines() if x and not x.startswith("data.")]
        return result
    finally:
        result.seconds = time.monotonic() - started
        result.log = "\n".join(logs)


def rehearse(stacks: tuple[str, ...] = STACKS) -> list[StackResult]:
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        with tempfile.TemporaryDirectory(prefix="tenantkit-rehearsal-") as tmp:
            root = Path(tmp) / "terraform"
            shutil.copytree(TERRAFORM, root, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*",
                                                                            ".terraform.lock.hcl"))
            return [rehearse_stack(root, stack, f"http://{host}:{port}") for stack in stacks]
    finally:
        server.stop()


def summary(results: list[StackResult]) -> str:
    lines = []
    for r in results:
        verdict = "ok" if r.ok else "FAIL"
        lines.append(f"stacks/{r.stack}: {verdict}, {len(r.applied)} resources applied, second plan "
                     f"{'clean' if r.second_plan_clean else 'NOT clean'}, destroy {'ok' if r.destroyed else 'FAILED'}"
                     f", {r.seconds:.1f} s" + (f"; not applied (mock plan only): {', '.join(r.skipped)}"
                                               if r.skipped else ""))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rehearsal")
    parser.add_argument("stacks", nargs="*", default=list(STACKS))
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    results = rehearse(tuple(args.stacks))
    for r in results:
        if args.verbose or not r.ok:
            print(f"---- stacks/{r.stack} ----\n{r.log}")
    print(summary(results))
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
