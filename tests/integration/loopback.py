"""Loopback test helpers: scripted (and slow) HTTP servers, env and port helpers."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from support.tokens import jwk_for, jwks_document, rsa_key
from tenantkit_local.jwks_server import JWKS_PATH

ROOT = Path(__file__).resolve().parents[2]
DOC_K1 = jwks_document(jwk_for(rsa_key(), "k1"))


def function_env(function: str = "AuthorizerFunction") -> dict[str, str]:
    """The variables local/env.json gives a function."""
    return dict(json.loads((ROOT / "local" / "env.json").read_text())[function])


def closed_port_uri() -> str:
    """A JWKS URI on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}{JWKS_PATH}"


class TinyServer:
    """A scripted HTTP server on 127.0.0.1: fixed status/headers/body (or raw bytes); counts requests.

    ``delay_seconds`` makes it a slow IdP: each answer waits that long, or until ``stop()``, which
    ends the wait so no handler thread outlives the test. Writes to a client that already gave up
    are dropped quietly (no tracebacks from server threads).
    """

    def __init__(self, status: int = 200, headers: dict[str, str] | None = None, body: bytes = b"",
                 raw: bytes | None = None, delay_seconds: float = 0.0) -> None:
        self.status, self.headers, self.body, self.raw = status, dict(headers or {}), body, raw
        self.delay_seconds = delay_seconds
        self.requests = 0
        self._count_lock = threading.Lock()
        self._stopping = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with server._count_lock:
                    server.requests += 1
                if server.delay_seconds:
                    server._stopping.wait(server.delay_seconds)
                try:
                    self._answer()
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client timed out or hung up first

            def _answer(self) -> None:
                if server.raw is not None:
                    self.wfile.write(server.raw)
                    self.close_connection = True
                    return
                self.send_response(server.status)
                for name, value in server.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(server.body)))
                self.end_headers()
                self.wfile.write(server.body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = False  # server_close() joins the handler threads
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="tiny-http", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def start(self) -> TinyServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
