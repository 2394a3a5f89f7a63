"""Replay recorded events through a function and summarize each decision."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tenantkit_local.events import EventRenderer, load_event, render
from tenantkit_local.issuer import LocalIssuer
from tenantkit_local.runner import FunctionRunner, Invocation
from tenantkit_local.texttable import render_table


@dataclass(frozen=True)
class AuthorizerOutcome:
    case: str
    decision: str  # Allow | Deny | Unauthorized | Error
    status: int
    reason: str
    tenant_id: str
    app_id: str
    principal_type: str


def authorizer_outcome(case: str, invocation: Invocation) -> AuthorizerOutcome:
    decision_log = next((r for r in invocation.log_records() if r.get("record_type") == "audit"), {})
    reason = str(decision_log.get("reason") or "-")
    if invocation.error_type is not None:
        unauthorized = invocation.error_message == "Unauthorized"
        return AuthorizerOutcome(case, "Unauthorized" if unauthorized else "Error", 401 if unauthorized else 500,
                                 reason, "-", "-", "-")
    response = invocation.response or {}
    effect = response.get("policyDocument", {}).get("Statement", [{}])[0].get("Effect", "?")
    context = response.get("context", {})
    return AuthorizerOutcome(
        case=case,
        decision=effect,
        status=200 if effect == "Allow" else 403,
        reason=reason,
        tenant_id=str(context.get("tenant_id") or decision_log.get("tenant_id") or "-"),
        app_id=str(context.get("app_id") or decision_log.get("app_id") or "-"),
        principal_type=str(context.get("principal_type", "-")),
    )


def replay_authorizer(runner: FunctionRunner, files: list[Path], issuer: LocalIssuer) -> list[AuthorizerOutcome]:
    outcomes = []
    for path in files:
        invocation = runner.invoke(render(load_event(path), issuer))
        outcomes.append(authorizer_outcome(path.stem, invocation))
    return outcomes


@dataclass(frozen=True)
class ProxyOutcome:
    case: str
    status: int
    reason: str
    audit: str  # event_type:reason of every audit line but request.completed


def proxy_outcome(case: str, invocation: Invocation) -> ProxyOutcome:
    if invocation.error_type is not None:
        return ProxyOutcome(case, 500, invocation.error_type, "-")
    response = invocation.response or {}
    status = int(response.get("statusCode", 500))
    try:
        reason = str(json.loads(response.get("body") or "{}").get("reason") or "-")
    except (ValueError, AttributeError):
        reason = "-"
    audits = [f"{r['event_type']}:{r['reason']}" for r in invocation.log_records()
              if r.get("record_type") == "audit" and r.get("event_type") != "request.completed"]
    return ProxyOutcome(case, status, reason, " ".join(audits) or "-")


def replay_proxy(runner: FunctionRunner, files: list[Path], renderer: EventRenderer) -> list[ProxyOutcome]:
    return [proxy_outcome(path.stem, runner.invoke(renderer.render(load_event(path)))) for path in files]


def format_table(rows: list[AuthorizerOutcome] | list[ProxyOutcome]) -> str:
    if rows and isinstance(rows[0], ProxyOutcome):
        header: tuple[str, ...] = ("case", "status", "reason", "audit records")
        body = [(r.case, str(r.status), r.reason, r.audit) for r in rows]  # type: ignore[union-attr]
    else:
        header = ("case", "decision", "status", "reason", "tenant_id", "app_id", "principal")
        body = [(r.case, r.decision, str(r.status), r.reason, r.tenant_id, r.app_id, r.principal_type)  # type: ignore[union-attr]
                for r in rows]
    return render_table(header, body)
