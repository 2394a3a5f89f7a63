"""Dev-only local cloud for tenantkit: event runner, local OIDC issuer, JWKS server.

Never shipped in the Lambda layer.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
STATE_DIR_NAME = ".tenantkit"  # git-ignored: generated keys, rendered events


def state_dir(root: Path | None = None) -> Path:
    """Generated local state; ``TENANTKIT_STATE_DIR`` moves it (tests use a temp directory)."""
    override = os.environ.get("TENANTKIT_STATE_DIR")
    path = Path(override) if override and root is None else (root or PROJECT_ROOT) / STATE_DIR_NAME
    path.mkdir(parents=True, exist_ok=True)
    return path
