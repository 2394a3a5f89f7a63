"""Attribute-based access control for the BFF: Cedar policies evaluated in process.

The schema and policies in ``policies/`` are the same artefacts an Amazon Verified Permissions
policy store would hold (see ``docs/abac.md``); :class:`PolicyEngine` evaluates them locally
with cedarpy so the BFF pays microseconds, not a network round trip, per decision.
"""

from __future__ import annotations

from tenantkit.abac.engine import (
    AbacDecision,
    AbacResource,
    Action,
    PolicyEngine,
    Reason,
    ResourceKind,
    packaged_policies,
    packaged_schema,
)

__all__ = [
    "AbacDecision",
    "AbacResource",
    "Action",
    "PolicyEngine",
    "Reason",
    "ResourceKind",
    "packaged_policies",
    "packaged_schema",
]
