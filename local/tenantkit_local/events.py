"""Recorded events with persona references: ``{{token:<persona>}}`` becomes a fresh token.

Committed events never hold a token; rendering mints one from the local issuer, so the same
file replays forever and `sam local invoke -e` gets a ready-to-use copy.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tenantkit.envelope import IdentityEnvelope, rest_integration_context
from tenantkit_local.issuer import LocalIssuer
from tenantkit_local.personas import load_persona

TOKEN_REFERENCE = re.compile(r"\{\{token:([a-z0-9-]+)\}\}")
ENVELOPE_REFERENCE = re.compile(r"^\{\{envelope:([a-z0-9-]+)\}\}$")
SESSION_REFERENCE = re.compile(r"\{\{session:([a-z0-9-]+)\}\}")


class EventRenderer:
    """Turns persona references into live values for one replay run.

    * ``{{token:<persona>}}``: a freshly minted token (authorizer events);
    * ``"{{envelope:<persona>}}"`` (a whole JSON string): the authorizer context API Gateway
      would hand the BFF for that persona (built by the real claims normalization and registry);
    * ``{{session:<persona>}}``: a session bound to that persona, created once per run through
      ``session_factory`` (BFF events that continue a session).
    """

    def __init__(self, issuer: LocalIssuer, *, registry_json: str | None = None,
                 session_factory: Callable[[IdentityEnvelope], str] | None = None,
                 now: float | None = None) -> None:
        self._issuer = issuer
        self._registry_json = registry_json
        self._session_factory = session_factory
        self._now = now
        self._tokens: dict[str, str] = {}
        self._envelopes: dict[str, IdentityEnvelope] = {}
        self._sessions: dict[str, str] = {}

    def render(self, value: Any) -> Any:
        if isinstance(value, str):
            whole = ENVELOPE_REFERENCE.match(value)
            if whole:
                return _api_gateway_context(self.envelope(whole.group(1)))
            value = TOKEN_REFERENCE.sub(lambda m: self.token(m.group(1)), value)
            return SESSION_REFERENCE.sub(lambda m: self.session(m.group(1)), value)
        if isinstance(value, list):
            return [self.render(item) for item in value]
        if isinstance(value, dict):
            return {key: self.render(item) for key, item in value.items()}
        return value

    def token(self, persona: str) -> str:
        if persona not in self._tokens:
            self._tokens[persona] = self._issuer.mint(load_persona(persona), now=self._now)
        return self._tokens[persona]

    def envelope(self, persona: str) -> IdentityEnvelope:
        if persona not in self._envelopes:
            if self._registry_json is None:
                raise ValueError("{{envelope:...}} needs the tenant registry (TENANT_REGISTRY)")
            from tenantkit.claims import normalize_claims
            from tenantkit.registry import TenantRegistry

            claims = self._issuer.claims_for(load_persona(persona), now=self._now)
            registry = TenantRegistry.from_json(self._registry_json)
            self._envelopes[persona] = normalize_claims(claims, registry, correlation_id=f"replay-{persona}")
        return self._envelopes[persona]

    def session(self, persona: str) -> str:
        if persona not in self._sessions:
            if self._session_factory is None:
                raise ValueError("{{session:...}} needs a session store (replay it through the BFF runner)")
            self._sessions[persona] = self._session_factory(self.envelope(persona))
        return self._sessions[persona]


def _api_gateway_context(envelope: IdentityEnvelope) -> dict[str, Any]:
    """REST API integrations see every authorizer context value as a string."""
    context = rest_integration_context(envelope.to_authorizer_context())
    return {**context, "principalId": envelope.principal_id, "integrationLatency": 0}


def render(value: Any, issuer: LocalIssuer, *, now: float | None = None) -> Any:
    """Render token references only (the authorizer's events)."""
    return EventRenderer(issuer, now=now).render(value)


def load_event(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    if not isinstance(data, dict):
        raise ValueError(f"{path}: an event is a JSON object")
    return data


def personas_referenced(event: Any) -> set[str]:
    """Personas whose token an event carries."""
    return set(TOKEN_REFERENCE.findall(json.dumps(event)))


OUTCOMES_FILE = "outcomes.json"  # events/outcomes.json documents each event's outcome; not an event


def event_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(p for p in path.rglob("*.json") if p.name != OUTCOMES_FILE) if path.is_dir() else [path])
    return files


@dataclass
class RenderedEvents:
    written: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)  # continue a session, and no session store was given
    env_vars_file: Path | None = None


