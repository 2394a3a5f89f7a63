"""The identifier patterns, in one place, from narrowest to widest.

Each later pattern admits everything an earlier one does (a property test keeps it so): an id
the registry mints can travel in an envelope, and whatever an envelope carries can be written
to an audit record. The strings are used as pydantic ``Field(pattern=...)`` (Rust regex: ``$``
is the end of the text) and exported into ``docs/schemas/*.json``, so they keep the ``^...$``
form; Python-side checks use the compiled ``\\Z`` versions, because Python's ``$`` would admit a
trailing newline.
"""

from __future__ import annotations

import re

__all__ = [
    "AUDIT_ID",
    "CORRELATION_ID",
    "CORRELATION_ID_RE",
    "ENVELOPE_ID",
    "REGISTRY_ID",
    "matches",
]

# tenant_id and app_id as the tenant registry mints them: short, URL- and key-safe.
REGISTRY_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
# Request correlation ids (API Gateway's and Lambda's request ids are UUIDs).
CORRELATION_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
# Every id an envelope carries downstream (principal ids, session ids, issuer-derived ids).
ENVELOPE_ID = r"^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,255}$"
# Ids in audit records: the envelope's, plus the characters of keyed hashes and placeholders.
AUDIT_ID = r"^[A-Za-z0-9][A-Za-z0-9._:/@+=-]{0,255}$"

CORRELATION_ID_RE = re.compile(CORRELATION_ID[:-1] + r"\Z")


def matches(pattern: str, value: object) -> bool:
    """Whether ``value`` is a string matching ``pattern`` as pydantic reads it (``$`` = end of text)."""
    return isinstance(value, str) and re.fullmatch(pattern[1:-1], value) is not None
