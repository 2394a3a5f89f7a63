"""OTLP/HTTP (protobuf) export that fits Lambda: spans of one invocation are held in memory and
sent once, before the invocation returns, within a hard deadline.

Why not the SDK's ``BatchSpanProcessor`` + ``OTLPSpanExporter``: the batch worker thread is
frozen with the process between invocations, and the exporter retries with back-off for up to
its own timeout (10 s by default) through ``requests``. Here one attempt is made per flush on a
kept-alive, pipelined HTTP/1.1 connection (``otlp_http``) whose every socket operation is
bounded by what is left of the deadline. The flush writes the request and returns; answers are
read when they have arrived (during the invocation or while the process was frozen), so the
round trip is off the request path while the bytes are out of the process before the freeze.
A collector that refuses, hangs or answers an error costs a request at most the bound, and
those spans are dropped (a line on stderr, at most once a minute, says so).
The payload is the standard ``ExportTraceServiceRequest``, written by ``otlp_proto`` exactly as
opentelemetry-exporter-otlp-proto-common writes it, without loading the protobuf runtime.
"""

from __future__ import annotations

import random
import sys
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.id_generator import IdGenerator

from tenantkit.aws import sigv4_headers
from tenantkit.observability.otlp_http import PipelinedHttpConnection
from tenantkit.observability.otlp_proto import encode_export_request  # with the pipeline, not in a flush
from tenantkit.observability.settings import OtelSettings, lambda_region

MAX_SPANS_PER_INVOCATION = 512
_WARN_INTERVAL_SECONDS = 60.0


@dataclass(frozen=True)
class ExportSettings:
    endpoint: str
    flush_timeout_s: float
    sigv4_region: str | None  # set: sign each export for the X-Ray OTLP endpoint (service "xray")

    @classmethod
    def from_env(cls) -> ExportSettings:
        """From the validated :class:`OtelSettings` (a bad value is a ``ConfigurationError``)."""
        return cls.from_settings(OtelSettings.from_env())

    @classmethod
    def from_settings(cls, settings: OtelSettings) -> ExportSettings:
        endpoint = settings.traces_endpoint
        host = urlsplit(endpoint).hostname or ""
        xray_endpoint = host.startswith("xray.") and host.endswith(".amazonaws.com")
        region = None
        if settings.sigv4 or (settings.sigv4 is None and xray_endpoint):
            region = host.split(".")[1] if host.startswith("xray.") else lambda_region() or "us-east-1"
        return cls(endpoint, settings.flush_timeout_ms / 1000, region)


class XrayCompatibleIdGenerator(IdGenerator):
    """W3C ids whose first 32 bits are the epoch seconds, as X-Ray trace ids are, so one trace id
    is valid for the X-Ray OTLP endpoint, the ADOT collector and any W3C hop."""

    # random.getrandbits, as the SDK's RandomIdGenerator: ids must be unique, not secret.
    def generate_span_id(self) -> int:
        return random.getrandbits(64) or 1

    def generate_trace_id(self) -> int:
        return (int(time.time()) << 96) | random.getrandbits(96)


class OtlpHttpSpanExporter:
    """POST one ``ExportTraceServiceRequest`` per flush; every socket operation bounded by the deadline."""

    def __init__(self, settings: ExportSettings) -> None:
        parts = urlsplit(settings.endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("OTLP endpoint must be an http(s) URL")
        self.settings = settings
        https = parts.scheme == "https"
        self._connection = PipelinedHttpConnection(parts.hostname, parts.port or (443 if https else 80),
                                                   parts.path or "/v1/traces", https=https)
        self._in_flight: deque[int] = deque()  # span counts of the exports not answered yet
        self.exported = 0
        self.failures = 0
        self.last_error: str | None = None
        self._last_warning = 0.0

    def export(self, spans: Sequence[ReadableSpan], deadline: float) -> bool:
        try:
            body = encode_export_request(spans)
        except Exception as error:  # a value no encoder writes (text that is not UTF-8): drop the batch
            return self._failed(type(error).__name__)
        headers = {"Content-Type": "application/x-protobuf", "Content-Length": str(len(body))}
        try:
            if self.settings.sigv4_region:
                headers = _sigv4(self.settings.endpoint, body, headers, self.settings.sigv4_region)
            answered = self._connection.post(body, headers, deadline)
        except Exception as error:  # signing or transport failure: drop the batch, never fail the request
            return self._reset(error)
        ok = self._account(answered)
        self._in_flight.append(len(spans))
        return ok

    def settle(self, timeout_s: float) -> bool:
        """Wait (bounded) for every outstanding answer: tests, benches and shutdown."""
        try:
            answered = self._connection.collect(time.monotonic() + timeout_s, wait_for=len(self._in_flight))
        except Exception as error:
            return self._reset(error)
        return self._account(answered)

    def _account(self, statuses: list[int]) -> bool:
        ok = True
        for status in statuses:
            count = self._in_flight.popleft() if self._in_flight else 0
            if status >= 300:
                ok = self._failed(f"HTTP {status}")
            else:
                self.exported += count
        if not self._connection.in_flight:
            self._in_flight.clear()  # the connection was closed by the collector: those are lost
        return ok

    def _reset(self, error: BaseException) -> bool:
        self._connection.close()
        self._in_flight.clear()
        return self._failed(type(error).__name__)

    def _failed(self, error: str) -> bool:
        self.failures += 1
        self.last_error = error
        now = time.monotonic()
        if now - self._last_warning >= _WARN_INTERVAL_SECONDS:
            self._last_warning = now
            # stderr, not the contract log: a collector outage must not change the audit/log stream.
            sys.stderr.write(f"tenantkit tracing: span export failed ({error}); spans dropped\n")
        return False

    def shutdown(self) -> None:
        self.settle(self.settings.flush_timeout_s)
        self.close()

    def close(self) -> None:
        """Drop the connection without waiting for outstanding answers."""
        self._connection.close()
        self._in_flight.clear()


class InvocationSpanProcessor(SpanProcessor):
    """Collects the sampled spans of the running invocation; ``flush`` exports them in one request."""

    def __init__(self, exporter: OtlpHttpSpanExporter) -> None:
        self.exporter = exporter
        self._spans: list[ReadableSpan] = []
        self._lock = threading.Lock()
        self.dropped = 0

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        if not span.context.trace_flags.sampled:
            return
        with self._lock:
            if len(self._spans) < MAX_SPANS_PER_INVOCATION:
                self._spans.append(span)
            else:
                self.dropped += 1

    def flush(self, timeout_s: float | None = None) -> bool:
        with self._lock:
            spans, self._spans = self._spans, []
        if not spans:
            return True
        timeout = self.exporter.settings.flush_timeout_s if timeout_s is None else timeout_s
        return self.exporter.export(spans, time.monotonic() + timeout)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.flush(timeout_millis / 1000)

    def shutdown(self) -> None:
        self.exporter.shutdown()


def _sigv4(url: str, body: bytes, headers: dict[str, str], region: str) -> dict[str, str]:
    """Sign for the X-Ray OTLP endpoint with the function's own role; without credentials (never
    in Lambda) the export fails closed: OSError, the spans are dropped."""
    try:
        return sigv4_headers(url, body, headers, service="xray", region=region)
    except LookupError as error:
        raise OSError(str(error)) from None
