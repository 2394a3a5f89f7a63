"""One Powertools Logger per service, configured once with the contract formatter."""

from __future__ import annotations

import sys
from typing import IO, TYPE_CHECKING, cast

__all__ = [
    "StdoutProxy",
    "get_logger",
    "service_name",
]

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger


class StdoutProxy:
    """Resolve ``sys.stdout`` at write time so test capture and the local runner see logs."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


_loggers: dict[str, Logger] = {}


def service_name() -> str:
    from tenantkit.observability.settings import observability_settings

    return observability_settings().service_name


def get_logger(service: str | None = None) -> Logger:
    """The process-wide Logger for ``service`` (default: ``POWERTOOLS_SERVICE_NAME``)."""
    name = service or service_name()
    logger = _loggers.get(name)
    if logger is None:
        from aws_lambda_powertools import Logger

        from tenantkit.observability.formatter import ContractFormatter

        stream = cast("IO[str]", StdoutProxy())  # duck-typed: write() and flush() are all logging uses
        logger = Logger(service=name, stream=stream, logger_formatter=ContractFormatter())
        _loggers[name] = logger
    return logger
