"""``tenantkit local invoke|start-api|up``: the SAM CLI's local commands, in-process.

``invoke`` is ``sam local invoke FunctionName -e event.json --env-vars env.json``;
``start-api`` is ``sam local start-api`` (the API and its functions, nothing else);
``up`` is the whole platform (API, issuer, moto, fake agent, audit sink into the local zone).
A running ``start-api``/``up`` writes ``<state dir>/local-stack.json`` (the ``--json`` ready
line) for other commands to find it, and removes it when it stops on SIGINT, SIGTERM or SIGHUP,
even when started from a script whose shell set SIGINT to be ignored.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tenantkit_local import state_dir

STACK_FILE = "local-stack.json"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def running_stack_info(directory: Path | None = None) -> dict[str, Any] | None:
    """The ready info of a running ``local up``/``start-api`` under the state dir, if any."""
    path = (directory or state_dir()) / STACK_FILE
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    pid = info.get("pid")
    if not isinstance(pid, int):
        return None
    try:
        os.kill(pid, 0)  # a stack that died without cleanup left a stale file
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return info


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """An event set by SIGINT/SIGTERM/SIGHUP; the previous handlers are restored afterwards.

    Handlers are installed explicitly because a non-interactive shell starts background jobs
    with SIGINT ignored, and Python's default SIGTERM action skips every ``finally``.
    """
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in STOP_SIGNALS}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _overrides(items: list[str]) -> dict[str, str]:
    pairs = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise argparse.ArgumentTypeError(f"--parameter-overrides takes KEY=VALUE, got {item!r}")
        pairs[name] = value
    return pairs


def _serve(args: argparse.Namespace, *, audit_pipeline: bool) -> int:
    from tenantkit_local.stack import LocalStack, StackConfig
    from tenantkit_local.template import load_env_vars

    if args.state_dir:
        os.environ["TENANTKIT_STATE_DIR"] = str(args.state_dir.resolve())
    echo = None if args.quiet or args.json else (lambda line: print(line, flush=True))
    config = StackConfig(gateway_port=args.port, issuer_port=args.issuer_port, echo=echo, otlp_port=args.otlp_port,
                         env_var_overrides=load_env_vars(args.env_vars) if args.env_vars else {},
                         parameter_overrides=_overrides(args.parameter_overrides),
                         audit_pipeline=audit_pipeline)
    if getattr(args, "audit_store", None):
        config.audit_root = args.audit_store
    with stop_on_signals() as stop:
        stack = LocalStack(config).start()
        stack_file = state_dir() / STACK_FILE
        try:
            info = {**stack.ready_info(), "pid": os.getpid()}
            stack_file.write_text(json.dumps(info, indent=2) + "\n")
            if args.json:
                print(json.dumps(info), flush=True)
            else:
                _print_banner(info)
            stop.wait()
        finally:
            stack.stop()
            stack_file.unlink(missing_ok=True)
            if args.json:
                print(json.dumps({"event": "stopped"}), flush=True)
            else:
                print("stopped", file=sys.stderr)
    return 0


def _print_banner(info: dict[str, Any]) -> None:
    lines = [
        f"API Gateway  {info['api_url']}  (stage routes: /v1/whoami, /v1/{{proxy+}})",
        f"OIDC issuer  {info['issuer_jwks_uri']}",
        f"moto         {info['moto_endpoint']}",
        f"fake agent   {info['agent_url']}  (what it received: GET {info['agent_received_url']})",
        f"audit store  {info['audit_store'] or '- (start-api: audit lines stay in the function logs)'}",
        f"OTLP traces  {info['otlp_endpoint']} -> {info['traces_dir']}  (tenantkit traces --last)",
        f"state dir    {info['state_dir']}",
        f"try: curl -H \"Authorization: Bearer $(tenantkit token --persona acme-user-v2)\" {info['api_url']}/v1/me",
        "Ctrl-C (or SIGTERM) to stop",
    ]
    for line in lines:
        print(line, file=sys.stderr, flush=True)


def cmd_local_up(args: argparse.Namespace) -> int:
    return _serve(args, audit_pipeline=True)


def cmd_local_start_api(args: argparse.Namespace) -> int:
    return _serve(args, audit_pipeline=False)


def _serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-p", "--port", type=int, default=3000,
                        help="API Gateway emulator port on 127.0.0.1 (0 = any free port; default 3000)")
    parser.add_argument("--issuer-port", type=int, default=18080,
                        help="local OIDC issuer (JWKS) port on 127.0.0.1 (0 = any free port; default 18080)")
    parser.add_argument("--otlp-port", type=int, default=4318,
                        help="local OTLP/HTTP trace receiver port (0 = any free port; default 4318, the collector's)")
    parser.add_argument("-n", "--env-vars", type=Path,
                        help="SAM-format JSON {\"FunctionId\": {\"VAR\": \"value\"}, \"Parameters\": {...}} "
                             "applied over local/env.json")
    parser.add_argument("--parameter-overrides", nargs="*", default=[], metavar="KEY=VALUE",
                        help="template parameter values, e.g. AuthorizerCacheTtl=0")
    parser.add_argument("--state-dir", type=Path,
                        help="where keys, the stack file and (by default) the audit store live "
                             "(default: .tenantkit, or TENANTKIT_STATE_DIR)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON ready line on stdout (URLs, ports, state dir) and a stopped line")
    parser.add_argument("--quiet", action="store_true", help="do not stream function logs")


def register(sub: Any) -> None:
    """Adds ``local invoke|start-api|up`` to the ``tenantkit`` parser."""
    from tenantkit_local.cli import _common, cmd_invoke

    local = sub.add_parser("local", help="SAM-style local commands: invoke, start-api, up")
    local_sub = local.add_subparsers(dest="local_command", required=True)

    invoke = local_sub.add_parser("invoke", help="invoke a template function in-process with an event "
                                                 "(like `sam local invoke`)")
    invoke.add_argument("function", help="logical id in template.yaml, e.g. AuthorizerFunction")
    invoke.add_argument("-e", "--event", type=Path, required=True,
                        help="event JSON; {{token:<persona>}} references are minted on the fly")
    _common(invoke)
    invoke.set_defaults(func=cmd_invoke)

    start_api = local_sub.add_parser("start-api", help="the API Gateway emulator with the template's functions "
                                                       "(like `sam local start-api`)")
    _serve_arguments(start_api)
    start_api.set_defaults(func=cmd_local_start_api)

    up = local_sub.add_parser("up", help="the whole platform: API, issuer, moto, fake agent, audit sink")
    _serve_arguments(up)
    up.add_argument("--audit-store", type=Path,
                    help="audit zones root the sink writes (default: AUDIT_STORE, else <state dir>/audit)")
    up.set_defaults(func=cmd_local_up)


