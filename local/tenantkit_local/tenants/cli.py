"""``tenantkit tenants list|onboard|suspend|resume|offboard|init|unlock`` and
``tenantkit apps list|register|disable|enable``.

Target: ``--env E`` (parameter name, region and stack from deploy/environments.json) or
``--parameter``/``--region``. ``--endpoint-url`` (or ``AWS_ENDPOINT_URL``, which boto3 reads
itself) points every call at a local stack's moto server: the same code path as AWS.

Exit codes: 0 done (or nothing to do), 2 refused input or unusable registry, 3 a concurrent
edit won, 4 written but the audit record could not be delivered.
"""

from __future__ import annotations

import argparse
import difflib
import getpass
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tenantkit_local.tenants import TenantToolError

Operation = Callable[[dict[str, Any]], tuple[dict[str, Any], Any]]


class Session:
    """The AWS clients and names of one invocation."""

    def __init__(self, args: argparse.Namespace) -> None:
        import boto3

        self.parameter, region, self.stack_name = _target(args)
        kwargs: dict[str, Any] = {"region_name": region}
        if args.endpoint_url:
            kwargs["endpoint_url"] = args.endpoint_url
        self.ssm = boto3.client("ssm", **kwargs)
        self.sqs = boto3.client("sqs", **kwargs)
        self.cloudformation = boto3.client("cloudformation", **kwargs)
        self.sts = boto3.client("sts", **kwargs)

    def operator(self) -> str:
        """Who is editing: the AWS identity the calls are made with (never a flag)."""
        try:
            return str(self.sts.get_caller_identity()["Arn"])
        except Exception as exc:
            raise TenantToolError(f"cannot determine the caller identity ({type(exc).__name__}); "
                                  "check the AWS credentials") from None

    def store(self, owner: str):  # type: ignore[no-untyped-def]
        from tenantkit_local.tenants.store import RegistryStore

        return RegistryStore(self.ssm, self.parameter, owner=owner)


def _target(args: argparse.Namespace) -> tuple[str, str | None, str | None]:
    from tenantkit_local.deploy.sources import Sources, load_environments
    from tenantkit_local.tenants import InvalidInputError

    if args.env:
        envs = load_environments(args.environments or Sources().environments)
        env = envs.environments.get(args.env)
        if env is None:
            raise InvalidInputError(f"no environment {args.env!r} in deploy/environments.json")
        return args.parameter or env.tenant_registry_parameter, args.region or env.region, env.stack_name
    if not args.parameter:
        raise InvalidInputError("give --env or --parameter")
    return args.parameter, args.region, None


def diff(before: str, after: str, name: str) -> str:
    return "".join(difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                        fromfile=f"{name} (current)", tofile=f"{name} (new)"))


def apply(args: argparse.Namespace, operation: Operation, session: Session | None = None) -> int:
    """Read, edit, show the diff; then (unless --dry-run) write under the lock and audit."""
    from tenantkit_local.tenants import ConcurrentEditError
    from tenantkit_local.tenants.audit import change_record, resolve_destination
    from tenantkit_local.tenants.ops import parse_document, render_document

    session = session or Session(args)
    store = session.store(owner="dry-run")
    snapshot = store.read()
    _, change = operation(parse_document(snapshot.text))  # validate before anything else
    if args.dry_run:
        new_text = render_document(operation(parse_document(snapshot.text))[0])
        print(diff(snapshot.text if snapshot.text.endswith("\n") else snapshot.text + "\n", new_text,
                   session.parameter), end="")
        print(f"dry run: {change.summary}; would write version {snapshot.version + 1} of {session.parameter} "
              f"and audit {change.event_type}. Nothing written.", file=sys.stderr)
        return 0
    destination = resolve_destination(queue_url=args.audit_queue_url, file=args.audit_file,
                                      stack_name=session.stack_name, sqs=session.sqs,
                                      cloudformation=session.cloudformation)
    operator = session.operator()
    store = session.store(owner=f"{operator} ({getpass.getuser()})")
    with store.locked():
        current = store.read()  # inside the lock: the version this edit is based on
        if args.expect_version is not None and current.version != args.expect_version:
            raise ConcurrentEditError(f"{session.parameter} is at version {current.version}, not "
                                      f"{args.expect_version} as expected: someone changed it since you "
                                      "looked; review `tenantkit tenants list` and run again")
        new_document, change = operation(parse_document(current.text))
        new_text = render_document(new_document)
        version = store.write(new_text, current)
    print(diff(current.text if current.text.endswith("\n") else current.text + "\n", new_text,
               session.parameter), end="")
    record = change_record(change, operator=operator, parameter=session.parameter, version=version)
    destination.deliver(record)
    print(f"{change.summary}: {session.parameter} version {current.version} -> {version}; "
          f"audit {change.event_type} {record.event_id} to {destination.describe()}", file=sys.stderr)
    return 0


