"""Verification of a promotion evidence record, and the closeout block for the issue/MR.

Each rule is a named check with a message that says what to fix, so a failed promotion
explains itself in the CI log. The rules are the ones in docs/release-governance.md:
the SHA that reaches an environment is the SHA that passed every earlier one, protected
environments carry approvals (never the deployer's own in production), and the rollback
target is something that was really promoted before.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from tenantkit_local.release.evidence import LineageStep, PromotionEvidence
from tenantkit_local.release.gitlab import GitLabDeployment

DEFAULT_PROTECTED = ("prod",)
DEFAULT_PRODUCTION = ("prod",)
RUNTIME_BOUNDARY = ("CI/release metadata is evidence only: it is never an input to runtime tenant "
                    "authorization (docs/release-governance.md).")


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(slots=True)
class Verification:
    evidence: PromotionEvidence
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def add(self, name: str, problems: list[str], passed: str) -> None:
        self.checks.append(Check(name, not problems, "; ".join(problems) if problems else passed))


def _short(sha: str | None) -> str:
    return sha[:12] if sha else "none"


def verify(evidence: PromotionEvidence, *, protected: Iterable[str] = DEFAULT_PROTECTED,
           production: Iterable[str] = DEFAULT_PRODUCTION,
           deployments: list[GitLabDeployment] | None = None) -> Verification:
    """Run every check; never stops at the first failure, so the log lists all of them."""
    protected, production = set(protected), set(production)
    result = Verification(evidence)
    ev = evidence
    chain = ev.promotion_chain
    expected = chain[: chain.index(ev.environment)] if ev.environment in chain else None

    # 1. Every step of the lineage is present, in chain order, and ran the promoted SHA.
    problems = []
    if expected is None:
        problems.append(f"{ev.environment} is not in the promotion chain {' -> '.join(chain)}")
    elif [s.environment for s in ev.lineage] != expected:
        problems.append(f"lineage must be {' -> '.join(expected) or '(empty)'}, "
                        f"got {' -> '.join(s.environment for s in ev.lineage) or '(empty)'}")
    for step in ev.lineage:
        if step.sha is None or step.deployment_id is None:
            problems.append(f"lineage step missing: no successful deployment to {step.environment}")
        elif step.sha != ev.promoted_sha:
            problems.append(f"SHA mismatch: {step.environment} ran {_short(step.sha)} (deployment "
                            f"{step.deployment_id}) but {ev.environment} promotes {_short(ev.promoted_sha)}")
        elif step.status != "success":
            problems.append(f"{step.environment} deployment {step.deployment_id} has status {step.status}")
    passed = " -> ".join([*(s.environment for s in ev.lineage), ev.environment])
    result.add("lineage", problems, f"{passed}, all {_short(ev.promoted_sha)}")

    # 2. The promotion itself was deployed, after every earlier step.
    problems = []
    if ev.deployment_id is None or ev.deployment_status != "success":
        problems.append(f"no successful deployment of {_short(ev.promoted_sha)} to {ev.environment} is recorded")
    times = [(s.environment, s.deployed_at) for s in ev.lineage if s.deployed_at]
    times.append((ev.environment, ev.deployed_at))
    for (env_a, at_a), (env_b, at_b) in itertools.pairwise(times):
        if at_a and at_b and at_b < at_a:
            problems.append(f"{env_b} was deployed before {env_a} ({at_b.isoformat()} < {at_a.isoformat()})")
    result.add("deployment", problems, f"deployment {ev.deployment_id} to {ev.environment} succeeded")

    # 3. Protected environments carry approvals; production never the deployer's own.
    problems = []
    previous_at: datetime | None = None
    target = LineageStep(environment=ev.environment, sha=ev.promoted_sha, deployed_at=ev.deployed_at,
                         approvers=ev.approvers)
    steps = [*ev.lineage, target]
    for step in steps:
        deployers = {ev.triggered_by, ev.deployed_by} if step is target else {step.triggered_by}
        if step.environment in protected:
            problems += _approval_problems(step, {d for d in deployers if d}, step.environment in production,
                                           previous_at)
        previous_at = step.deployed_at or previous_at
    checked = sorted(protected & {s.environment for s in steps})
    result.add("approvals", problems, f"approved: {', '.join(checked)}" if checked else "no protected environment")

    # 4. Production is released from a tag.
    if ev.environment in production:
        result.add("tag", [] if ev.tag else [f"{ev.environment} must be promoted from a protected tag (no tag)"],
                   f"tag {ev.tag}")

    # 5. The rollback target is an earlier promotion to the same environment.
    problems = []
    prior = {p.sha for p in ev.prior_promotions}
    if ev.rollback_sha is None:
        if any(sha != ev.promoted_sha for sha in prior):
            problems.append("rollback SHA missing although earlier promotions exist")
    elif ev.rollback_sha == ev.promoted_sha:
        problems.append("rollback SHA is the promoted SHA itself")
    elif ev.rollback_sha not in prior:
        problems.append(f"rollback SHA {_short(ev.rollback_sha)} was never promoted to {ev.environment}")
    result.add("rollback", problems, f"rollback to {_short(ev.rollback_sha)}" if ev.rollback_sha
               else f"first promotion to {ev.environment}: rollback is an undeploy")

    # 6. Something ties the deployment to a build.
    if ev.environment in protected:
        result.add("artifacts", [] if ev.artifacts else ["no artifact digests recorded"],
                   f"{len(ev.artifacts)} artifact digest(s)")

    # 7. Optional: the record matches GitLab's own deployments data.
    if deployments is not None:
        result.add("cross-check", _cross_check(ev, deployments), "matches the deployments data")
    return result


def _approval_problems(step: LineageStep, deployers: set[str], production: bool,
                       not_before: datetime | None) -> list[str]:
    env, problems = step.environment, []
    approved = [a for a in step.approvers if a.status == "approved"]
    for a in step.approvers:
        if a.status == "rejected":
            problems.append(f"{env}: rejected by {a.username} at {a.approved_at.isoformat()}")
    if not approved:
        problems.append(f"{env} is protected and has no approval")
    for a in approved:
        if production and a.username in deployers:
            problems.append(f"{env}: {a.username} approved their own deployment (self-approval is refused)")
        if not_before and a.approved_at < not_before:
            problems.append(f"{env}: {a.username} approved at {a.approved_at.isoformat()}, before the previous "
                            "environment was deployed")
        if step.deployed_at and a.approved_at > step.deployed_at:
            problems.append(f"{env}: {a.username} approved after the deployment finished")
    if production and approved and not deployers:
        problems.append(f"{env}: the deployer is unknown, so the approval cannot be shown to be independent")
    return problems


def _cross_check(ev: PromotionEvidence, deployments: list[GitLabDeployment]) -> list[str]:
    ok = {(d.id, d.environment, d.sha) for d in deployments if d.status == "success"}
    problems = [f"{s.environment} deployment {s.deployment_id} ({_short(s.sha)}) is not a successful deployment"
                for s in ev.lineage
                if s.deployment_id is not None and (s.deployment_id, s.environment, s.sha) not in ok]
    if ev.deployment_id is not None and (ev.deployment_id, ev.environment, ev.promoted_sha) not in ok:
        problems.append(f"{ev.environment} deployment {ev.deployment_id} is not a successful deployment")
    if ev.rollback_sha and not any(env == ev.environment and sha == ev.rollback_sha for _, env, sha in ok):
        problems.append(f"rollback SHA {_short(ev.rollback_sha)} has no successful {ev.environment} deployment")
    return problems


def closeout(result: Verification) -> str:
    """The markdown block pasted into the issue/MR closeout template."""
    ev = result.evidence
    pipeline = f"[{ev.pipeline_id}]({ev.pipeline_url})" if ev.pipeline_url else str(ev.pipeline_id)
    lineage = " → ".join([*(f"{s.environment} `{_short(s.sha)}`" for s in ev.lineage),
                          f"**{ev.environment}** `{_short(ev.promoted_sha)}`"])
    approvers = ", ".join(f"{a.username} ({a.status} {a.approved_at.isoformat()})" for a in ev.approvers) or "none"
    artifacts = "<br>".join(f"`{a.name}` sha256:`{a.sha256}`" for a in ev.artifacts) or "none"
    verdict = "PASSED" if result.ok else "FAILED"
    rows = [
        ("project", f"`{ev.project_path}`"), ("pipeline", pipeline),
        ("environment", f"`{ev.environment}` (deployment {ev.deployment_id})"),
        ("promoted SHA", f"`{ev.promoted_sha}`"), ("tag", f"`{ev.tag}`" if ev.tag else "none"),
        ("lineage", lineage), ("approvers", approvers),
        ("pipeline by / deployed by", f"{ev.triggered_by or 'unknown'} / {ev.deployed_by or 'unknown'}"),
        ("artifacts", artifacts),
        ("rollback SHA", f"`{ev.rollback_sha}`" if ev.rollback_sha else "none (first promotion)"),
        ("evidence created", ev.created_at.isoformat()),
    ]
    lines = [f"### Promotion evidence: {ev.environment} {verdict}", "", "| field | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in rows]
    lines += ["", *(f"- [{'x' if c.ok else ' '}] {c.name}: {c.detail}" for c in result.checks)]
    lines += ["", f"> {RUNTIME_BOUNDARY}"]
    return "\n".join(lines) + "\n"
