"""docs/rejections.md is checked against the error classes, both ways, and every error class of
the layer belongs to the one taxonomy rooted at TenantkitError."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import tenantkit
import tenantkit.exceptions as exceptions
from tenantkit.exceptions import TenantkitError

ROOT = Path(__file__).resolve().parents[2]
REJECTIONS = (ROOT / "docs" / "rejections.md").read_text()
# A table row naming a reason and its class: | `reason` | `ClassName` | ...
ROW = re.compile(r"^\| `(?P<reason>[a-z0-9_]+)` \| `(?P<cls>[A-Za-z]+)` \|", re.MULTILINE)
FAMILIES = (exceptions.TenantkitError, exceptions.TokenRejectedError, exceptions.AccessDeniedError)


def _modules() -> list[object]:
    names = [tenantkit.__name__] + [info.name for info in pkgutil.walk_packages(tenantkit.__path__, "tenantkit.")]
    return [importlib.import_module(name) for name in names]


def _exception_classes() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for module in _modules():
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, BaseException) and cls.__module__.startswith("tenantkit"):
                found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return found


def test_the_walk_finds_every_package_of_the_layer():
    modules = {module.__name__ for module in _modules()}
    assert {"tenantkit.bff.exceptions", "tenantkit.audit.exceptions", "tenantkit.discovery.exceptions",
            "tenantkit.observability.exceptions", "tenantkit.jwks.exceptions", "tenantkit.audit.sink"} <= modules


def test_every_exception_class_of_the_layer_derives_from_tenantkit_error():
    classes = _exception_classes()
    assert len(classes) > 40
    stray = sorted(name for name, cls in classes.items() if not issubclass(cls, TenantkitError))
    assert stray == []


def test_each_package_defines_its_errors_in_its_own_exceptions_module():
    misplaced = sorted(name for name, cls in _exception_classes().items()
                       if not cls.__module__.endswith(".exceptions"))
    assert misplaced == []


def test_every_reason_code_is_documented():
    classes = [cls for cls in _exception_classes().values() if cls not in FAMILIES and "reason" in vars(cls)]
    missing = sorted({f"{cls.__name__}: {cls.reason}" for cls in classes if f"`{cls.reason}`" not in REJECTIONS})
    assert missing == []
    assert "`internal_error`" in REJECTIONS  # the fail-closed path for unexpected errors


def test_every_class_the_tables_name_exists_with_that_reason():
    by_name = {cls.__name__: cls for cls in _exception_classes().values()}
    rows = list(ROW.finditer(REJECTIONS))
    assert len(rows) > 40
    wrong = [(row["reason"], row["cls"]) for row in rows
             if row["cls"] not in by_name or getattr(by_name[row["cls"]], "reason", None) != row["reason"]]
    assert wrong == []


def test_the_local_tools_errors_belong_to_the_same_taxonomy():
    import tenantkit_local

    names = [tenantkit_local.__name__] + [info.name for info in
                                          pkgutil.walk_packages(tenantkit_local.__path__, "tenantkit_local.")]
    classes = {f"{cls.__module__}.{cls.__qualname__}": cls for name in names
               for _, cls in inspect.getmembers(importlib.import_module(name), inspect.isclass)
               if issubclass(cls, BaseException) and cls.__module__.startswith("tenantkit_local")}
    assert len(classes) >= 8
    assert sorted(name for name, cls in classes.items() if not issubclass(cls, TenantkitError)) == []