def cmd_list(args: argparse.Namespace, session: Session | None = None) -> int:
    from tenantkit_local.tenants.ops import parse_document

    session = session or Session(args)
    snapshot = session.store(owner="list").read()
    document = parse_document(snapshot.text)
    kind = "apps" if args.kind == "apps" else "tenants"
    rows = [("Entra id", "tenant_id" if kind == "tenants" else "app_id", "status", "details")]
    for key, entry in sorted(document[kind].items()):
        internal = entry.get("tenant_id" if kind == "tenants" else "app_id", "")
        details = entry.get("display_name", "") if kind == "tenants" else " ".join(
            [f"scopes={','.join(entry.get('required_scopes', []))}" if entry.get("required_scopes") else "",
             f"roles={','.join(entry.get('required_roles', []))}" if entry.get("required_roles") else ""]).strip()
        rows.append((key, internal, entry.get("status", "active"), details))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    print(f"{len(rows) - 1} {kind}; {session.parameter} version {snapshot.version} "
          f"(pass --expect-version {snapshot.version} to refuse an edit if it moves)", file=sys.stderr)
    return 0


def cmd_init(args: argparse.Namespace, session: Session | None = None) -> int:
    from tenantkit_local.tenants.ops import render_document

    session = session or Session(args)
    version = session.store(owner="init").create(render_document({"tenants": {}, "apps": {}}))
    print(f"created {session.parameter} (version {version}, empty registry)", file=sys.stderr)
    return 0


def cmd_unlock(args: argparse.Namespace, session: Session | None = None) -> int:
    session = session or Session(args)
    holder = session.store(owner="unlock").unlock(force=args.force)
    print("no lock held" if holder is None else f"removed the lock of {holder.get('owner')}", file=sys.stderr)
    return 0


def _operation(args: argparse.Namespace) -> Operation:
    from tenantkit_local.tenants import ops

    table: dict[str, Operation] = {
        "onboard": lambda d: ops.onboard(d, args.entra_tenant_id, args.tenant_id, args.display_name),
        "suspend": lambda d: ops.suspend(d, args.entra_tenant_id),
        "resume": lambda d: ops.resume(d, args.entra_tenant_id),
        "offboard": lambda d: ops.offboard(d, args.entra_tenant_id, force=args.force),
        "register": lambda d: ops.register_app(d, args.client_id, args.app_id, scopes=args.scope, roles=args.role),
        "disable": lambda d: ops.disable_app(d, args.client_id),
        "enable": lambda d: ops.enable_app(d, args.client_id),
    }
    return table[args.action]


def cmd_edit(args: argparse.Namespace) -> int:
    return apply(args, _operation(args))


