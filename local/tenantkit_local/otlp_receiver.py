"""A local OTLP/HTTP trace receiver on 127.0.0.1 (the stand-in for the ADOT collector).

``POST /v1/traces`` with an ``ExportTraceServiceRequest`` (protobuf) is decoded with
opentelemetry-proto; each span is kept in memory and appended as one JSON line to
``<state dir>/traces/spans.jsonl`` (what ``tenantkit traces`` and the dashboard read). The raw
payloads are kept too, so a test can look for secrets in every exported byte.

``behaviour`` lets tests play a broken collector: ``hang`` never answers, ``error`` answers 503.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from pathlib import Path
from typing import Any

from tenantkit_local.loopback import LoopbackHttpServer, QuietJsonHandler

TRACES_FILE = "spans.jsonl"
KINDS = {0: "unspecified", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
STATUS = {0: "unset", 1: "ok", 2: "error"}


def _value(any_value: Any) -> Any:
    kind = any_value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in any_value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in any_value.kvlist_value.values}
    if kind == "bytes_value":
        return any_value.bytes_value.hex()
    return getattr(any_value, kind) if kind else None


def decode_spans(payload: bytes) -> list[dict[str, Any]]:
    """One JSON-friendly dict per span of an OTLP/HTTP protobuf trace export."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    request = ExportTraceServiceRequest()
    request.ParseFromString(payload)
    spans = []
    for resource_spans in request.resource_spans:
        resource = {kv.key: _value(kv.value) for kv in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append({
                    "trace_id": span.trace_id.hex(), "span_id": span.span_id.hex(),
                    "parent_span_id": span.parent_span_id.hex() or None, "name": span.name,
                    "kind": KINDS.get(span.kind, str(span.kind)), "service": resource.get("service.name"),
                    "start_ns": span.start_time_unix_nano, "end_ns": span.end_time_unix_nano,
                    "attributes": {kv.key: _value(kv.value) for kv in span.attributes},
                    "events": [event.name for event in span.events],
                    "status": STATUS.get(span.status.code, str(span.status.code)),
                    "status_message": span.status.message, "resource": resource,
                    "scope": scope_spans.scope.name,
                })
    return spans


class OtlpReceiver(LoopbackHttpServer):
    thread_name = "local-otlp"

    def __init__(self, *, port: int = 0, store: Path | None = None, behaviour: str = "ok") -> None:
        self.store = store
        self.behaviour = behaviour
        self.spans: list[dict[str, Any]] = []
        self.payloads: list[bytes] = []
        self.requests = 0
        self._lock = threading.Lock()
        self._release = threading.Event()  # set on stop, so a hanging handler thread ends
        super().__init__(self._handler(), port=port)

    @property
    def endpoint(self) -> str:
        return f"{self.base_url}/v1/traces"

    def stop(self) -> None:
        self._release.set()
        super().stop()

    def accept(self, payload: bytes) -> int:
        with self._lock:
            self.requests += 1
        if self.behaviour == "hang":
            self._release.wait(30)
            return 503
        if self.behaviour == "error":
            return 503
        try:
            spans = decode_spans(payload)
        except Exception:  # a malformed export is the client's problem: 400, like a collector
            return 400
        with self._lock:
            self.payloads.append(payload)
            self.spans.extend(spans)
            if self.store is not None:
                self.store.parent.mkdir(parents=True, exist_ok=True)
                with self.store.open("a", encoding="utf-8") as out:
                    for span in spans:
                        out.write(json.dumps(span, separators=(",", ":")) + "\n")
        return 200

    def traces(self) -> dict[str, list[dict[str, Any]]]:
        with self._lock:
            grouped: dict[str, list[dict[str, Any]]] = {}
            for span in self.spans:
                grouped.setdefault(span["trace_id"], []).append(span)
        return grouped

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Spans received so far, after waiting (bounded) until at least ``count`` arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.spans) >= count:
                    break
            time.sleep(0.01)
        with self._lock:
            return list(self.spans)

    def _handler(self) -> type[QuietJsonHandler]:
        receiver = self

        class Handler(QuietJsonHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the exporter reuses its connection

            def handle(self) -> None:
                with contextlib.suppress(ConnectionError):  # an exporter closing its kept-alive connection
                    super().handle()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0") or 0)
                payload = self.rfile.read(length) if length else b""
                if self.path.split("?")[0] != "/v1/traces":
                    self.send_json(404, b"{}")
                    return
                status = receiver.accept(payload)
                # An empty ExportTraceServiceResponse is zero bytes of protobuf.
                self.send_response(status)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

        return Handler


def read_spans(store: Path) -> list[dict[str, Any]]:
    """Every span stored under ``store`` (a JSON-lines file written by the receiver)."""
    if not store.exists():
        return []
    spans = []
    for line in store.read_text(encoding="utf-8").splitlines():
        try:
            span = json.loads(line)
        except ValueError:
            continue
        if isinstance(span, dict) and "trace_id" in span:
            spans.append(span)
    return spans


def main() -> None:
    """``python -m tenantkit_local.otlp_receiver [--port N] [--store FILE]``: a receiver in its
    own process (benches: a collector is another process, not a thread sharing the GIL)."""
    import argparse
    import sys

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=4318)
    parser.add_argument("--store", type=Path)
    args = parser.parse_args()
    with OtlpReceiver(port=args.port, store=args.store) as receiver:
        print(receiver.endpoint, flush=True)
        sys.stdin.read()  # until the parent closes our stdin


if __name__ == "__main__":
    main()
