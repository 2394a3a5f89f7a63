"""Deployment environments: one source of region and names per environment (deploy/environments.json).

``tenantkit deploy plan --env E`` renders what SAM and Terraform will each receive for E from
the checked-in configuration only (no AWS call) and fails on any difference between them.
"""

from __future__ import annotations

from tenantkit.exceptions import TenantkitError


class DeployConfigError(TenantkitError):
    """A deployment configuration file is missing, malformed or inconsistent."""

    reason = "deploy_config_invalid"
