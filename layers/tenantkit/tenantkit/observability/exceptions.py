"""Errors of the observability contract."""

from __future__ import annotations

from tenantkit.exceptions import TenantkitError

__all__ = [
    "CollectorTimeoutError",
    "ForbiddenDimensionError",
    "SpanValueUnsupportedError",
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


class SpanValueUnsupportedError(TenantkitError, ValueError):
    """A span attribute value the hand-written OTLP encoder does not write (an int past int64).

    Caught inside the encoder: that batch is encoded by opentelemetry's own encoder instead."""

    reason = "span_value_unsupported"
