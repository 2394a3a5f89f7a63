"""``tenantkit tenants|apps``: the tenant lifecycle tool, editing the registry in SSM.

The registry is the JSON the authorizer reads (``TENANT_REGISTRY=ssm:<name>``,
``layers/tenantkit/tenantkit/registry.py``). Every edit is read-modify-write under an edit lock
with a version check, validated with the authorizer's own model before it is written, printed
as a diff, and audited. See docs/tenant-onboarding.md.
"""

from __future__ import annotations

from tenantkit.exceptions import TenantkitError


class TenantToolError(TenantkitError):
    """Base of the lifecycle tool's errors (the CLI prints one line and exits non-zero)."""

    reason = "registry_edit_failed"
    exit_code = 2


class InvalidInputError(TenantToolError):
    """An id, name or state transition the registry must not receive (nothing was written)."""

    reason = "registry_input_invalid"
    exit_code = 2


class RegistryUnavailableError(TenantToolError):
    """The parameter is missing, unreadable or holds a registry the authorizer would reject."""

    reason = "registry_unavailable"
    exit_code = 2


class ConcurrentEditError(TenantToolError):
    """Another edit won: the lock is held, the version moved, or an out-of-band write landed."""

    reason = "registry_concurrent_edit"
    exit_code = 3


class AuditDeliveryError(TenantToolError):
    """The change was written but its audit record could not be delivered (printed instead)."""

    reason = "audit_delivery_failed"
    exit_code = 4
