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

from tenantkit.exceptions import TenantkitError
from tenantkit_local import PROJECT_ROOT, audit_store_default, state_dir
from tenantkit_local.apigw import LocalApiGateway
from tenantkit_local.cloud import LocalServices, environment
from tenantkit_local.issuer import LocalIssuer
from tenantkit_local.jwks_server import JwksServer
from tenantkit_local.otlp_receiver import TRACES_FILE, OtlpReceiver
from tenantkit_local.runner import FunctionRunner, Invocation
from tenantkit_local.template import function_spec, load_env_vars

AUDITED_FUNCTIONS = ("AuthorizerFunction", "BffProxyFunction")  # the log groups with subscription filters


class PortInUseError(TenantkitError, RuntimeError):
    pass


@dataclass
class StackConfig:
    gateway_port: int = 3000
    issuer_port: int = 18080
    audit_root: Path = field(default_factory=audit_store_default)
    template: Path = PROJECT_ROOT / "template.yaml"
    env_vars: Path = PROJECT_ROOT / "local" / "env.json"
    echo: Callable[[str], None] | None = None  # stream function logs to the console
    # A user's SAM-format env-vars file, applied over env_vars (``--env-vars``), and
    # ``--parameter-overrides`` for the template's parameters.
    env_var_overrides: dict[str, dict[str, str]] = field(default_factory=dict)
    parameter_overrides: dict[str, str] = field(default_factory=dict)
    # False for ``local start-api``: the API only; audit lines stay in the function logs.
    audit_pipeline: bool = True
    otlp_port: int = 0  # the local OTLP/HTTP receiver (`tenantkit local up` uses 4318, the collector's port)
    traces_root: Path = field(default_factory=lambda: state_dir() / "traces")


class LocalStack:
    def __init__(self, config: StackConfig | None = None, *, issuer: LocalIssuer | None = None) -> None:
        self.config = config or StackConfig()
        self.issuer = issuer or LocalIssuer()
        self.services = LocalServices(self.config.template)
        self.jwks: JwksServer | None = None
        self.gateway: LocalApiGateway | None = None
        self.receiver: OtlpReceiver | None = None
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
        try:
            self.receiver = OtlpReceiver(port=self.config.otlp_port,
                                         store=self.config.traces_root / TRACES_FILE).start()
        except OSError:
            self.jwks.stop()
            self.jwks = None
            raise PortInUseError(f"127.0.0.1:{self.config.otlp_port} (OTLP) is in use; pick --otlp-port") from None
        self.services.__enter__()
        self._env = environment(self.services.moto.environment())
        self._env.__enter__()
        env_vars = load_env_vars(self.config.env_vars)
        env_vars.setdefault("AuthorizerFunction", {})["OIDC_JWKS_URI"] = self.jwks.jwks_uri
        env_vars.setdefault("BffProxyFunction", {}).update(self.services.function_overrides())
        env_vars.setdefault("AuditSinkFunction", {})["AUDIT_STORE"] = str(self.config.audit_root)
        for name in (*AUDITED_FUNCTIONS, "AuditSinkFunction"):
            env_vars.setdefault(name, {}).update({
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": self.receiver.endpoint,
                # Locally a dropped span only confuses: allow a busy laptop (or CI box) its time.
                "TENANTKIT_TRACING_FLUSH_TIMEOUT_MS": "2000"})
        for scope, variables in self.config.env_var_overrides.items():  # the user's file wins, as in SAM
            env_vars.setdefault(scope, {}).update(variables)

        def runner(logical_id: str) -> FunctionRunner:
            return FunctionRunner(function_spec(self.config.template, logical_id, env_vars=env_vars,
                                                parameter_overrides=self.config.parameter_overrides,
                                                resource_names=self.services.resource_names))

        self.sink = runner("AuditSinkFunction")
        runners = {name: runner(name) for name in AUDITED_FUNCTIONS}
        try:
            self.gateway = LocalApiGateway(self.config.template, runners, port=self.config.gateway_port,
                                           on_invocation=self._after_invocation,
                                           parameter_overrides=self.config.parameter_overrides,
                                           trace_endpoint=self.receiver.endpoint).start()
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
        if self.receiver:
            self.receiver.stop()
            self.receiver = None

    @property
    def url(self) -> str:
        assert self.gateway is not None
        return self.gateway.url

    def ready_info(self) -> dict[str, Any]:
        """What a script needs to use the running stack (``local up --json`` prints it)."""
        assert self.gateway is not None and self.jwks is not None
        return {
            "event": "ready",
            "api_url": self.url,
            "api_port": self.gateway.port,
            "issuer_jwks_uri": self.jwks.jwks_uri,
            "issuer_port": self.jwks.port,
            "moto_endpoint": self.services.moto.endpoint,
            "agent_url": self.services.agent.url,
            "agent_received_url": self.services.agent.received_url,
            "tables": dict(self.services.resource_names),
            "otlp_endpoint": self.receiver.endpoint if self.receiver else None,
            "traces_dir": str(self.config.traces_root),
            "state_dir": str(state_dir()),
            "audit_store": str(self.config.audit_root) if self.config.audit_pipeline else None,
        }

    def _after_invocation(self, function: str, invocation: Invocation) -> None:
        if self.config.echo:
            for line in invocation.log_lines:
                self.config.echo(f"[{function}] {line}")
        audit_lines = [line for line in invocation.log_lines if '"record_type":"audit"' in line]
        if audit_lines and self.config.audit_pipeline:
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
