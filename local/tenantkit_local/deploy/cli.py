"""``tenantkit deploy plan|tfvars|sam-overrides``.

Exit codes: 0 consistent, 1 the plan found problems, 2 bad input (unreadable or malformed file).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tenantkit_local.deploy import DeployConfigError


def _sources(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from tenantkit_local.deploy.sources import Sources

    return Sources(environments=args.environments) if args.environments else Sources()


def cmd_plan(args: argparse.Namespace) -> int:
    from tenantkit_local.deploy.plan import build_plan, render

    plan = build_plan(args.env, _sources(args))
    if args.json:
        from dataclasses import asdict

        print(json.dumps(asdict(plan), indent=2))
    else:
        print(render(plan))
    return 0 if plan.ok else 1


def cmd_tfvars(args: argparse.Namespace) -> int:
    from tenantkit_local.deploy.plan import build_plan

    plan = build_plan(args.env, _sources(args))
    if not plan.ok:
        print("\n".join(f"tenantkit deploy: {p}" for p in plan.problems), file=sys.stderr)
        return 1
    matches = [s for s in plan.stacks if s.stack == args.stack
               and (args.app_id is None or s.app_id == args.app_id)
               and (args.agent_name is None or s.agent_name == args.agent_name)]
    if len(matches) != 1:
        found = ", ".join(f"{s.app_id}/{s.agent_name}" for s in plan.stacks if s.stack == args.stack) or "none"
        print(f"tenantkit deploy: {len(matches)} targets of stack {args.stack} match (targets: {found}); "
              "give --app-id and --agent-name", file=sys.stderr)
        return 2
    text = json.dumps(matches[0].variables, indent=2) + "\n"
    if args.out:
        args.out.write_text(text)
        print(args.out, file=sys.stderr)
    else:
        print(text, end="")
    return 0


def cmd_sam_overrides(args: argparse.Namespace) -> int:
    from tenantkit_local.deploy.plan import build_plan, sam_overrides
    from tenantkit_local.deploy.sources import format_overrides, read_json

    outputs = {}
    for item in args.terraform_output:
        stack, sep, path = item.partition("=")
        if not sep:
            print(f"tenantkit deploy: --terraform-output {item!r} is not <stack>=<file>", file=sys.stderr)
            return 2
        outputs[stack] = read_json(Path(path))
    plan = build_plan(args.env, _sources(args))
    print(format_overrides(sam_overrides(plan, outputs)))
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    deploy = sub.add_parser("deploy", help="render and check what SAM and Terraform get per environment")
    deploy_sub = deploy.add_subparsers(dest="deploy_command", required=True)

    def common(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--env", required=True, help="an environment of deploy/environments.json")
        parser.add_argument("--environments", type=Path, help="environments file (default deploy/environments.json)")

    plan = deploy_sub.add_parser("plan", help="every SAM parameter and Terraform variable of one environment; "
                                              "exit 1 on any mismatch (no AWS call)")
    common(plan)
    plan.add_argument("--json", action="store_true", help="print the plan as JSON instead of text")
    plan.set_defaults(func=_guarded(cmd_plan))

    tfvars = deploy_sub.add_parser("tfvars", help="the -var-file JSON of one stack target")
    common(tfvars)
    tfvars.add_argument("--stack", required=True, help="the Terraform stack (a directory of terraform/stacks/)")
    tfvars.add_argument("--app-id", help="the target's app_id, when the stack has several targets")
    tfvars.add_argument("--agent-name", help="the target's agent_name, when the stack has several targets")
    tfvars.add_argument("-o", "--out", type=Path, help="write the JSON to this file (default: stdout)")
    tfvars.set_defaults(func=_guarded(cmd_tfvars))

    overrides = deploy_sub.add_parser("sam-overrides", help="the full --parameter-overrides for sam deploy, "
                                                           "checked against real `terraform output -json` files")
    common(overrides)
    overrides.add_argument("--terraform-output", action="append", default=[], metavar="STACK=FILE",
                           help="a stack's `terraform output -json` file (repeat per stack)")
    overrides.set_defaults(func=_guarded(cmd_sam_overrides))


def _guarded(func):  # type: ignore[no-untyped-def]
    def run(args: argparse.Namespace) -> int:
        try:
            return int(func(args))
        except DeployConfigError as exc:
            print(f"tenantkit deploy: {exc}", file=sys.stderr)
            return 2
    return run
