"""Shared by the tracing and canary tests: a stand-in X-Ray daemon (UDP on 127.0.0.1), the
switches that put the real X-Ray SDK in Lambda mode inside this process, and a runner for
template.yaml functions over the recorded events.

The X-Ray SDK and Powertools Tracer keep process-wide state (the recorder's context, emitter
and sampler, the SDK enabled flag, Tracer's class-level config, tenantkit's tracer cache).
``lambda_tracing`` sets each of these with ``monkeypatch``, so a test sees what a fresh Lambda
sandbox would (``LAMBDA_TASK_ROOT`` set before the SDK decides its mode) and the process is
restored afterwards.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tenantkit_local.events import event_files, load_event
from tenantkit_local.runner import FunctionRunner
from tenantkit_local.template import function_spec, load_env_vars

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template.yaml"
TRACE_ROOT = "1-5759e988-bd862e3fe1be46a994272793"
TRACE_HEADER = f"Root={TRACE_ROOT};Parent=53995c3f42cd8ad8;Sampled=1"
PROTOCOL_HEADER = {"format": "json", "version": 1}


class XrayDaemon:
    """Receives what the SDK's UDP emitter sends; every datagram is kept in ``datagrams``."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self.datagrams: list[bytes] = []

    @property
    def address(self) -> str:
        host, port = self._socket.getsockname()
        return f"{host}:{port}"

    def receive(self, timeout: float = 0.3) -> list[bytes]:
        """Datagrams that arrived since the last call (waits ``timeout`` for a first or next one)."""
        received: list[bytes] = []
        self._socket.settimeout(timeout)
        while True:
            try:
                received.append(self._socket.recv(65535))
            except TimeoutError:
                break
            self._socket.settimeout(0.05)
        self.datagrams.extend(received)
        return received

    def close(self) -> None:
        self._socket.close()


def parse_datagram(datagram: bytes) -> dict[str, Any]:
    """One daemon message: the protocol header line, a newline, one JSON trace document."""
    header, _, body = datagram.decode("utf-8").partition("\n")
    assert json.loads(header) == PROTOCOL_HEADER, header
    document = json.loads(body)
    assert isinstance(document, dict)
    return document


def subsegments_named(documents: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    found = []
    for document in documents:
        stack = [document]
        while stack:
            entity = stack.pop()
            if entity.get("name") == name:
                found.append(entity)
            stack.extend(entity.get("subsegments", []))
    return found


def lambda_tracing(monkeypatch: pytest.MonkeyPatch, daemon: XrayDaemon, function_name: str) -> Callable[[], None]:
    """Trace like a Lambda function with active tracing, sending to ``daemon``.

    Returns the cleanup to call at teardown (monkeypatch restores the rest)."""
    monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", daemon.address)
    monkeypatch.setenv("_X_AMZN_TRACE_ID", TRACE_HEADER)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", function_name)
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")
    monkeypatch.setenv("AWS_XRAY_CONTEXT_MISSING", "LOG_ERROR")
    for name in ("POWERTOOLS_TRACE_DISABLED", "AWS_SAM_LOCAL", "CHALICE_LOCAL", "AWS_XRAY_SDK_ENABLED"):
        monkeypatch.delenv(name, raising=False)

    import aws_xray_sdk
    from aws_lambda_powertools.tracing.tracer import Tracer
    from aws_xray_sdk.core import xray_recorder
    from aws_xray_sdk.core.emitters.udp_emitter import UDPEmitter
    from aws_xray_sdk.core.lambda_launcher import LambdaContext
    from aws_xray_sdk.core.sampling.local.sampler import LocalSampler

    from tenantkit.observability import tracing

    # What the recorder picks when LAMBDA_TASK_ROOT is set at import (the SDK may have been
    # imported earlier in this process): the Lambda context, local sampling, streaming of
    # every closed subsegment; plus an emitter aimed at this daemon.
    emitter = UDPEmitter(daemon.address)
    monkeypatch.setattr(xray_recorder, "_context", LambdaContext())
    monkeypatch.setattr(xray_recorder, "_sampler", LocalSampler())
    monkeypatch.setattr(xray_recorder, "_emitter", emitter)
    monkeypatch.setattr(xray_recorder.streaming, "streaming_threshold", 0)
    monkeypatch.setattr(Tracer, "_config", dict(Tracer._default_config))
    monkeypatch.setattr(tracing, "_tracers", {})
    was_enabled = aws_xray_sdk.global_sdk_config.sdk_enabled()
    aws_xray_sdk.global_sdk_config.set_sdk_enabled(True)

    def cleanup() -> None:
        emitter._socket.close()
        aws_xray_sdk.global_sdk_config.set_sdk_enabled(was_enabled)

    return cleanup


def function_runner(logical_id: str, **overrides: str) -> FunctionRunner:
    """A runner for a template.yaml function with local/env.json plus ``overrides`` (which, as
    with ``sam local invoke --env-vars``, only apply to variables the template declares)."""
    env_vars = load_env_vars(ROOT / "local" / "env.json")
    env_vars.setdefault(logical_id, {}).update(overrides)
    return FunctionRunner(function_spec(TEMPLATE, logical_id, env_vars=env_vars))


def recorded_events(folder: str) -> list[tuple[str, dict[str, Any]]]:
    return [(path.stem, load_event(path)) for path in event_files([ROOT / "events" / folder])]


def json_lines(lines: list[str]) -> list[dict[str, Any]]:
    """Every line parsed as one JSON object (fails on anything else)."""
    parsed = []
    for line in lines:
        value = json.loads(line)
        assert isinstance(value, dict), line
        parsed.append(value)
    return parsed


def emf_lines(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if "_aws" in r]


def meter_each_decision(runner: FunctionRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the authorizer function also emit one EMF metric per invocation, from its decision
    (app, outcome, route), inside the invocation under ``@observe`` as a metering handler would."""
    from tenantkit.observability import current_state
    from tenantkit.observability.metrics import emit_metric

    module = runner._load()
    inner = module.authorizer

    class MeteredAuthorizer:
        def handle(self, event: Any, context: Any) -> Any:
            try:
                return inner.handle(event, context)
            finally:
                state = current_state()
                assert state is not None
                route = f"{event.get('httpMethod')} {event.get('resource')}" if isinstance(event, dict) else None
                emit_metric("AuthorizerDecision", 1, "Count", app_id=state.identity.get("app_id"),
                            outcome=state.outcome, route=route)

    monkeypatch.setattr(module, "authorizer", MeteredAuthorizer())
