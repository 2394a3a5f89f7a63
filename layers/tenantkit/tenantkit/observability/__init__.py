"""The logging contract shared by every function: one Powertools Logger, configured once."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger


class _StdoutProxy:
    """Resolve ``sys.stdout`` at write time so test capture and the local runner see logs."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


_loggers: dict[str, Logger] = {}


def get_logger(service: str | None = None) -> Logger:
    """The process-wide Logger for ``service`` (default: ``POWERTOOLS_SERVICE_NAME``)."""
    from aws_lambda_powertools import Logger

    name = service or os.environ.get("POWERTOOLS_SERVICE_NAME", "tenantkit")
    logger = _loggers.get(name)
    if logger is None:
        logger = Logger(service=name, stream=_StdoutProxy())
        _loggers[name] = logger
    return logger
