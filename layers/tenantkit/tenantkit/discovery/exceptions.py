"""Errors of upstream discovery."""

from __future__ import annotations

from tenantkit.exceptions import TenantkitError

__all__ = [
    "DiscoveryError",
]


class DiscoveryError(TenantkitError):
    """No usable upstream: discovery failed and nothing fresh enough is cached."""

    reason = "upstream_discovery_failed"
