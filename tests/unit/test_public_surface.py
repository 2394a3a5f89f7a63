"""The layer's public surface: handler-facing names importable from ``tenantkit`` (resolved
lazily, so importing the package alone stays cheap), and ``__all__`` in the public modules."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import tenantkit

PUBLIC_MODULES = [
    "tenantkit.authorizer", "tenantkit.aws", "tenantkit.claims", "tenantkit.config", "tenantkit.cost",
    "tenantkit.envelope", "tenantkit.exceptions", "tenantkit.identifiers", "tenantkit.registry", "tenantkit.verifier",
    "tenantkit.audit", "tenantkit.audit.emit", "tenantkit.audit.exceptions", "tenantkit.audit.schema",
    "tenantkit.audit.storage", "tenantkit.bff", "tenantkit.bff.config", "tenantkit.bff.errors",
    "tenantkit.bff.exceptions", "tenantkit.bff.outbound", "tenantkit.abac", "tenantkit.discovery",
    "tenantkit.discovery.exceptions", "tenantkit.jwks", "tenantkit.jwks.exceptions", "tenantkit.observability",
    "tenantkit.observability.contract", "tenantkit.observability.exceptions", "tenantkit.observability.handler",
    "tenantkit.observability.metrics", "tenantkit.observability.pseudonym", "tenantkit.observability.settings",
]


def test_handler_facing_names_come_from_their_modules():
    from tenantkit.audit.compaction import AthenaCompactor
    from tenantkit.audit.sink import AuditSink
    from tenantkit.authorizer import load_authorizer
    from tenantkit.bff import load_bff
    from tenantkit.exceptions import ConfigurationError, TenantkitError
    from tenantkit.observability.handler import observe

    assert (tenantkit.observe, tenantkit.load_authorizer, tenantkit.load_bff, tenantkit.AuditSink,
            tenantkit.AthenaCompactor, tenantkit.TenantkitError, tenantkit.ConfigurationError) == (
        observe, load_authorizer, load_bff, AuditSink, AthenaCompactor, TenantkitError, ConfigurationError)
    assert set(tenantkit.__all__) >= {"observe", "load_authorizer", "load_bff", "AuditSink", "AthenaCompactor"}
    with pytest.raises(AttributeError):
        _ = tenantkit.no_such_name


def test_importing_the_package_alone_loads_nothing_else():
    code = "import sys, tenantkit; print(sorted(m for m in sys.modules if m.startswith(('tenantkit.', 'boto'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout  # noqa: S603
    assert out.strip() == "[]"


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_public_modules_declare_all_and_every_name_exists(name):
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert exported, f"{name} has no __all__"
    assert [n for n in exported if not hasattr(module, n)] == []
