"""Powertools JSON formatter that applies the field contract and redaction to every line."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

from tenantkit.observability.pseudonym import session_id_policy
from tenantkit.observability.redaction import dumps_redacted
from tenantkit.observability.state import current_log_fields

__all__ = [
    "ContractFormatter",
    "contract_line",
]


def contract_line(record: dict[str, Any]) -> str:
    """Fill the contract fields from the request state, pseudonymize, redact, serialize.

    Shared by log lines and audit lines so both follow one rule.
    """
    for name, value in current_log_fields().items():
        if record.get(name) is None:
            record[name] = value
    record["session_id"] = session_id_policy().apply(record.get("session_id"))
    return dumps_redacted(record)


class ContractFormatter(LambdaPowertoolsFormatter):
    """Every line carries the contract fields (null when unknown) and never a secret."""

    def serialize(self, log: dict[str, Any]) -> str:  # type: ignore[override]
        return contract_line(log)