def render_files(paths: list[Path], out_dir: Path, issuer: LocalIssuer, *, root: Path,
                 registry_json: str | None = None,
                 session_factory: Callable[[IdentityEnvelope], str] | None = None) -> RenderedEvents:
    """Write rendered copies under ``out_dir``, keeping the path below ``events/``.

    Events that continue a session (``{{session:...}}``) are rendered only with a
    ``session_factory`` (the session store of a running local stack); otherwise they are skipped
    and listed, because a session id bound nowhere would replay as an unknown session.
    """
    result = RenderedEvents()
    renderer = EventRenderer(issuer, registry_json=registry_json, session_factory=session_factory)
    for source in event_files(paths):
        try:
            relative = source.resolve().relative_to(root / "events")
        except ValueError:
            relative = Path(source.name)
        event = load_event(source)
        if session_factory is None and SESSION_REFERENCE.search(json.dumps(event)):
            result.skipped.append(source)
            continue
        target = out_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        rendered = renderer.render(event)
        left = placeholders_left(rendered)
        if left:
            raise ValueError(f"{source}: placeholders left after rendering: {', '.join(sorted(left))}")
        target.write_text(json.dumps(rendered, indent=2) + "\n")
        result.written.append(target)
    return result


PLACEHOLDER = re.compile(r"\{\{[a-z]+:[^}]*\}\}")


def placeholders_left(event: Any) -> set[str]:
    """Every ``{{kind:...}}`` reference still in ``event`` (a rendered event has none)."""
    return set(PLACEHOLDER.findall(json.dumps(event)))


def write_env_vars(out_dir: Path, base: dict[str, dict[str, str]], overrides: dict[str, dict[str, str]]) -> Path:
    """The SAM ``--env-vars`` file for the rendered events: local/env.json plus what a running
    local stack (or the default local ports) needs."""
    merged = {scope: dict(values) for scope, values in base.items()}
    for scope, values in overrides.items():
        merged.setdefault(scope, {}).update(values)
    path = out_dir / "env.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(merged, indent=2, sort_keys=True) + "\n")
    return path


def sam_invoke_command(function: str, event: Path, env_vars: Path, *, relative_to: Path) -> str:
    """The exact ``sam local invoke`` line for a rendered event (host network: the local issuer
    and agent listen on 127.0.0.1)."""

    def shown(path: Path) -> str:
        try:
            return str(path.resolve().relative_to(relative_to.resolve()))
        except ValueError:
            return str(path)

    return f"sam local invoke {function} -e {shown(event)} --env-vars {shown(env_vars)} --docker-network host"


def scrub(event: dict[str, Any], persona: str) -> dict[str, Any]:
    """A captured API Gateway event made safe to commit as a fixture.

    The bearer token becomes ``{{token:<persona>}}``, an authorizer context becomes
    ``"{{envelope:<persona>}}"``, and every other secret the redaction rules know (cookies,
    ``X-Amz-Security-Token``, codes, JWT-shaped text anywhere) is redacted.
    """
    from tenantkit.observability.redaction import redact

    reference = "Bearer {{token:" + persona + "}}"
    cleaned: dict[str, Any] = redact(event)
    for source in ("headers", "multiValueHeaders"):
        headers = event.get(source) or {}
        for name in list(headers):
            if name.lower() == "authorization":
                cleaned[source][name] = [reference] if source == "multiValueHeaders" else reference
    context = cleaned.get("requestContext")
    if isinstance(context, dict) and context.get("authorizer"):
        context["authorizer"] = "{{envelope:" + persona + "}}"
    return cleaned
