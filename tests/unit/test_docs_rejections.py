"""docs/rejections.md lists every reason code the authorizer can produce."""

from __future__ import annotations

import inspect
from pathlib import Path

import tenantkit.exceptions as exceptions

ROOT = Path(__file__).resolve().parents[2]


def test_every_reason_code_is_documented():
    text = (ROOT / "docs" / "rejections.md").read_text()
    reasons = {cls.reason for _, cls in inspect.getmembers(exceptions, inspect.isclass)
               if issubclass(cls, exceptions.TenantkitError) and cls.__module__ == exceptions.__name__
               and cls not in (exceptions.TenantkitError, exceptions.TokenRejectedError, exceptions.AccessDeniedError)}
    missing = sorted(r for r in reasons if f"`{r}`" not in text)
    assert missing == []
    assert "`internal_error`" in text  # the fail-closed path for unexpected errors
