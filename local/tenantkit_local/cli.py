"""``tenantkit``: the local developer CLI (dev-only; not part of the Lambda layer)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path

from tenantkit_local import PROJECT_ROOT, state_dir


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-t", "--template", type=Path, default=PROJECT_ROOT / "template.yaml",
                        help="the SAM template (default: template.yaml)")
    parser.add_argument("-n", "--env-vars", type=Path, default=PROJECT_ROOT / "local" / "env.json",
                        help="SAM-style env vars file (default: local/env.json)")
    parser.add_argument("--parameter-overrides", nargs="*", default=[], metavar="KEY=VALUE",
                        help="template parameter values, e.g. AuthorizerCacheTtl=0")


def _audit_store(parser: argparse.ArgumentParser, what: str) -> None:
    """The one name for the audit location, as the sink's ``AUDIT_STORE``."""
    parser.add_argument("--audit-store", "--root", dest="root", type=Path, default=None,
                        help=f"audit zones root {what} (default: AUDIT_STORE, else .tenantkit/audit, "
                             "where `make demo` and `tenantkit local up` write)")


def _root(args: argparse.Namespace) -> Path:
    from tenantkit_local import audit_store_default

    return Path(args.root) if args.root else audit_store_default()


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
    from tenantkit.bff.sessions import DynamoDbSessionRepository
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
        store = DynamoDbSessionRepository(spec.environment.get("SESSIONS_TABLE", ""),
                             clients=services.moto.tenant_scoped_clients())
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
    from tenantkit_local.cli_local import running_stack_info
    from tenantkit_local.events import render_files, sam_invoke_command, write_env_vars
    from tenantkit_local.issuer import LocalIssuer
    from tenantkit_local.template import load_env_vars

    out = args.out or state_dir() / "rendered-events"
    base = load_env_vars(PROJECT_ROOT / "local" / "env.json")
    stack = running_stack_info()
    session_factory, overrides = None, {}
    if stack:
        session_factory = _stack_session_factory(stack)
        overrides = {"AuthorizerFunction": {"OIDC_JWKS_URI": stack["issuer_jwks_uri"]},
                     "BffProxyFunction": {"UPSTREAM_URL": stack["agent_url"],
                                          "SESSIONS_TABLE": stack["tables"].get("SessionsTable", "")}}
    registry = base["AuthorizerFunction"]["TENANT_REGISTRY"]
    result = render_files(args.paths, out, LocalIssuer(), root=PROJECT_ROOT, registry_json=registry,
                          session_factory=session_factory)
    env_file = write_env_vars(out, base, overrides)
    for path in result.written:
        print(path)
    print(env_file)
    example = next((p for p in result.written if p.name == "acme-user-v2.json"), None)
    if example is not None:
        print(sam_invoke_command("AuthorizerFunction", example, env_file, relative_to=Path.cwd()))
    print(f"{len(result.written)} events rendered; tokens expire, render again before use.", file=sys.stderr)
    if result.skipped:
        print(f"{len(result.skipped)} events continue a session and were not rendered: start `tenantkit local up` "
              "and render again to bind their sessions in its table.", file=sys.stderr)
    return 0


