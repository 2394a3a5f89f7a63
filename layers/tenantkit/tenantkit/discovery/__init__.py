"""Upstream discovery for the BFF: AWS Cloud Map, cached, with backoff and stale-if-error."""

from __future__ import annotations

from tenantkit.discovery.cloudmap import CloudMapResolver, Endpoint
from tenantkit.discovery.exceptions import DiscoveryError

__all__ = ["CloudMapResolver", "DiscoveryError", "Endpoint"]
