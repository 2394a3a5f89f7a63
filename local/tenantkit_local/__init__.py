"""Dev-only local cloud for tenantkit: event runner, local OIDC issuer, JWKS server.

Never shipped in the Lambda layer.
"""

from __future__ import annotations

import os
from pathlib import Path

from tenantkit.exceptions import TenantkitError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
STATE_DIR_NAME = ".tenantkit"  # git-ignored: generated keys, rendered events


def state_dir(root: Path | None = None) -> Path:
    """Generated local state; ``TENANTKIT_STATE_DIR`` moves it (tests use a temp directory)."""
    override = os.environ.get("TENANTKIT_STATE_DIR")
    path = Path(override) if override and root is None else (root or PROJECT_ROOT) / STATE_DIR_NAME
    path.mkdir(parents=True, exist_ok=True)
    return path


class AuditStoreError(TenantkitError, ValueError):
    """``AUDIT_STORE`` names something the local tools cannot read (they read a directory)."""


def audit_store_default() -> Path:
    """The audit zones root every local tool uses unless told otherwise: ``AUDIT_STORE`` (the
    sink's variable) when it names a directory, else ``<state dir>/audit``, where ``make demo``
    and ``tenantkit local up`` write."""
    value = os.environ.get("AUDIT_STORE", "").strip()
    if not value:
        return state_dir() / "audit"
    if value.startswith("file://"):
        return Path(value.removeprefix("file://"))
    if "://" in value:
        raise AuditStoreError(f"AUDIT_STORE={value}: the local tools read a directory, not {value.split(':')[0]}://")
    return Path(value)
