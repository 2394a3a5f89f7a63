"""Integration fixtures: a shared JwksServer, tiny scripted HTTP servers, and a
guard that fails a module which leaves server threads running (helpers live in loopback.py)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from loopback import DOC_K1, TinyServer

from tenantkit_local.jwks_server import JwksServer


@pytest.fixture(scope="module")
def thread_guard() -> Iterator[None]:
    """Fails the module if any thread started during it is still alive after its fixtures stop."""
    before = set(threading.enumerate())
    yield
    leaked = [t for t in threading.enumerate() if t not in before]
    for thread in leaked:
        thread.join(timeout=5)
    alive = [t.name for t in leaked if t.is_alive()]
    assert not alive, f"threads left running: {alive}"


@pytest.fixture(scope="module")
def shared_jwks_server(thread_guard: None) -> Iterator[JwksServer]:
    server = JwksServer(DOC_K1).start()
    yield server
    server.stop()


@pytest.fixture
def jwks_server(shared_jwks_server: JwksServer) -> Iterator[JwksServer]:
    """The module's JwksServer, reset to serving DOC_K1 with a zero request count."""
    server = shared_jwks_server

    def reset() -> None:
        server.set_document(DOC_K1)
        server.fail_with = None
        server.delay_seconds = 0.0
        server.jwks_requests = 0

    reset()
    yield server
    reset()


@pytest.fixture
def own_jwks_server(thread_guard: None) -> Iterator[JwksServer]:
    """A JwksServer of the test's own, which the test may stop; stopped at teardown in any case."""
    server = JwksServer(DOC_K1).start()
    yield server
    server.stop()  # idempotent: a second shutdown returns at once


@pytest.fixture
def tiny_server(thread_guard: None) -> Iterator[type[TinyServer]]:
    """Factory: tiny_server(status=, headers=, body=, raw=, delay_seconds=) -> a started TinyServer."""
    started: list[TinyServer] = []

    def start(**kwargs: object) -> TinyServer:
        server = TinyServer(**kwargs).start()  # type: ignore[arg-type]
        started.append(server)
        return server

    yield start  # type: ignore[misc]
    for server in started:
        server.stop()
