"""Kept so existing imports work: the BFF's errors live in :mod:`tenantkit.bff.exceptions`."""

from __future__ import annotations

from tenantkit.bff.exceptions import *  # noqa: F403  (every name of its __all__, nothing else)
from tenantkit.bff.exceptions import __all__ as __all__
