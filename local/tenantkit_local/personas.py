"""Fixture personas: Entra-shaped claim sets, minted into fresh tokens on demand.

A persona file (``tests/fixtures/personas/<name>.json``)::

    {"description": "...", "claims": {...Entra claims, no iat/nbf/exp...},
     "lifetime_seconds": 3600, "issued_offset_seconds": 0,
     "header": {}, "sign_with": "issuer" | "foreign"}

Times are relative so tokens are always fresh (or, for the expired persona, always stale).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tenantkit.exceptions import TenantkitError
from tenantkit_local import PROJECT_ROOT

PERSONA_DIR = PROJECT_ROOT / "tests" / "fixtures" / "personas"


@dataclass(frozen=True)
class Persona:
    name: str
    description: str
    claims: dict[str, Any]
    lifetime_seconds: int = 3600
    issued_offset_seconds: int = 0
    header: dict[str, Any] = field(default_factory=dict)
    sign_with: str = "issuer"


class UnknownPersonaError(TenantkitError, LookupError):
    pass


def load_persona(name: str, directory: Path = PERSONA_DIR) -> Persona:
    path = directory / f"{name}.json"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in directory.glob("*.json")))
        raise UnknownPersonaError(f"unknown persona {name!r}; known: {known}")
    data = json.loads(path.read_text())
    return Persona(
        name=name,
        description=data.get("description", ""),
        claims=data["claims"],
        lifetime_seconds=int(data.get("lifetime_seconds", 3600)),
        issued_offset_seconds=int(data.get("issued_offset_seconds", 0)),
        header=dict(data.get("header", {})),
        sign_with=data.get("sign_with", "issuer"),
    )


def all_personas(directory: Path = PERSONA_DIR) -> list[Persona]:
    return [load_persona(p.stem, directory) for p in sorted(directory.glob("*.json"))]
