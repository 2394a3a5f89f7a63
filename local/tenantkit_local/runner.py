"""Invoke a function of ``template.yaml`` in-process, like ``sam local invoke`` without Docker.

One runner per function keeps the imported module alive between invocations (a warm
container); the module is imported under the function's environment so init code reads the
same variables it would in Lambda.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from tenantkit_local.template import FunctionSpec


@dataclass
class LocalLambdaContext:
    function_name: str
    memory_limit_in_mb: int = 512
    timeout_seconds: int = 10
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = f"local/{self.aws_request_id}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class Invocation:
    function: str
    response: Any
    error_type: str | None
    error_message: str | None
    log_lines: list[str]
    duration_ms: float

    def log_records(self) -> list[dict[str, Any]]:
        records = []
        for line in self.log_lines:
            try:
                parsed = json.loads(line)
            except ValueError:
                continue
            if isinstance(parsed, dict):
                records.append(parsed)
        return records


@contextlib.contextmanager
def patched_environ(values: dict[str, str]) -> Iterator[None]:
    """The function's environment for the block. The layer reads its observability settings once
    per process (a Lambda environment never changes); this process hosts several functions, so
    they are forgotten at each swap and read again under the function's own variables."""
    from tenantkit.observability.settings import reset_observability_settings

    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    reset_observability_settings()
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old
        reset_observability_settings()


class FunctionRunner:
    def __init__(self, spec: FunctionSpec) -> None:
        self.spec = spec
        self._module: ModuleType | None = None
        self.init_log_lines: list[str] = []

    def _load(self) -> ModuleType:
        if self._module is not None:
            return self._module
        path = self.spec.code_dir / f"{self.spec.module.replace('.', '/')}.py"
        name = f"tenantkit_fn_{self.spec.logical_id}_{uuid.uuid4().hex[:8]}"
        module_spec = importlib.util.spec_from_file_location(name, path)
        if module_spec is None or module_spec.loader is None:
            raise ImportError(f"cannot load handler module {path}")
        module = importlib.util.module_from_spec(module_spec)
        sys.path.insert(0, str(self.spec.code_dir))
        buffer = io.StringIO()
        try:
            with patched_environ(self._lambda_environ()), contextlib.redirect_stdout(buffer):
                module_spec.loader.exec_module(module)
        finally:
            sys.path.remove(str(self.spec.code_dir))
            self.init_log_lines = buffer.getvalue().splitlines()
        self._module = module
        return module

    def _lambda_environ(self) -> dict[str, str]:
        return {
            "AWS_LAMBDA_FUNCTION_NAME": self.spec.logical_id,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.spec.memory_mb),
            "AWS_REGION": os.environ.get("AWS_REGION", "us-east-1"),
            **self.spec.environment,
        }

    def invoke(self, event: Any, environ: dict[str, str] | None = None) -> Invocation:
        """``environ``: per-invocation variables the Lambda runtime sets (``_X_AMZN_TRACE_ID``)."""
        module = self._load()
        handler = getattr(module, self.spec.function)
        context = LocalLambdaContext(
            function_name=self.spec.logical_id, memory_limit_in_mb=self.spec.memory_mb,
            timeout_seconds=self.spec.timeout_seconds,
        )
        buffer = io.StringIO()
        response: Any = None
        error_type = error_message = None
        started = time.perf_counter()
        with patched_environ({**self._lambda_environ(), **(environ or {})}), contextlib.redirect_stdout(buffer):
            try:
                response = handler(event, context)
            except Exception as exc:  # reported like Lambda's errorType/errorMessage
                error_type, error_message = type(exc).__name__, str(exc)
        duration = (time.perf_counter() - started) * 1000
        return Invocation(self.spec.logical_id, response, error_type, error_message,
                          buffer.getvalue().splitlines(), duration)
