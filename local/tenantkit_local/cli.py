"""``tenantkit``: the local developer CLI (dev-only; not part of the Lambda layer)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

from tenantkit_local import PROJECT_ROOT, state_dir


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-t", "--template", type=Path, default=PROJECT_ROOT / "template.yaml")
    parser.add_argument("-n", "--env-vars", type=Path, default=PROJECT_ROOT / "local" / "env.json",
                        help="SAM-style env vars file (default: local/env.json)")
    parser.add_argument("--parameter-overrides", nargs="*", default=[], metavar="KEY=VALUE")


def _runner(args: argparse.Namespace, function: str):  # type: ignore[no-untyped-def]
    from tenantkit_local.runner import FunctionRunner
    from tenantkit_local.template import function_spec, load_env_vars

    overrides = dict(item.split("=", 1) for item in args.parameter_overrides)
    env_vars = load_env_vars(args.env_vars if args.env_vars and args.env_vars.exists() else None)
    return FunctionRunner(function_spec(args.template, function, env_vars=env_vars, parameter_overrides=overrides))


def _with_issuer(runner):  # type: ignore[no-untyped-def]
    from tenantkit_local.issuer import LocalIssuer
    from tenantkit_local.local_issuer_service import ensure_local_issuer

    issuer = LocalIssuer()
    jwks_uri = runner.spec.environment.get("OIDC_JWKS_URI")
    server = ensure_local_issuer(jwks_uri, issuer) if jwks_uri else None
    return issuer, server


def cmd_invoke(args: argparse.Namespace) -> int:
    from tenantkit_local.events import load_event, render

    runner = _runner(args, args.function)
    issuer, server = _with_issuer(runner)
    try:
        invocation = runner.invoke(render(load_event(args.event), issuer))
    finally:
        if server:
            server.stop()
    for line in runner.init_log_lines + invocation.log_lines:
        print(line, file=sys.stderr)
    if invocation.error_type:
        print(json.dumps({"errorType": invocation.error_type, "errorMessage": invocation.error_message}))
    else:
        print(json.dumps(invocation.response, indent=2))
    print(f"Duration: {invocation.duration_ms:.2f} ms", file=sys.stderr)
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from tenantkit_local.events import event_files

    if args.function == "AuthorizerFunction":
        return _replay_authorizer(args, event_files(args.paths))
    return _replay_proxy(args, event_files(args.paths))


def _replay_authorizer(args: argparse.Namespace, files: list[Path]) -> int:
    from tenantkit_local.replay import format_table, replay_authorizer

    runner = _runner(args, args.function)
    issuer, server = _with_issuer(runner)
    try:
        rows = replay_authorizer(runner, files, issuer)
    finally:
        if server:
            server.stop()
    print(format_table(rows))
    errors = [r for r in rows if r.decision == "Error"]
    print(f"\n{len(rows)} events replayed through {args.function}: "
          f"{sum(r.decision == 'Allow' for r in rows)} allow, {sum(r.decision == 'Deny' for r in rows)} deny, "
          f"{sum(r.decision == 'Unauthorized' for r in rows)} unauthorized, {len(errors)} errors")
    return 1 if errors else 0


def _replay_proxy(args: argparse.Namespace, files: list[Path]) -> int:
    """Replay API events through a function behind the authorizer, with local services up."""
    from tenantkit.bff.sessions import SessionStore
    from tenantkit_local.cloud import LocalServices, environment
    from tenantkit_local.events import EventRenderer
    from tenantkit_local.issuer import LocalIssuer
    from tenantkit_local.replay import format_table, replay_proxy
    from tenantkit_local.runner import FunctionRunner
    from tenantkit_local.template import function_spec, load_env_vars

    env_vars = load_env_vars(args.env_vars if args.env_vars and args.env_vars.exists() else None)
    registry = env_vars.get("AuthorizerFunction", {}).get("TENANT_REGISTRY")
    with LocalServices(args.template) as services, environment(services.moto.environment()):
        env_vars.setdefault(args.function, {}).update(services.function_overrides())
        spec = function_spec(args.template, args.function, env_vars=env_vars,
                             resource_names=services.resource_names)
        store = SessionStore(spec.environment.get("SESSIONS_TABLE", ""),
                             client_factory=lambda: services.moto.client("dynamodb"))
        renderer = EventRenderer(LocalIssuer(), registry_json=registry,
                                 session_factory=lambda envelope: store.create(envelope).session_id)
        rows = replay_proxy(FunctionRunner(spec), files, renderer)
    print(format_table(rows))
    errors = [r for r in rows if r.status >= 500 and r.reason in ("-", "internal_error")]
    print(f"\n{len(rows)} events replayed through {args.function}: "
          f"{sum(r.status < 400 for r in rows)} ok, {sum(r.status >= 400 for r in rows)} rejected, "
          f"{len(errors)} errors")
    return 1 if errors else 0


def cmd_events_render(args: argparse.Namespace) -> int:
    from tenantkit_local.events import render_files
    from tenantkit_local.issuer import LocalIssuer

    out = args.out or state_dir() / "rendered-events"
    registry = json.loads((PROJECT_ROOT / "local" / "env.json").read_text())["AuthorizerFunction"]["TENANT_REGISTRY"]
    written = render_files(args.paths, out, LocalIssuer(), root=PROJECT_ROOT, registry_json=registry)
    for path in written:
        print(path)
    print(f"{len(written)} events rendered; tokens expire, render again before use.", file=sys.stderr)
    return 0


def cmd_events_scrub(args: argparse.Namespace) -> int:
    from tenantkit_local.events import load_event, scrub
    from tenantkit_local.personas import load_persona

    load_persona(args.persona)  # fail early on an unknown persona
    cleaned = json.dumps(scrub(load_event(args.source), args.persona), indent=2) + "\n"
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(cleaned)
        print(args.out)
    else:
        print(cleaned, end="")
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from tenantkit_local.issuer import LocalIssuer
    from tenantkit_local.personas import load_persona

    print(LocalIssuer().mint(load_persona(args.persona)))
    return 0


def cmd_issuer_serve(args: argparse.Namespace) -> int:
    from tenantkit_local.issuer import LocalIssuer
    from tenantkit_local.jwks_server import JwksServer

    server = JwksServer(LocalIssuer().jwks_bytes(), host=args.host, port=args.port).start()
    print(f"local issuer JWKS at {server.jwks_uri} (Ctrl-C to stop)", file=sys.stderr)
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def cmd_schema_export(args: argparse.Namespace) -> int:
    from tenantkit_local.schemas import stale_documents, write_documents

    if args.check:
        stale = stale_documents()
        for path in stale:
            print(f"stale: {path} (run `tenantkit schema export`)", file=sys.stderr)
        return 1 if stale else 0
    for path in write_documents():
        print(path)
    return 0


def _day(value: str) -> str:
    from tenantkit.audit.compaction import CompactionError, validate_dt

    try:
        return validate_dt(value)
    except CompactionError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_compact(args: argparse.Namespace) -> int:
    from tenantkit_local.compaction import LocalCompactor

    print(json.dumps(LocalCompactor(args.root).compact(args.dt), indent=2))
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    from tenantkit_local.querypack import QueryPackError
    from tenantkit_local.queryrun import list_text, parse_values, render, resolve, run

    try:
        if args.list:
            print(list_text())
            return 0
        if not args.name:
            print("tenantkit query: name a query (<pack>/<name> or <name>) or use --list", file=sys.stderr)
            return 2
        query = resolve(args.name)
        columns, rows = run(args.root, query, parse_values(query, args.param))
    except QueryPackError as exc:
        print(f"tenantkit query: {exc}", file=sys.stderr)
        return 2
    print(render(columns, rows, args.format))
    if "audit_curated" in query.tables and not any(Path(args.root).glob("curated/dt=*/*.parquet")):
        print(f"note: no curated partitions under {args.root} (run `tenantkit compact --dt ...` first)",
              file=sys.stderr)
    return 0


def cmd_dashboard(args: argparse.Namespace) -> int:
    from tenantkit_local.dashboard import render_dashboard

    if args.from_dt and args.to_dt and args.from_dt > args.to_dt:
        print("tenantkit dashboard: --from is after --to", file=sys.stderr)
        return 2
    days = sorted(p.name.removeprefix("dt=") for p in Path(args.root).glob("curated/dt=*") if p.is_dir())
    days = [d for d in days if (not args.from_dt or d >= args.from_dt) and (not args.to_dt or d <= args.to_dt)]
    if not days:
        print(f"tenantkit dashboard: no curated partitions under {args.root} in the range "
              "(run `tenantkit compact --dt ...` first); the dashboard will be empty", file=sys.stderr)
    # The queries read from_dt..to_dt: the range asked for, else the first and last day found.
    bounds = {args.from_dt or (days[0] if days else None), args.to_dt or (days[-1] if days else None)}
    out = render_dashboard(args.root, sorted(d for d in bounds if d), args.out or state_dir() / "dashboard.html")
    print(out)
    return 0


def cmd_gates(args: argparse.Namespace) -> int:
    from tenantkit_local.gates import evaluate, format_results, run_gate_tests

    report = json.loads(args.report.read_text()) if args.report else run_gate_tests()
    results = evaluate(report, args.template)
    print(format_results(results))
    return 0 if all(r.ok for r in results) else 1


def cmd_local_up(args: argparse.Namespace) -> int:
    from tenantkit_local.stack import LocalStack, StackConfig

    echo = None if args.quiet else (lambda line: print(line, flush=True))
    config = StackConfig(gateway_port=args.port, issuer_port=args.issuer_port, echo=echo)
    stack = LocalStack(config).start()
    try:
        print(f"API Gateway  {stack.url}  (stage routes: /v1/whoami, /v1/{{proxy+}})", file=sys.stderr)
        print(f"OIDC issuer  {stack.jwks.jwks_uri if stack.jwks else '-'}", file=sys.stderr)
        print(f"moto         {stack.services.moto.endpoint}", file=sys.stderr)
        print(f"fake agent   {stack.services.agent.url}", file=sys.stderr)
        print(f"audit zone   {config.audit_root}", file=sys.stderr)
        print(f"try: curl -H \"Authorization: Bearer $(tenantkit token --persona acme-user-v2)\" {stack.url}/v1/me",
              file=sys.stderr)
        print("Ctrl-C to stop", file=sys.stderr)
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()
        print("stopped", file=sys.stderr)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from tenantkit_local.demo import run_demo

    return run_demo(args.root)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tenantkit", description="tenantkit local developer tools")
    sub = parser.add_subparsers(dest="command", required=True)

    invoke = sub.add_parser("invoke", help="invoke a template function in-process with an event")
    invoke.add_argument("function", help="logical id in template.yaml, e.g. AuthorizerFunction")
    invoke.add_argument("-e", "--event", type=Path, required=True)
    _common(invoke)
    invoke.set_defaults(func=cmd_invoke)

    replay = sub.add_parser("replay", help="replay recorded authorizer events and print a decision table")
    replay.add_argument("paths", nargs="+", type=Path)
    replay.add_argument("--function", default="AuthorizerFunction")
    _common(replay)
    replay.set_defaults(func=cmd_replay)

    events = sub.add_parser("events", help="recorded events")
    events_sub = events.add_subparsers(dest="events_command", required=True)
    render = events_sub.add_parser("render", help="write events with fresh tokens for `sam local invoke -e`")
    render.add_argument("paths", nargs="*", type=Path, default=[PROJECT_ROOT / "events"])
    render.add_argument("-o", "--out", type=Path)
    render.set_defaults(func=cmd_events_render)

    scrub = events_sub.add_parser("scrub", help="turn a captured API Gateway event into a fixture without secrets")
    scrub.add_argument("source", type=Path)
    scrub.add_argument("--persona", required=True, help="the persona whose token reference replaces the real one")
    scrub.add_argument("-o", "--out", type=Path)
    scrub.set_defaults(func=cmd_events_scrub)

    token = sub.add_parser("token", help="mint a token for a fixture persona")
    token.add_argument("--persona", required=True)
    token.set_defaults(func=cmd_token)

    issuer = sub.add_parser("issuer", help="the local OIDC issuer")
    issuer_sub = issuer.add_subparsers(dest="issuer_command", required=True)
    serve = issuer_sub.add_parser("serve", help="serve the local issuer's JWKS on 127.0.0.1")
    serve.add_argument("--host", default="127.0.0.1", choices=["127.0.0.1", "localhost"])
    serve.add_argument("--port", type=int, default=18080)
    serve.set_defaults(func=cmd_issuer_serve)
    gates = sub.add_parser("gates", help="evaluate the viability gates (runs the evidence tests)")
    gates.add_argument("-t", "--template", type=Path, default=PROJECT_ROOT / "template.yaml")
    gates.add_argument("--report", type=Path, help="use a gate report from a test run instead of running tests")
    gates.set_defaults(func=cmd_gates)

    local = sub.add_parser("local", help="the local stack")
    local_sub = local.add_subparsers(dest="local_command", required=True)
    up = local_sub.add_parser("up", help="start issuer, moto, fake agent and API Gateway on 127.0.0.1")
    up.add_argument("--port", type=int, default=3000)
    up.add_argument("--issuer-port", type=int, default=18080)
    up.add_argument("--quiet", action="store_true", help="do not stream function logs")
    up.set_defaults(func=cmd_local_up)

    demo = sub.add_parser("demo", help="the main job: local stack, traffic, compaction, tenant tables")
    demo.add_argument("--root", type=Path, help="audit zone directory (default .tenantkit/demo-audit)")
    demo.set_defaults(func=cmd_demo)

    schema = sub.add_parser("schema", help="contract documents exported from the layer")
    schema_sub = schema.add_subparsers(dest="schema_command", required=True)
    export = schema_sub.add_parser("export", help="write docs/schemas/*.json from the code")
    export.add_argument("--check", action="store_true", help="exit 1 if an exported file is stale")
    export.set_defaults(func=cmd_schema_export)

    compact = sub.add_parser("compact", help="compact one day of the local audit raw zone into curated Parquet")
    compact.add_argument("--dt", type=_day, required=True, metavar="YYYY-MM-DD", help="the UTC day to compact")
    compact.add_argument("--root", type=Path, default=Path(".tenantkit/audit"),
                         help="audit zones root, as the sink's AUDIT_STORE (default: .tenantkit/audit)")
    compact.set_defaults(func=cmd_compact)

    query = sub.add_parser("query", help="run a query-pack query on DuckDB over the local audit zones")
    query.add_argument("name", nargs="?", help="<pack>/<name>, or <name> when unique (see --list)")
    query.add_argument("--list", action="store_true", help="list the packs, their queries and parameters")
    query.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                       help="an execution parameter, e.g. --param from_dt=2026-11-27 (repeat for each)")
    query.add_argument("-f", "--format", choices=["table", "json", "csv"], default="table")
    query.add_argument("--root", type=Path, default=Path(".tenantkit/audit"),
                       help="audit zones root (default: .tenantkit/audit)")
    query.set_defaults(func=cmd_query)

    dashboard = sub.add_parser("dashboard", help="render the tenant dashboard (static HTML) from the query packs")
    dashboard.add_argument("--root", type=Path, default=Path(".tenantkit/audit"),
                           help="audit zones root (default: .tenantkit/audit)")
    dashboard.add_argument("--from", dest="from_dt", type=_day, metavar="YYYY-MM-DD",
                           help="first UTC day (default: the first curated partition)")
    dashboard.add_argument("--to", dest="to_dt", type=_day, metavar="YYYY-MM-DD",
                           help="last UTC day (default: the last curated partition)")
    dashboard.add_argument("-o", "--out", type=Path, help="output file (default: .tenantkit/dashboard.html)")
    dashboard.set_defaults(func=cmd_dashboard)

    from tenantkit_local.release.cli import register as register_release

    register_release(sub)  # `release evidence|verify`, `tf backend-config|terragrunt-gate`

    from tenantkit_local.redrive import register as register_audit

    register_audit(sub)  # `audit redrive`
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except Exception as exc:  # a CLI prints one clear line, not a traceback
        from tenantkit_local.local_issuer_service import IssuerPortError
        from tenantkit_local.personas import UnknownPersonaError
        from tenantkit_local.stack import PortInUseError
        from tenantkit_local.template import TemplateError

        if isinstance(exc, IssuerPortError | UnknownPersonaError | TemplateError | PortInUseError | OSError):
            print(f"tenantkit: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
