"""``tenantkit release ...`` and ``tenantkit tf ...``: release-plane subcommands of the dev CLI.

Exit codes: 0 passed, 1 a check failed (verification, coverage), 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from tenantkit_local import PROJECT_ROOT
from tenantkit_local.release import ReleaseError


def _csv(value: str) -> tuple[str, ...]:
    items = tuple(v.strip() for v in value.split(",") if v.strip())
    if not items:
        raise argparse.ArgumentTypeError("expected a comma-separated list")
    return items


def _timestamp(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 time: {value!r}") from None
    if parsed.tzinfo is None:
        raise argparse.ArgumentTypeError("give a UTC offset, e.g. 2026-11-21T10:45:00Z")
    return parsed


def _guarded(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except (ReleaseError, OSError) as exc:
            print(f"tenantkit: {exc}", file=sys.stderr)
            return 2
    return run


def cmd_evidence(args: argparse.Namespace) -> int:
    from tenantkit_local.release.evidence import CiContext, artifact_digest, build_evidence
    from tenantkit_local.release.gitlab import load_approvals, load_deployments

    ci = CiContext.from_env(environment=args.environment, commit_sha=args.sha)
    evidence = build_evidence(
        ci, load_deployments(args.deployments),
        approvals=load_approvals(args.approvals) if args.approvals else None, chain=args.chain,
        artifacts=[artifact_digest(a) for a in args.artifact], rollback_sha=args.rollback_sha, now=args.created_at)
    text = evidence.model_dump_json(indent=2) + "\n"
    if args.out:
        args.out.write_text(text)
        print(f"wrote {args.out}: {evidence.environment} {evidence.promoted_sha[:12]} "
              f"(pipeline {evidence.pipeline_id}, {len(evidence.lineage)} lineage steps)", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from tenantkit_local.release.evidence import load_evidence
    from tenantkit_local.release.gitlab import load_deployments
    from tenantkit_local.release.verify import closeout, verify

    result = verify(load_evidence(args.evidence), protected=args.protected, production=args.production,
                    deployments=load_deployments(args.deployments) if args.deployments else None)
    block = closeout(result)
    if args.closeout:
        args.closeout.write_text(block)
    print(block, end="")
    for failure in result.failures:
        print(f"tenantkit: release verify: {failure.name}: {failure.detail}", file=sys.stderr)
    return 0 if result.ok else 1


def cmd_schema(args: argparse.Namespace) -> int:
    from tenantkit_local.release.evidence import SCHEMA_FILE, schema_document

    current = SCHEMA_FILE.read_text() if SCHEMA_FILE.exists() else None
    if args.check:
        if current != schema_document():
            print(f"stale: {SCHEMA_FILE} (run `tenantkit release schema`)", file=sys.stderr)
            return 1
        return 0
    SCHEMA_FILE.write_text(schema_document())
    print(SCHEMA_FILE)
    return 0


def cmd_backend_config(args: argparse.Namespace) -> int:
    from tenantkit_local.release.backend import Targets, format_table, render, uncovered_stacks

    if args.all:
        targets = Targets.load(args.targets)
        rows = targets.render_all()
        missing, unknown = uncovered_stacks(targets, args.targets.parent.parent / "stacks")
        if args.format == "json":
            print(json.dumps([{"stack": t.stack, "env": env, **c.settings()} for t, env, c in rows], indent=2))
        else:
            print(format_table(rows))
        for stack in missing:
            print(f"tenantkit: stack {stack} has an S3 backend but no entry in {args.targets}", file=sys.stderr)
        for stack in unknown:
            print(f"tenantkit: {args.targets} names stack {stack}, which does not exist", file=sys.stderr)
        print(f"{len(rows)} backend configs rendered ({len(targets.targets)} targets x "
              f"{len(targets.environments)} environments), {len(rows)} unique state keys", file=sys.stderr)
        return 1 if missing or unknown else 0
    if not (args.env and args.app_id and args.agent_name):
        raise ReleaseError("--env, --app-id and --agent-name are required (or --all)")
    config = render(args.env, args.app_id, args.agent_name, bucket=args.bucket, region=args.region)
    out = {"args": config.command_line(), "tfbackend": config.tfbackend(),
           "json": json.dumps(config.settings(), indent=2)}[args.format]
    print(out, end="" if out.endswith("\n") else "\n")
    return 0


def cmd_terragrunt_gate(args: argparse.Namespace) -> int:
    from tenantkit_local.release.backend import Targets
    from tenantkit_local.release.terragrunt_gate import as_json, decide, measure, report

    targets_file = args.terraform_dir / "backend" / "targets.json"
    measurements = measure(args.terraform_dir, Targets.load(targets_file) if targets_file.exists() else None)
    verdict = decide(measurements)
    print(as_json(measurements, verdict) if args.json else report(measurements, verdict))
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``release`` and ``tf`` to the ``tenantkit`` parser."""
    release = sub.add_parser("release", help="promotion evidence (CI tooling)")
    release_sub = release.add_subparsers(dest="release_command", required=True)

    evidence = release_sub.add_parser("evidence", help="build a promotion evidence record from GitLab CI variables")
    evidence.add_argument("--deployments", type=Path, required=True, help="GitLab Deployments API output (JSON)")
    evidence.add_argument("--approvals", type=Path, help="deployment approvals (JSON), keyed by deployment id")
    evidence.add_argument("--artifact", action="append", default=[], metavar="PATH|NAME@sha256:HEX",
                          help="a built artifact to digest (repeatable)")
    evidence.add_argument("--chain", type=_csv, default=("dev", "staging", "prod"), help="promotion order")
    evidence.add_argument("--environment", help="override CI_ENVIRONMENT_NAME")
    evidence.add_argument("--sha", help="override CI_COMMIT_SHA")
    evidence.add_argument("--rollback-sha", help="default: the newest earlier promotion to the environment")
    evidence.add_argument("--created-at", type=_timestamp, help="ISO-8601 UTC time (reproducible examples)")
    evidence.add_argument("-o", "--out", type=Path, help="write the evidence JSON here (default: stdout)")
    evidence.set_defaults(func=_guarded(cmd_evidence))

    verify = release_sub.add_parser("verify", help="check lineage, approvals and rollback; print the closeout block")
    verify.add_argument("evidence", type=Path, help="the promotion evidence JSON to verify")
    verify.add_argument("--protected", type=_csv, default=("prod",), help="environments that need approval")
    verify.add_argument("--production", type=_csv, default=("prod",),
                        help="environments that refuse self-approval and need a tag")
    verify.add_argument("--deployments", type=Path, help="cross-check against GitLab deployments data")
    verify.add_argument("--closeout", type=Path, help="also write the closeout block to this file")
    verify.set_defaults(func=_guarded(cmd_verify))

    schema = release_sub.add_parser("schema", help="write docs/schemas/promotion-evidence.schema.json")
    schema.add_argument("--check", action="store_true", help="exit 1 if the committed schema is stale")
    schema.set_defaults(func=_guarded(cmd_schema))

    tf = sub.add_parser("tf", help="Terraform release plane: segmented state, Terragrunt gate")
    tf_sub = tf.add_subparsers(dest="tf_command", required=True)
    backend = tf_sub.add_parser("backend-config", help="render -backend-config for <env>/<app_id>/<agent_name>")
    backend.add_argument("--env", help="environment of the state key (dev, staging, prod)")
    backend.add_argument("--app-id", help="app_id segment of the state key")
    backend.add_argument("--agent-name", help="agent segment of the state key")
    backend.add_argument("--bucket", help="state bucket (default tenantkit-tfstate-<env>)")
    backend.add_argument("--region", help="state bucket region (default us-east-1)")
    backend.add_argument("--format", choices=("args", "tfbackend", "json"), default="args",
                         help="-backend-config arguments, a .tfbackend file, or JSON (default: args)")
    backend.add_argument("--all", action="store_true", help="every target x environment of --targets")
    backend.add_argument("--targets", type=Path, default=PROJECT_ROOT / "terraform" / "backend" / "targets.json",
                         help="targets file (default: terraform/backend/targets.json)")
    backend.set_defaults(func=_guarded(cmd_backend_config))

    gate = tf_sub.add_parser("terragrunt-gate", help="measure the ADR 0016 thresholds and print adopt/defer")
    gate.add_argument("--terraform-dir", type=Path, default=PROJECT_ROOT / "terraform",
                      help="the Terraform tree to measure (default: terraform/)")
    gate.add_argument("--json", action="store_true", help="print the measurements and decision as JSON")
    gate.set_defaults(func=_guarded(cmd_terragrunt_gate))
