"""Realistic traffic for the local stack: three tenants, two apps, a service principal, a B2B
guest, and the attacks the platform must reject (spoofing, cross-tenant session reuse,
expired and forged tokens). Every step states the status it must get."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from tenantkit_local.issuer import LocalIssuer
from tenantkit_local.personas import load_persona


@dataclass
class Step:
    name: str
    persona: str | None
    method: str
    path: str
    expected: int
    status: int = 0
    body: Any = None

    @property
    def ok(self) -> bool:
        return self.status == self.expected


class TrafficDriver:
    def __init__(self, base_url: str, issuer: LocalIssuer) -> None:
        self.base_url = base_url
        self.issuer = issuer
        self.tokens: dict[str, str] = {}
        self.steps: list[Step] = []

    def token(self, persona: str) -> str:
        if persona not in self.tokens:
            self.tokens[persona] = self.issuer.mint(load_persona(persona))
        return self.tokens[persona]

    def call(self, name: str, persona: str | None, method: str, path: str, expected: int, *,
             body: Any = None, headers: dict[str, str] | None = None) -> Step:
        request_headers = {"Content-Type": "application/json", **(headers or {})}
        if persona:
            request_headers["Authorization"] = f"Bearer {self.token(persona)}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, headers=request_headers,  # noqa: S310
                                         method=method)
        step = Step(name, persona, method, path, expected)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback only
                step.status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            step.status, raw = error.code, error.read()
        try:
            step.body = json.loads(raw) if raw else None
        except ValueError:
            step.body = raw.decode(errors="replace")
        self.steps.append(step)
        return step

    def session(self, name: str, persona: str) -> str:
        step = self.call(name, persona, "POST", "/v1/sessions", 201)
        return step.body["session_id"] if step.ok else "s_" + "0" * 43

    def run(self, rounds: int = 3) -> list[Step]:
        acme = self.session("acme user opens a session", "acme-user-v2")
        globex = self.session("globex B2B guest opens a session", "globex-b2b-guest")
        initech = self.session("initech user opens a session (agent console)", "initech-user-v2")
        worker = self.session("acme billing worker (service principal) opens a session", "acme-service")
        for i in range(rounds):
            self.call(f"acme turn {i + 1}", "acme-user-v2", "POST", f"/v1/sessions/{acme}/messages", 200,
                      body={"text": f"order status {i}"})
            self.call(f"globex guest turn {i + 1}", "globex-b2b-guest", "POST", f"/v1/sessions/{globex}/messages",
                      200, body={"text": f"hello {i}"})
            self.call(f"initech turn {i + 1}", "initech-user-v2", "POST", f"/v1/sessions/{initech}/messages", 200,
                      body={"text": f"report {i}"})
        self.call("acme worker turn", "acme-service", "POST", f"/v1/sessions/{worker}/messages", 200,
                  body={"text": "nightly reconciliation"})
        self.call("acme v1 token reads its profile", "acme-user-v1", "GET", "/v1/me", 200)
        self.call("whoami (mock integration)", "globex-b2b-guest", "GET", "/v1/whoami", 200)
        # attacks and mistakes
        self.call("globex guest reuses acme's session", "globex-b2b-guest", "POST", f"/v1/sessions/{acme}/messages",
                  404, body={"text": "let me in"})
        self.call("initech user reads acme's session", "initech-user-v2", "GET", f"/v1/sessions/{acme}", 404)
        self.call("acme user spoofs tenant in body", "acme-user-v2", "POST", "/v1/sessions", 403,
                  body={"tenant_id": "globex"})
        self.call("acme user spoofs tenant in header", "acme-user-v2", "GET", "/v1/me", 403,
                  headers={"X-Tenant-Id": "initech"})
        self.call("acme user spoofs tenant in path", "acme-user-v2", "GET", "/v1/tenants/globex/sessions", 403)
        self.call("expired token", "acme-expired", "GET", "/v1/me", 401)
        self.call("unsigned token (alg none)", "forged-alg-none", "GET", "/v1/me", 401)
        self.call("token signed by a foreign key", "forged-foreign-key", "GET", "/v1/me", 401)
        self.call("tenant not onboarded", "not-onboarded-user", "GET", "/v1/me", 403)
        self.call("no token", None, "GET", "/v1/me", 401)
        self.call("acme worker may not delete sessions", "acme-service", "DELETE", f"/v1/sessions/{worker}", 403)
        self.call("initech user closes its session", "initech-user-v2", "DELETE", f"/v1/sessions/{initech}", 204)
        return self.steps
