"""A JWKS/OIDC discovery server on 127.0.0.1, with switches for outage and rotation tests."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler

from tenantkit_local.loopback import LoopbackHttpServer, QuietJsonHandler

JWKS_PATH = "/common/discovery/v2.0/keys"


class JwksServer(LoopbackHttpServer):
    """Serves one JWKS document and OIDC discovery documents; counts JWKS requests.

    ``document`` is read on every request, so tests rotate keys by assigning it, and
    ``fail_with`` (an HTTP status) simulates an IdP outage.
    """

    thread_name = "jwks-server"

    def __init__(self, document: bytes | Callable[[], bytes], *, host: str = "127.0.0.1", port: int = 0,
                 delay_seconds: float = 0.0) -> None:
        self._document = document
        self.fail_with: int | None = None
        self.delay_seconds = delay_seconds
        self.jwks_requests = 0
        self._count_lock = threading.Lock()
        super().__init__(self._handler_class(), host=host, port=port)

    @property
    def jwks_uri(self) -> str:
        return self.base_url + JWKS_PATH

    def set_document(self, document: bytes | Callable[[], bytes]) -> None:
        self._document = document

    def _body(self) -> bytes:
        return self._document() if callable(self._document) else self._document

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(QuietJsonHandler):
            def do_GET(self) -> None:
                import time

                path = self.path.split("?", 1)[0]
                if path.endswith("/discovery/v2.0/keys") or path.endswith("/discovery/keys"):
                    with server._count_lock:
                        server.jwks_requests += 1
                    if server.delay_seconds:
                        time.sleep(server.delay_seconds)
                    if server.fail_with is not None:
                        self.send_json(server.fail_with, b'{"error":"unavailable"}')
                        return
                    self.send_json(200, server._body())
                elif path.endswith("/.well-known/openid-configuration"):
                    issuer = path[: -len("/.well-known/openid-configuration")]
                    self.send_json(200, json.dumps({
                        "issuer": f"{server.base_url}{issuer}",
                        "jwks_uri": server.jwks_uri,
                        "id_token_signing_alg_values_supported": ["RS256"],
                    }).encode())
                else:
                    self.send_json(404, b'{"error":"not found"}')


        return Handler
