"""Per-request state that every log line, audit record and trace annotation reads.

Set by the handler decorator at the start of an invocation and by the code that learns the
caller's identity (``bind_identity``); read by the log formatter and the audit emitter, so no
call site has to pass the contract fields along by hand.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from tenantkit.observability.contract import IDENTITY_LOG_FIELDS
from tenantkit.observability.exceptions import UnknownLogFieldError

__all__ = [
    "RequestState",
    "begin_request",
    "bind_identity",
    "current_log_fields",
    "current_state",
    "end_request",
]


@dataclass
class RequestState:
    function_request_id: str | None = None
    cold_start: bool = False
    function_name: str | None = None
    outcome: str | None = None  # the last audited outcome, for the trace annotation
    # The rest of the last audit record a span reads (its route is already an id-free template).
    reason: str | None = None
    route: str | None = None
    status: int | None = None
    identity: dict[str, Any] = field(default_factory=lambda: dict.fromkeys(IDENTITY_LOG_FIELDS))


_current: ContextVar[RequestState | None] = ContextVar("tenantkit_request_state", default=None)
_cold = {"start": True}


def begin_request(context: Any, *, correlation_id: str | None = None) -> RequestState:
    """Start a fresh state for this invocation (the previous request's identity is dropped)."""
    state = RequestState(
        function_request_id=getattr(context, "aws_request_id", None),
        function_name=getattr(context, "function_name", None),
        cold_start=_cold["start"],
    )
    _cold["start"] = False
    state.identity["correlation_id"] = correlation_id or state.function_request_id
    _current.set(state)
    return state


def end_request() -> None:
    _current.set(None)


def current_state() -> RequestState | None:
    return _current.get()


def bind_identity(**fields: Any) -> None:
    """Record what is known of the caller; only contract identity fields are accepted."""
    state = _current.get()
    if state is None:
        return  # outside an observed invocation there is no request to attach identity to
    for name, value in fields.items():
        if name not in IDENTITY_LOG_FIELDS:
            raise UnknownLogFieldError(f"{name} is not an identity log field")
        if value is not None:
            state.identity[name] = value


def current_log_fields() -> dict[str, Any]:
    state = _current.get()
    if state is None:
        return {**dict.fromkeys(IDENTITY_LOG_FIELDS), "cold_start": None, "function_request_id": None}
    return {**state.identity, "cold_start": state.cold_start, "function_request_id": state.function_request_id}
