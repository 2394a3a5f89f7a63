"""The whole platform on 127.0.0.1: local OIDC issuer, moto with the template's tables, a fake
agent runtime, and the API Gateway emulator running the real authorizer and BFF handlers.

Audit lines that the functions write flow to the audit sink as CloudWatch Logs subscription
events (as the template's subscription filters deliver them), into a local-directory raw zone.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tenantkit_local import PROJECT_ROOT, state_dir
from tenantkit_local.apigw import LocalApiGateway
from tenantkit_local.cloud import LocalServices, environment
from tenantkit_local.issuer import LocalIssuer
from tenantkit_local.jwks_server import JwksServer
from tenantkit_local.runner import FunctionRunner, Invocation
from tenantkit_local.template import function_spec, load_env_vars

AUDITED_FUNCTIONS = ("AuthorizerFunction", "BffProxyFunction")  # the log groups with subscription filters


class PortInUseError(RuntimeError):
    pass


@dataclass
class StackConfig:
    gateway_port: int = 3000
    issuer_port: int = 18080
    audit_root: Path = field(default_factory=lambda: state_dir() / "audit")
    template: Path = PROJECT_ROOT / "template.yaml"
    env_vars: Path = PROJECT_ROOT / "local" / "env.json"
    echo: Callable[[str], None] | None = None  # stream function logs to the console


class LocalStack:
    def __init__(self, config: StackConfig | None = None, *, issuer: LocalIssuer | None = None) -> None:
        self.config = config or StackConfig()
        self.issuer = issuer or LocalIssuer()
        self.services = LocalServices(self.config.template)
        self.jwks: JwksServer | None = None
        self.gateway: LocalApiGateway | None = None
        self.sink: FunctionRunner | None = None
        self._env: Any = None
        self._sequence = 0
        self._sink_lock = threading.Lock()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> LocalStack:
        try:
            self.jwks = JwksServer(self.issuer.jwks_bytes(), port=self.config.issuer_port).start()
        except OSError:
            port = self.config.issuer_port
            raise PortInUseError(f"127.0.0.1:{port} (issuer) is in use; pick --issuer-port") from None
        self.services.__enter__()
        self._env = environment(self.services.moto.environment())
        self._env.__enter__()
        env_vars = load_env_vars(self.config.env_vars)
        env_vars.setdefault("AuthorizerFunction", {})["OIDC_JWKS_URI"] = self.jwks.jwks_uri
        env_vars.setdefault("BffProxyFunction", {}).update(self.services.function_overrides())
        env_vars.setdefault("AuditSinkFunction", {})["AUDIT_STORE"] = str(self.config.audit_root)

        def runner(logical_id: str) -> FunctionRunner:
            return FunctionRunner(function_spec(self.config.template, logical_id, env_vars=env_vars,
                                                resource_names=self.services.resource_names))

        self.sink = runner("AuditSinkFunction")
        runners = {name: runner(name) for name in AUDITED_FUNCTIONS}
        try:
            self.gateway = LocalApiGateway(self.config.template, runners, port=self.config.gateway_port,
                                           on_invocation=self._after_invocation).start()
        except OSError:
            self.stop()
            raise PortInUseError(f"127.0.0.1:{self.config.gateway_port} (API) is in use; pick --port") from None
        return self

    def stop(self) -> None:
        if self.gateway:
            self.gateway.stop()
            self.gateway = None
        if self._env is not None:
            self._env.__exit__(None, None, None)
            self._env = None
        self.services.__exit__(None, None, None)
        if self.jwks:
            self.jwks.stop()
            self.jwks = None

    @property
    def url(self) -> str:
        assert self.gateway is not None
        return self.gateway.url

    def _after_invocation(self, function: str, invocation: Invocation) -> None:
        if self.config.echo:
            for line in invocation.log_lines:
                self.config.echo(f"[{function}] {line}")
        audit_lines = [line for line in invocation.log_lines if '"record_type":"audit"' in line]
        if audit_lines:
            self.deliver_to_sink(function, audit_lines)

    def deliver_to_sink(self, function: str, lines: list[str]) -> dict[str, Any]:
        """One CloudWatch Logs subscription delivery of ``lines`` from ``function``'s log group."""
        import base64
        import gzip

        with self._sink_lock:
            self._sequence += 1
            now_ms = int(time.time() * 1000)  # CloudWatch Logs' ingestion time: the sink bounds ts by it
            payload = {"messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": f"/aws/lambda/{function}",
                       "logStream": "local", "subscriptionFilters": [f"{function}Audit"],
                       "logEvents": [{"id": f"{self._sequence:012d}{i:06d}", "timestamp": now_ms, "message": line}
                                     for i, line in enumerate(lines)]}
            event = {"awslogs": {"data": base64.b64encode(gzip.compress(json.dumps(payload).encode())).decode()}}
            assert self.sink is not None
            result = self.sink.invoke(event)
        if result.error_type:
            print(f"audit sink failed: {result.error_type}: {result.error_message}", file=sys.stderr)
        return result.response or {}
