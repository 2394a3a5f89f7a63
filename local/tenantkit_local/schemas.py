"""Exported contract documents under docs/schemas/, generated from the layer's code."""

from __future__ import annotations

import json
from pathlib import Path

from tenantkit.audit.schema import audit_json_schema
from tenantkit.observability.contract import as_document
from tenantkit_local import PROJECT_ROOT


def exported_documents(root: Path = PROJECT_ROOT) -> dict[Path, str]:
    schemas = root / "docs" / "schemas"
    return {
        schemas / "audit-record.schema.json": json.dumps(audit_json_schema(), indent=2, sort_keys=True) + "\n",
        schemas / "log-contract.json": json.dumps(as_document(), indent=2, sort_keys=True) + "\n",
    }


def stale_documents(root: Path = PROJECT_ROOT) -> list[Path]:
    return [path for path, text in exported_documents(root).items()
            if not path.exists() or path.read_text() != text]


def write_documents(root: Path = PROJECT_ROOT) -> list[Path]:
    written = []
    for path, text in exported_documents(root).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return written
