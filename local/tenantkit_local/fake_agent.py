"""A fake agent runtime on 127.0.0.1 that records and echoes the outbound identity it got.

Used by the integration tests and the local stack: it proves which headers crossed the BFF
(envelope headers, traceparent, baggage) and which did not (the inbound token, cookies).
``GET /_received`` answers what it has received so far (path, headers, body) as JSON, so a
script driving ``tenantkit local up`` can inspect the upstream's view; ``DELETE /_received``
forgets it.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler

from tenantkit_local.loopback import LoopbackHttpServer, QuietJsonHandler

RECEIVED_PATH = "/_received"


@dataclass
class ReceivedRequest:
    path: str
    headers: dict[str, str]
    body: bytes

    def as_json(self) -> dict[str, object]:
        try:
            body: object = json.loads(self.body) if self.body else None
        except ValueError:
            body = self.body.decode("utf-8", errors="replace")
        return {"path": self.path, "headers": self.headers, "body": body}


class FakeAgentRuntime(LoopbackHttpServer):
    thread_name = "fake-agent"

    def __init__(self, *, port: int = 0, delay_seconds: float = 0.0) -> None:
        self.received: list[ReceivedRequest] = []
        self.delay_seconds = delay_seconds
        self.fail_with: int | None = None
        self.usage = {"input_tokens": 42, "output_tokens": 7}
        self._lock = threading.Lock()
        super().__init__(self._handler(), port=port)

    @property
    def url(self) -> str:
        return f"{self.base_url}/invocations"

    @property
    def received_url(self) -> str:
        return f"{self.base_url}{RECEIVED_PATH}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        agent = self

        class Handler(QuietJsonHandler):
            def do_GET(self) -> None:
                if self.path.split("?", 1)[0] != RECEIVED_PATH:
                    self.send_json(404, b'{"error":"not found"}')
                    return
                with agent._lock:
                    received = [r.as_json() for r in agent.received]
                self.send_json(200, json.dumps({"count": len(received), "requests": received}).encode())

            def do_DELETE(self) -> None:
                if self.path.split("?", 1)[0] != RECEIVED_PATH:
                    self.send_json(404, b'{"error":"not found"}')
                    return
                with agent._lock:
                    agent.received.clear()
                self.send_json(200, b'{"count":0,"requests":[]}')

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
                with agent._lock:
                    agent.received.append(ReceivedRequest(self.path, dict(self.headers.items()), body))
                if agent.delay_seconds:
                    time.sleep(agent.delay_seconds)
                if agent.fail_with is not None:
                    self.send_json(agent.fail_with, b'{"error":"agent failure"}')
                    return
                identity = {k: v for k, v in self.headers.items() if k.lower().startswith("x-")
                            or k.lower() in ("traceparent", "baggage")}
                try:
                    message = json.loads(body or b"{}")
                except ValueError:
                    message = None
                reply = {"reply": f"echo: {message.get('text', '') if isinstance(message, dict) else ''}",
                         "received_identity": identity, "usage": agent.usage}
                self.send_json(200, json.dumps(reply).encode())

        return Handler