def _stack_session_factory(stack: dict[str, object]):  # type: ignore[no-untyped-def]
    """Binds sessions in a running local stack's table (the ids the rendered BFF events carry),
    through the BFF's own path: tenant-scoped credentials from the stack's STS."""
    from tenantkit.bff.sessions import SessionStore
    from tenantkit_local.cloud import tenant_scoped_clients

    tables = stack.get("tables") or {}
    store = SessionStore(str(tables.get("SessionsTable", "")),  # type: ignore[union-attr]
                         clients=tenant_scoped_clients(str(stack["moto_endpoint"])))
    return lambda envelope: store.create(envelope).session_id


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
    from tenantkit_local.personas import load_persona, parse_claims, with_claims

    persona = load_persona(args.persona)
    if args.claims is not None:
        persona = with_claims(persona, parse_claims(args.claims))
    print(LocalIssuer().mint(persona))
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

    if args.dt and (args.from_dt or args.to_dt):
        print("tenantkit compact: give --dt, or --from/--to, not both", file=sys.stderr)
        return 2
    if not args.dt and not (args.from_dt and args.to_dt):
        print("tenantkit compact: give --dt YYYY-MM-DD, or --from and --to for a catch-up", file=sys.stderr)
        return 2
    if args.from_dt and args.from_dt > args.to_dt:
        print("tenantkit compact: --from is after --to", file=sys.stderr)
        return 2
    compactor = LocalCompactor(_root(args))
    days = [args.dt] if args.dt else _days_between(args.from_dt, args.to_dt)
    reports = [compactor.compact(day) for day in days]
    print(json.dumps(reports[0] if args.dt else reports, indent=2))
    return 0


