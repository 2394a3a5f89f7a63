"""tenantkit: provable pooled multi-tenancy for AWS serverless stacks (the shared layer).

Modules import their heavy dependencies lazily so each handler pays only for what it uses.
"""

from __future__ import annotations

__version__ = "0.1.0"
