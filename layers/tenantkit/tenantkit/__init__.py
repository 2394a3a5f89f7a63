"""tenantkit: provable pooled multi-tenancy for AWS serverless stacks (the shared layer).

Modules import their heavy dependencies lazily so each handler pays only for what it uses;
the handler-facing names below are resolved on first access for the same reason (importing
``tenantkit`` alone loads nothing else).

* ``observe``: the decorator every Lambda handler wears;
* ``load_authorizer``, ``load_bff``: build the authorizer and the BFF from the environment;
* ``AuditSink``, ``AthenaCompactor``: the audit pipeline's handlers, ``.from_env()``;
* ``TenantkitError``, ``ConfigurationError``: the root of every error the layer raises.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "observe": "tenantkit.observability.handler",
    "load_authorizer": "tenantkit.authorizer",
    "load_bff": "tenantkit.bff",
    "AuditSink": "tenantkit.audit.sink",
    "AthenaCompactor": "tenantkit.audit.compaction",
    "TenantkitError": "tenantkit.exceptions",
    "ConfigurationError": "tenantkit.exceptions",
}

__all__ = ["AthenaCompactor", "AuditSink", "ConfigurationError", "TenantkitError", "__version__", "load_authorizer",
           "load_bff", "observe"]

if TYPE_CHECKING:
    from tenantkit.audit.compaction import AthenaCompactor
    from tenantkit.audit.sink import AuditSink
    from tenantkit.authorizer import load_authorizer
    from tenantkit.bff import load_bff
    from tenantkit.exceptions import ConfigurationError, TenantkitError
    from tenantkit.observability.handler import observe


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tenantkit' has no attribute {name!r}")
    return getattr(import_module(module), name)
