"""Fixture personas: Entra-shaped claim sets, minted into fresh tokens on demand.

A persona file (``tests/fixtures/personas/<name>.json``)::

    {"description": "...", "claims": {...Entra claims, no iat/nbf/exp...},
     "lifetime_seconds": 3600, "issued_offset_seconds": 0,
     "header": {}, "sign_with": "issuer" | "foreign"}

Times are relative so tokens are always fresh (or, for the expired persona, always stale).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
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


class ClaimsOverrideError(TenantkitError, ValueError):
    """``--claims`` is not a JSON object (or names a claim the issuer sets itself)."""


def with_claims(persona: Persona, overrides: dict[str, Any]) -> Persona:
    """``persona`` with claims replaced by ``overrides``; a ``null`` value removes the claim.

    Lets a user mint an identity no fixture has (another ``tid``, extra roles, no ``oid``...)
    while keeping the persona's signing key, header and lifetime.
    """
    if not isinstance(overrides, dict):
        raise ClaimsOverrideError("--claims must be a JSON object, e.g. '{\"roles\": [\"Agents.Invoke\"]}'")
    claims = dict(persona.claims)
    for name, value in overrides.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return replace(persona, name=f"{persona.name}+claims", claims=claims)


def parse_claims(text: str) -> dict[str, Any]:
    """``--claims`` value: JSON text, or ``@path`` to a JSON file."""
    source = text
    if text.startswith("@"):
        try:
            source = Path(text[1:]).read_text()
        except OSError as exc:
            raise ClaimsOverrideError(f"--claims {text}: {exc.strerror or exc}") from None
    try:
        value = json.loads(source)
    except ValueError as exc:
        raise ClaimsOverrideError(f"--claims is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ClaimsOverrideError("--claims must be a JSON object")
    return value


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