def _days_between(first: str, last: str) -> list[str]:
    from datetime import date, timedelta

    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [(start + timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]


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
        root = _root(args)
        if "cur" in query.tables and not any(root.glob("cur/BILLING_PERIOD=*/*.parquet")):
            print(f"tenantkit query: {query.ref} joins the CUR 2.0 table, and {root}/cur/ holds no data. "
                  f"Put your Data Exports (CUR 2.0, Parquet) files under {root}/cur/BILLING_PERIOD=YYYY-MM/ "
                  "(see docs/cost-attribution.md); in AWS the table is declared by Terraform.", file=sys.stderr)
            return 2
        columns, rows = run(root, query, parse_values(query, args.param))
    except QueryPackError as exc:
        print(f"tenantkit query: {exc}", file=sys.stderr)
        return 2
    print(render(columns, rows, args.format))
    if "audit_curated" in query.tables and not any(root.glob("curated/dt=*/*.parquet")):
        print(f"note: no curated partitions under {root} (run `tenantkit compact --dt ...` first)",
              file=sys.stderr)
    return 0


def cmd_dashboard(args: argparse.Namespace) -> int:
    from tenantkit_local.dashboard import render_dashboard

    if args.from_dt and args.to_dt and args.from_dt > args.to_dt:
        print("tenantkit dashboard: --from is after --to", file=sys.stderr)
        return 2
    root = _root(args)
    days = sorted(p.name.removeprefix("dt=") for p in root.glob("curated/dt=*") if p.is_dir())
    days = [d for d in days if (not args.from_dt or d >= args.from_dt) and (not args.to_dt or d <= args.to_dt)]
    if not days:
        print(f"tenantkit dashboard: no curated partitions under {root} in the range "
              "(run `tenantkit compact --dt ...` first); the dashboard will be empty", file=sys.stderr)
    # The queries read from_dt..to_dt: the range asked for, else the first and last day found.
    bounds = {args.from_dt or (days[0] if days else None), args.to_dt or (days[-1] if days else None)}
    out = render_dashboard(root, sorted(d for d in bounds if d), args.out or state_dir() / "dashboard.html")
    print(out)
    return 0


def cmd_gates(args: argparse.Namespace) -> int:
    from tenantkit_local.gates import evaluate, format_results, run_gate_tests

    report = json.loads(args.report.read_text()) if args.report else run_gate_tests()
    results = evaluate(report, args.template)
    print(format_results(results))
    return 0 if all(r.ok for r in results) else 1


def cmd_demo(args: argparse.Namespace) -> int:
    from tenantkit_local.demo import run_demo

    return run_demo(args.root, synthetic_requests=args.synthetic_requests)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tenantkit", description="tenantkit local developer tools")
    sub = parser.add_subparsers(dest="command", required=True)

    invoke = sub.add_parser("invoke", help="invoke a template function in-process with an event")
    invoke.add_argument("function", help="logical id in template.yaml, e.g. AuthorizerFunction")
    invoke.add_argument("-e", "--event", type=Path, required=True,
                        help="event JSON; {{token:<persona>}} references are minted on the fly")
    _common(invoke)
    invoke.set_defaults(func=cmd_invoke)

    replay = sub.add_parser("replay", help="replay recorded authorizer events and print a decision table")
    replay.add_argument("paths", nargs="+", type=Path, help="event files or directories of them")
    replay.add_argument("--function", default="AuthorizerFunction",
                        help="the function to replay through (default AuthorizerFunction; BffProxyFunction "
                             "replays with local services)")
    _common(replay)
    replay.set_defaults(func=cmd_replay)

    events = sub.add_parser("events", help="recorded events")
    events_sub = events.add_subparsers(dest="events_command", required=True)
    render = events_sub.add_parser("render", help="write ready events (tokens, envelopes, sessions) and an "
                                                  "env-vars file for `sam local invoke -e`")
    render.add_argument("paths", nargs="*", type=Path, default=[PROJECT_ROOT / "events"],
                        help="event files or directories (default: events/)")
    render.add_argument("-o", "--out", type=Path,
                        help="output directory (default: .tenantkit/rendered-events)")
    render.set_defaults(func=cmd_events_render)

    scrub = events_sub.add_parser("scrub", help="turn a captured API Gateway event into a fixture without secrets")
    scrub.add_argument("source", type=Path, help="the captured API Gateway event (JSON)")
    scrub.add_argument("--persona", required=True, help="the persona whose token reference replaces the real one")
    scrub.add_argument("-o", "--out", type=Path, help="write the fixture here (default: stdout)")
    scrub.set_defaults(func=cmd_events_scrub)

    token = sub.add_parser("token", help="mint a token for a fixture persona, optionally with other claims")
    token.add_argument("--persona", required=True, help="a persona under tests/fixtures/personas, e.g. acme-user-v2")
    token.add_argument("--claims", metavar="JSON",
                       help="claims to override on the persona, as a JSON object or @file.json; "
                            "null removes a claim, e.g. '{\"roles\": [\"Agents.Invoke\"], \"oid\": null}'")
    token.set_defaults(func=cmd_token)

    issuer = sub.add_parser("issuer", help="the local OIDC issuer")
    issuer_sub = issuer.add_subparsers(dest="issuer_command", required=True)
    serve = issuer_sub.add_parser("serve", help="serve the local issuer's JWKS on 127.0.0.1")
    serve.add_argument("--host", default="127.0.0.1", choices=["127.0.0.1", "localhost"],
                       help="loopback address to listen on")
    serve.add_argument("--port", type=int, default=18080, help="port (default 18080, local/env.json's JWKS URI)")
    serve.set_defaults(func=cmd_issuer_serve)
    gates = sub.add_parser("gates", help="evaluate the viability gates (runs the evidence tests)")
    gates.add_argument("-t", "--template", type=Path, default=PROJECT_ROOT / "template.yaml",
                       help="the SAM template whose static gates are checked")
    gates.add_argument("--report", type=Path, help="use a gate report from a test run instead of running tests")
    gates.set_defaults(func=cmd_gates)

    from tenantkit_local.cli_local import register as register_local

    register_local(sub)  # `local invoke|start-api|up`

    demo = sub.add_parser("demo", help="the main job: local stack, traffic, compaction, tenant tables")
    _audit_store(demo, "the demo resets and writes")
    demo.add_argument("--synthetic-requests", type=int, default=12_000, metavar="N",
                      help="requests in the synthetic day written through the sink (default 12000; 0 = none)")
    demo.set_defaults(func=cmd_demo)

    schema = sub.add_parser("schema", help="contract documents exported from the layer")
    schema_sub = schema.add_subparsers(dest="schema_command", required=True)
    export = schema_sub.add_parser("export", help="write docs/schemas/*.json from the code")
    export.add_argument("--check", action="store_true", help="exit 1 if an exported file is stale")
    export.set_defaults(func=cmd_schema_export)

    compact = sub.add_parser("compact", help="compact one day of the local audit raw zone into curated Parquet")
    compact.add_argument("--dt", type=_day, metavar="YYYY-MM-DD", help="the UTC day to compact")
    compact.add_argument("--from", dest="from_dt", type=_day, metavar="YYYY-MM-DD",
                         help="first UTC day of a catch-up (with --to)")
    compact.add_argument("--to", dest="to_dt", type=_day, metavar="YYYY-MM-DD",
                         help="last UTC day of a catch-up (with --from), inclusive")
    _audit_store(compact, "to compact")
    compact.set_defaults(func=cmd_compact)

    query = sub.add_parser("query", help="run a query-pack query on DuckDB over the local audit zones")
    query.add_argument("name", nargs="?", help="<pack>/<name>, or <name> when unique (see --list)")
    query.add_argument("--list", action="store_true", help="list the packs, their queries and parameters")
    query.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                       help="an execution parameter, e.g. --param from_dt=2026-11-27 (repeat for each)")
    query.add_argument("-f", "--format", choices=["table", "json", "csv"], default="table",
                       help="output format (default: table)")
    _audit_store(query, "to query")
    query.set_defaults(func=cmd_query)

    dashboard = sub.add_parser("dashboard", help="render the tenant dashboard (static HTML) from the query packs")
    _audit_store(dashboard, "to read")
    dashboard.add_argument("--from", dest="from_dt", type=_day, metavar="YYYY-MM-DD",
                           help="first UTC day (default: the first curated partition)")
    dashboard.add_argument("--to", dest="to_dt", type=_day, metavar="YYYY-MM-DD",
                           help="last UTC day (default: the last curated partition)")
    dashboard.add_argument("-o", "--out", type=Path, help="output file (default: .tenantkit/dashboard.html)")
    dashboard.set_defaults(func=cmd_dashboard)

    from tenantkit_local.release.cli import register as register_release

    register_release(sub)  # `release evidence|verify`, `tf backend-config|terragrunt-gate`
    from tenantkit_local.session_keys import register as register_sessions

    register_sessions(sub)  # `sessions migrate-keys`

    from tenantkit_local.deploy.cli import register as register_deploy

    register_deploy(sub)  # `deploy plan|tfvars|sam-overrides`

    from tenantkit_local.tenants.cli import register as register_tenants

    register_tenants(sub)  # `tenants list|onboard|suspend|resume|offboard|init|unlock`, `apps ...`

    from tenantkit_local.traces import register as register_traces

    register_traces(sub)  # `traces [trace id] [--last]`

    from tenantkit_local.redrive import register as register_audit

    register_audit(sub)  # `audit redrive`
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("tenantkit: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a CLI prints one clear line, never a traceback
        if os.environ.get("TENANTKIT_DEBUG"):
            raise
        if is_user_error(exc):
            print(f"tenantkit: {_one_line(exc)}", file=sys.stderr)
            return 2
        print(f"tenantkit: internal error: {type(exc).__name__}: {_one_line(exc)} "
              "(set TENANTKIT_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1


def is_user_error(exc: BaseException) -> bool:
    """Errors a user fixes by changing an argument, a file or the environment."""
    from tenantkit.exceptions import TenantkitError
    from tenantkit_local import AuditStoreError
    from tenantkit_local.local_issuer_service import IssuerPortError
    from tenantkit_local.personas import ClaimsOverrideError, UnknownPersonaError
    from tenantkit_local.stack import PortInUseError
    from tenantkit_local.template import TemplateError

    user_errors = (IssuerPortError, UnknownPersonaError, ClaimsOverrideError, TemplateError, PortInUseError,
                   AuditStoreError, TenantkitError, OSError, ValueError, LookupError)
    return isinstance(exc, user_errors)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 400 else text[:397] + "..."


if __name__ == "__main__":
    sys.exit(main())
