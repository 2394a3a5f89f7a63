"""The observability settings every function reads, in one object validated once.

``ObservabilitySettings.from_env()`` is strict: a value outside its allowed set is a
:class:`~tenantkit.exceptions.ConfigurationError` naming the variable and the allowed values.
Each function's loader calls it at init (``load_authorizer``, ``load_bff``,
``AuditSink.from_env``, ``CompactionConfig.from_env``), so a typo fails there: the authorizer
closed (401), the BFF with 503, the asynchronous functions with an init error.

At run time :func:`observability_settings` returns the parsed object, read once per process
(at init) and kept: no invocation reads these variables again. Whoever changes the environment
of a running process (tests; the local runner, which hosts several functions in one process,
each with its own environment) calls :func:`reset_observability_settings`. A container whose init already
failed closed still has to log that it did: there, the accessor falls back to the safe values
(``hashed``, no event logging).

The OpenTelemetry adapter's export settings (:class:`OtelSettings`: collector endpoint, flush
bound, sampling ratio, SigV4) are part of the same object, so a bad value fails every function
at init too, whichever tracing backend is chosen.

Runtime facts that the Lambda service sets (``_X_AMZN_TRACE_ID``, ``AWS_LAMBDA_FUNCTION_NAME``,
``AWS_REGION``) are not configuration; :func:`lambda_trace_header`, :func:`in_lambda`,
:func:`lambda_function_name` and :func:`lambda_region` read them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar
from urllib.parse import urlsplit

from tenantkit.config import env_number
from tenantkit.exceptions import ConfigurationError

__all__ = [
    "FALSE_VALUES",
    "LOG_EVENT",
    "LOG_HASH_KEY",
    "METRICS_NAMESPACE",
    "OTLP_ENDPOINT",
    "OTLP_SIGV4",
    "OTLP_TRACES_ENDPOINT",
    "SERVICE_NAME",
    "SESSION_ID_LOGGING",
    "SESSION_ID_LOGGING_MODES",
    "TRACE_DISABLED",
    "TRACING",
    "TRACING_BACKENDS",
    "TRACING_FLUSH_TIMEOUT_MS",
    "TRACING_SAMPLE_RATIO",
    "TRUE_VALUES",
    "VARIABLES",
    "ObservabilitySettings",
    "OtelSettings",
    "env_bool",
    "env_choice",
    "in_lambda",
    "lambda_function_name",
    "lambda_region",
    "lambda_trace_header",
    "observability_settings",
    "reset_observability_settings",
]

SESSION_ID_LOGGING_MODES = ("hashed", "raw")
# The tracer port's adapters. Unset = xray, what stacks deployed before the OpenTelemetry adapter
# ran; template.yaml sets otel for new stacks (docs/observability.md).
TRACING_BACKENDS = ("xray", "otel", "off")
# The spellings Powertools' own strtobool accepts: the same variable means the same thing to both.
TRUE_VALUES = ("1", "y", "yes", "t", "true", "on")
FALSE_VALUES = ("0", "n", "no", "f", "false", "off")

SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"
METRICS_NAMESPACE = "POWERTOOLS_METRICS_NAMESPACE"
TRACE_DISABLED = "POWERTOOLS_TRACE_DISABLED"
TRACING = "TENANTKIT_TRACING"
LOG_EVENT = "POWERTOOLS_LOGGER_LOG_EVENT"
SESSION_ID_LOGGING = "TENANTKIT_SESSION_ID_LOGGING"
LOG_HASH_KEY = "TENANTKIT_LOG_HASH_KEY"
OTLP_TRACES_ENDPOINT = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
OTLP_ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT"
TRACING_FLUSH_TIMEOUT_MS = "TENANTKIT_TRACING_FLUSH_TIMEOUT_MS"
TRACING_SAMPLE_RATIO = "TENANTKIT_TRACING_SAMPLE_RATIO"
OTLP_SIGV4 = "TENANTKIT_OTLP_SIGV4"
VARIABLES = (SERVICE_NAME, METRICS_NAMESPACE, TRACE_DISABLED, TRACING, LOG_EVENT, SESSION_ID_LOGGING, LOG_HASH_KEY,
             OTLP_TRACES_ENDPOINT, OTLP_ENDPOINT, TRACING_FLUSH_TIMEOUT_MS, TRACING_SAMPLE_RATIO, OTLP_SIGV4)

# The ADOT collector Lambda layer's OTLP/HTTP receiver (the OTLP specification's default too).
DEFAULT_OTLP_TRACES_ENDPOINT = "http://localhost:4318/v1/traces"
# The flush is on the request path: a collector that hangs costs a request at most this bound.
MAX_FLUSH_TIMEOUT_MS = 2000.0


@dataclass(frozen=True, slots=True)
class OtelSettings:
    """Where and how the OpenTelemetry adapter exports (read only when ``TENANTKIT_TRACING=otel``
    builds a pipeline, but validated with the other settings)."""

    traces_endpoint: str = DEFAULT_OTLP_TRACES_ENDPOINT
    flush_timeout_ms: float = 100.0
    sample_ratio: float = 1.0
    # None: sign only for the X-Ray OTLP endpoint (``xray.<region>.amazonaws.com``)
    sigv4: bool | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> OtelSettings:
        env = os.environ if environ is None else environ
        endpoint = _otlp_url(env, OTLP_TRACES_ENDPOINT)
        if not endpoint:
            base = _otlp_url(env, OTLP_ENDPOINT)
            endpoint = base.rstrip("/") + "/v1/traces" if base else DEFAULT_OTLP_TRACES_ENDPOINT
        sigv4 = env.get(OTLP_SIGV4, "").strip()
        return cls(
            traces_endpoint=endpoint,
            flush_timeout_ms=env_number(env, TRACING_FLUSH_TIMEOUT_MS, 100.0, 1.0, MAX_FLUSH_TIMEOUT_MS),
            sample_ratio=env_number(env, TRACING_SAMPLE_RATIO, 1.0, 0.0, 1.0),
            sigv4=env_bool(env, OTLP_SIGV4) if sigv4 else None,
        )


def _otlp_url(env: Mapping[str, str], name: str) -> str:
    """``name`` as an http(s) URL with a host; blank or unset = ``""``."""
    raw = env.get(name, "").strip()
    if not raw:
        return ""
    try:
        parts = urlsplit(raw)
        # .port raises on a port that is not a number in range: at init, not at the first export
        valid = parts.scheme in ("http", "https") and bool(parts.hostname) and (parts.port or 0) >= 0
    except ValueError:
        valid = False
    if not valid:
        raise ConfigurationError(name, "must be an http(s) URL with a host")
    return raw


@dataclass(frozen=True, slots=True)
class ObservabilitySettings:
    service_name: str = "tenantkit"
    metrics_namespace: str = "Tenantkit"
    trace_disabled: bool = False
    tracing: str = "xray"
    log_event: bool = False
    session_id_logging: str = "hashed"
    log_hash_key: bytes | None = field(default=None, repr=False)
    otel: OtelSettings = field(default_factory=OtelSettings)

    # variable -> attribute (tests/unit/test_docs_configuration.py checks the documented defaults)
    FIELDS: ClassVar[dict[str, str]] = {
        SERVICE_NAME: "service_name",
        METRICS_NAMESPACE: "metrics_namespace",
        TRACE_DISABLED: "trace_disabled",
        TRACING: "tracing",
        LOG_EVENT: "log_event",
        SESSION_ID_LOGGING: "session_id_logging",
        LOG_HASH_KEY: "log_hash_key",
        OTLP_TRACES_ENDPOINT: "otel.traces_endpoint",
        TRACING_FLUSH_TIMEOUT_MS: "otel.flush_timeout_ms",
        TRACING_SAMPLE_RATIO: "otel.sample_ratio",
    }

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ObservabilitySettings:
        env = os.environ if environ is None else environ
        key = env.get(LOG_HASH_KEY, "")
        return cls(
            service_name=env.get(SERVICE_NAME, "").strip() or "tenantkit",
            metrics_namespace=env.get(METRICS_NAMESPACE, "").strip() or "Tenantkit",
            trace_disabled=env_bool(env, TRACE_DISABLED),
            tracing=env_choice(env, TRACING, TRACING_BACKENDS),
            log_event=env_bool(env, LOG_EVENT),
            session_id_logging=env_choice(env, SESSION_ID_LOGGING, SESSION_ID_LOGGING_MODES),
            log_hash_key=key.encode() if key else None,
            otel=OtelSettings.from_env(env),
        )


def env_bool(env: Mapping[str, str], name: str, default: bool = False) -> bool:
    """``name`` as a boolean (Powertools' spellings, any case); blank or unset = ``default``."""
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in TRUE_VALUES:
        return True
    if raw in FALSE_VALUES:
        return False
    raise ConfigurationError(name, f"must be one of {', '.join(TRUE_VALUES + FALSE_VALUES)}, got {raw!r}")


def env_choice(env: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str:
    """``name`` as one of ``allowed`` (any case); blank or unset = the first allowed value."""
    raw = env.get(name, "").strip().lower()
    if not raw:
        return allowed[0]
    if raw not in allowed:
        raise ConfigurationError(name, f"must be one of {', '.join(allowed)}, got {raw!r}")
    return raw


_cache: dict[str, ObservabilitySettings] = {}


def observability_settings() -> ObservabilitySettings:
    """The settings of this process, read from the environment on first use and kept.

    First use is the function's init (the loaders and ``get_logger`` read them), and the Lambda
    environment does not change after it, so no invocation reads the environment for them again.
    Code that does change the environment in one process (tests, the local runner hosting several
    functions) calls :func:`reset_observability_settings` after the change."""
    settings = _cache.get("settings")
    if settings is None:
        settings = _cache["settings"] = _from_environment()
    return settings


def reset_observability_settings() -> None:
    """Forget the settings read so far: the next use reads the environment again."""
    _cache.clear()


def _from_environment() -> ObservabilitySettings:
    try:
        settings = ObservabilitySettings.from_env()
    except ConfigurationError:
        # Init already reported it (and failed closed); logging must still work, safely.
        key = os.environ.get(LOG_HASH_KEY, "")
        settings = ObservabilitySettings(service_name=os.environ.get(SERVICE_NAME, "").strip() or "tenantkit",
                                         tracing="off", log_hash_key=key.encode() if key else None)
    return settings


def lambda_trace_header() -> str | None:
    """The X-Ray trace header the Lambda runtime sets for this invocation (not configuration)."""
    return os.environ.get("_X_AMZN_TRACE_ID") or None


def lambda_function_name() -> str | None:
    """The function name the Lambda runtime set (not configuration)."""
    return os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or None


def lambda_region() -> str | None:
    """The region the Lambda runtime set (not configuration)."""
    return os.environ.get("AWS_REGION") or None


def in_lambda() -> bool:
    """Whether the Lambda runtime set its function name (not configuration)."""
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))
