"""Upstream discovery for the BFF: AWS Cloud Map, cached, with backoff and stale-if-error."""

from __future__ import annotations

from tenantkit.discovery.cloudmap import CloudMapResolver, DiscoveryError, Endpoint

__all__ = ["CloudMapResolver", "DiscoveryError", "Endpoint"]
