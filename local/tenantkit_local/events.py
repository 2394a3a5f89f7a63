"""Recorded events with persona references: ``{{token:<persona>}}`` becomes a fresh token.

Committed events never hold a token; rendering mints one from the local issuer, so the same
file replays forever and `sam local invoke -e` gets a ready-to-use copy.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tenantkit_local.issuer import LocalIssuer
from tenantkit_local.personas import load_persona

TOKEN_REFERENCE = re.compile(r"\{\{token:([a-z0-9-]+)\}\}")


def render(value: Any, issuer: LocalIssuer, *, now: float | None = None, _cache: dict[str, str] | None = None) -> Any:
    """Return a copy of ``value`` with every persona reference replaced by a minted token."""
    cache = {} if _cache is None else _cache
    if isinstance(value, str):
        def mint(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in cache:
                cache[name] = issuer.mint(load_persona(name), now=now)
            return cache[name]

        return TOKEN_REFERENCE.sub(mint, value)
    if isinstance(value, list):
        return [render(item, issuer, now=now, _cache=cache) for item in value]
    if isinstance(value, dict):
        return {key: render(item, issuer, now=now, _cache=cache) for key, item in value.items()}
    return value


def load_event(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    if not isinstance(data, dict):
        raise ValueError(f"{path}: an event is a JSON object")
    return data


def personas_referenced(event: Any) -> set[str]:
    return set(TOKEN_REFERENCE.findall(json.dumps(event)))


def event_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(path.rglob("*.json")) if path.is_dir() else [path])
    return files


def render_files(paths: list[Path], out_dir: Path, issuer: LocalIssuer, *, root: Path) -> list[Path]:
    """Write rendered copies under ``out_dir``, keeping the path below ``events/``."""
    written = []
    for source in event_files(paths):
        try:
            relative = source.resolve().relative_to(root / "events")
        except ValueError:
            relative = Path(source.name)
        target = out_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(render(load_event(source), issuer), indent=2) + "\n")
        written.append(target)
    return written
