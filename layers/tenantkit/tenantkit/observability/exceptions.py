"""Errors of the observability contract."""

from __future__ import annotations

from tenantkit.exceptions import TenantkitError

__all__ = [
    "CollectorTimeoutError",
    "ForbiddenDimensionError",
    "UnknownLogFieldError",
]


class ForbiddenDimensionError(TenantkitError, ValueError):
    """A metric dimension outside the contract (or an identity field) was requested."""

    reason = "metric_dimension_forbidden"


class UnknownLogFieldError(TenantkitError, KeyError):
    """A name bound as an identity log field that the log contract does not define."""

    reason = "log_field_unknown"


class CollectorTimeoutError(TenantkitError, TimeoutError):
    """The OTLP collector did not take or answer a span export before the flush deadline.

    Caught by the exporter: those spans are dropped, the request itself never fails."""

    reason = "trace_export_timeout"