def _guarded(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from tenantkit_local.deploy import DeployConfigError

        try:
            return func(args)
        except TenantToolError as exc:
            print(f"tenantkit {args.command}: {exc}", file=sys.stderr)
            return exc.exit_code
        except DeployConfigError as exc:
            print(f"tenantkit {args.command}: {exc}", file=sys.stderr)
            return 2
    return run


def _target_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", help="environment of deploy/environments.json (parameter, region, stack)")
    parser.add_argument("--environments", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--parameter", help="registry parameter name (default: the environment's)")
    parser.add_argument("--region", help="AWS region (default: the environment's, else boto3's own)")
    parser.add_argument("--endpoint-url", help="e.g. the local stack's moto server (or set AWS_ENDPOINT_URL)")


def _edit_options(parser: argparse.ArgumentParser) -> None:
    _target_options(parser)
    parser.add_argument("--dry-run", action="store_true", help="print the diff; write nothing, audit nothing")
    parser.add_argument("--expect-version", type=int, help="refuse unless the registry is at this version")
    parser.add_argument("--audit-queue-url", help="the stack's AuditQueueUrl (default: looked up from the stack)")
    parser.add_argument("--audit-file", type=Path, help="append audit records to this JSON-lines file instead")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    tenants = sub.add_parser("tenants", help="onboard, suspend, resume, offboard Entra tenants (registry in SSM)")
    tenants_sub = tenants.add_subparsers(dest="action", required=True)
    listing = tenants_sub.add_parser("list", help="the onboarded tenants and the registry version")
    _target_options(listing)
    listing.set_defaults(func=_guarded(cmd_list), kind="tenants")
    onboard = tenants_sub.add_parser("onboard", help="map an Entra tenant id to a tenant_id (status active)")
    onboard.add_argument("entra_tenant_id", help="the Entra tenant id (the tokens' tid)")
    onboard.add_argument("tenant_id", help="the tenant_id the platform uses for this tenant")
    onboard.add_argument("--display-name", help="a readable name kept in the registry entry")
    for name, help_text in (("suspend", "stop a tenant's access (kept in the registry)"),
                            ("resume", "give a suspended tenant access again"),
                            ("offboard", "remove a suspended tenant")):
        parser = tenants_sub.add_parser(name, help=help_text)
        parser.add_argument("entra_tenant_id", help="the Entra tenant id of an onboarded tenant")
        if name == "offboard":
            parser.add_argument("--force", action="store_true", help="offboard an active tenant directly")
        _edit_options(parser)
        parser.set_defaults(func=_guarded(cmd_edit))
    _edit_options(onboard)
    onboard.set_defaults(func=_guarded(cmd_edit))
    init = tenants_sub.add_parser("init", help="create an empty registry (local stacks; the SAM stack does in AWS)")
    _target_options(init)
    init.set_defaults(func=_guarded(cmd_init))
    unlock = tenants_sub.add_parser("unlock", help="remove the edit lock a crashed edit left behind")
    _target_options(unlock)
    unlock.add_argument("--force", action="store_true", help="remove a lock that has not expired yet")
    unlock.set_defaults(func=_guarded(cmd_unlock))

    apps = sub.add_parser("apps", help="register, disable, enable client applications (registry in SSM)")
    apps_sub = apps.add_subparsers(dest="action", required=True)
    listing = apps_sub.add_parser("list", help="the registered apps and the registry version")
    _target_options(listing)
    listing.set_defaults(func=_guarded(cmd_list), kind="apps")
    reg = apps_sub.add_parser("register", help="map an Entra application (client) id to an app_id")
    reg.add_argument("client_id", help="the Entra application (client) id (the tokens' azp or appid)")
    reg.add_argument("app_id", help="the app_id the platform uses for this application")
    reg.add_argument("--scope", action="append", default=[], help="required delegated scope (repeat)")
    reg.add_argument("--role", action="append", default=[], help="required app role; admits service tokens (repeat)")
    _edit_options(reg)
    reg.set_defaults(func=_guarded(cmd_edit))
    for name, help_text in (("disable", "refuse tokens of this app (kept in the registry)"),
                            ("enable", "accept a disabled app's tokens again")):
        parser = apps_sub.add_parser(name, help=help_text)
        parser.add_argument("client_id", help="the Entra application (client) id of a registered app")
        _edit_options(parser)
        parser.set_defaults(func=_guarded(cmd_edit))
