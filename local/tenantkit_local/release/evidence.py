"""Promotion evidence: who promoted which SHA where, along which path, and how to undo it.

The record is built in CI from GitLab's predefined variables plus the Deployments API data
(passed in as JSON files, so the builder needs no token or network) and kept as a job
artifact. ``verify.py`` judges it; this module only records facts, including the ones that
will fail verification (a lineage step with another SHA is recorded, not hidden).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from tenantkit_local import PROJECT_ROOT
from tenantkit_local.release import ReleaseError
from tenantkit_local.release.gitlab import GitLabApproval, GitLabDeployment, first_error, read_json

EVIDENCE_VERSION = 1
SCHEMA_FILE = PROJECT_ROOT / "docs" / "schemas" / "promotion-evidence.schema.json"
DEFAULT_CHAIN = ("dev", "staging", "prod")

GitSha = Annotated[str, StringConstraints(pattern=r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
EnvName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Approver(_Model):
    """One decision on a protected-environment deployment (GitLab deployment approval)."""

    username: str = Field(min_length=1)
    status: Literal["approved", "rejected"] = "approved"
    approved_at: datetime
    comment: str | None = None


class LineageStep(_Model):
    """One environment the SHA passed through on its way to the target environment."""

    environment: EnvName
    sha: GitSha | None = Field(default=None, description="None: no successful deployment in this environment")
    deployment_id: int | None = None
    pipeline_id: int | None = None
    ref: str | None = None
    status: str | None = None
    deployed_at: datetime | None = None
    triggered_by: str | None = None
    approvers: list[Approver] = Field(default_factory=list)


class ArtifactDigest(_Model):
    name: str = Field(min_length=1)
    sha256: Sha256


class PriorPromotion(_Model):
    """An earlier successful deployment to the target environment: a valid rollback target."""

    sha: GitSha
    deployment_id: int
    deployed_at: datetime


class PromotionEvidence(_Model):
    """The evidence record of one promotion (``docs/release-governance.md``)."""

    evidence_version: Literal[1] = EVIDENCE_VERSION
    pipeline_id: int
    pipeline_url: str | None = None
    job_url: str | None = None
    project_path: str = Field(min_length=1)
    environment: EnvName
    promoted_sha: GitSha
    tag: str | None = None
    ref: str | None = None
    triggered_by: str | None = Field(default=None, description="GITLAB_USER_LOGIN: who started the pipeline")
    deployed_by: str | None = Field(default=None, description="the user GitLab records on the deployment")
    deployment_id: int | None = None
    deployment_status: str | None = None
    deployed_at: datetime | None = None
    promotion_chain: list[EnvName] = Field(min_length=1)
    lineage: list[LineageStep] = Field(description="steps before the target environment, in chain order")
    approvers: list[Approver] = Field(default_factory=list, description="decisions on the target deployment")
    artifacts: list[ArtifactDigest] = Field(default_factory=list)
    rollback_sha: GitSha | None = None
    prior_promotions: list[PriorPromotion] = Field(default_factory=list, description="newest first")
    created_at: datetime


# --- inputs ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CiContext:
    """The GitLab CI predefined variables the record needs (read in CI tooling only)."""

    pipeline_id: int
    project_path: str
    environment: str
    commit_sha: str
    tag: str | None = None
    ref: str | None = None
    pipeline_url: str | None = None
    job_url: str | None = None
    user_login: str | None = None

    REQUIRED = ("CI_PIPELINE_ID", "CI_PROJECT_PATH", "CI_ENVIRONMENT_NAME", "CI_COMMIT_SHA")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: str | None) -> CiContext:
        env = dict(os.environ if environ is None else environ)
        names = {"environment": "CI_ENVIRONMENT_NAME", "commit_sha": "CI_COMMIT_SHA"}
        for key, value in overrides.items():
            if value:
                env[names[key]] = value
        missing = [name for name in cls.REQUIRED if not env.get(name, "").strip()]
        if missing:
            raise ReleaseError(f"missing GitLab CI variables: {', '.join(missing)} (run inside a CI job, "
                               "or pass --environment/--sha for the two that have flags)")
        try:
            pipeline_id = int(env["CI_PIPELINE_ID"])
        except ValueError:
            raise ReleaseError(f"CI_PIPELINE_ID must be an integer, got {env['CI_PIPELINE_ID']!r}") from None

        def opt(name: str) -> str | None:
            return env.get(name, "").strip() or None

        return cls(pipeline_id=pipeline_id, project_path=env["CI_PROJECT_PATH"].strip(),
                   environment=env["CI_ENVIRONMENT_NAME"].strip(), commit_sha=env["CI_COMMIT_SHA"].strip().lower(),
                   tag=opt("CI_COMMIT_TAG"), ref=opt("CI_COMMIT_REF_NAME"), pipeline_url=opt("CI_PIPELINE_URL"),
                   job_url=opt("CI_JOB_URL"), user_login=opt("GITLAB_USER_LOGIN"))


def artifact_digest(spec: str) -> ArtifactDigest:
    """``name@sha256:<hex>`` as given, or a file path whose SHA-256 is computed."""
    if "@sha256:" in spec:
        name, _, digest = spec.partition("@sha256:")
        try:
            return ArtifactDigest(name=name, sha256=digest.lower())
        except ValidationError:
            raise ReleaseError(f"artifact {spec!r}: expected name@sha256:<64 hex digits>") from None
    path = Path(spec)
    if not path.is_file():
        raise ReleaseError(f"artifact {spec!r}: no such file (or give name@sha256:<hex>)")
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return ArtifactDigest(name=path.name, sha256=digest.hexdigest())


# --- building ----------------------------------------------------------------------------------


def build_evidence(ci: CiContext, deployments: Iterable[GitLabDeployment], *,
                   approvals: Mapping[int, list[GitLabApproval]] | None = None,
                   chain: tuple[str, ...] = DEFAULT_CHAIN, artifacts: Iterable[ArtifactDigest] = (),
                   rollback_sha: str | None = None, now: datetime | None = None) -> PromotionEvidence:
    """The record of promoting ``ci.commit_sha`` to ``ci.environment`` along ``chain``."""
    if ci.environment not in chain:
        raise ReleaseError(f"environment {ci.environment!r} is not in the promotion chain {' -> '.join(chain)}")
    approvals = approvals or {}
    ok = sorted((d for d in deployments if d.status == "success"), key=lambda d: (d.finished_at, d.id), reverse=True)
    target = next((d for d in ok if d.environment == ci.environment and d.sha == ci.commit_sha), None)

    def decisions(deployment: GitLabDeployment) -> list[Approver]:
        found = deployment.approvals + approvals.get(deployment.id, [])
        unique = {Approver(username=a.user, status=a.status, approved_at=a.created_at, comment=a.comment)
                  for a in found}
        return sorted(unique, key=lambda a: (a.approved_at, a.username))

    lineage = []
    for env in chain[: chain.index(ci.environment)]:
        in_env = [d for d in ok if d.environment == env and (target is None or d.finished_at <= target.finished_at)]
        # Prefer the promoted SHA; otherwise record what the environment really ran (a mismatch to report).
        step = next((d for d in in_env if d.sha == ci.commit_sha), in_env[0] if in_env else None)
        lineage.append(LineageStep(environment=env) if step is None else LineageStep(
            environment=env, sha=step.sha, deployment_id=step.id, pipeline_id=step.pipeline_id, ref=step.ref,
            status=step.status, deployed_at=step.finished_at, triggered_by=step.user, approvers=decisions(step)))

    earlier = [d for d in ok if d.environment == ci.environment and d is not target
               and (target is None or d.finished_at < target.finished_at)]
    prior = [PriorPromotion(sha=d.sha, deployment_id=d.id, deployed_at=d.finished_at) for d in earlier]
    if rollback_sha is None:
        rollback_sha = next((p.sha for p in prior if p.sha != ci.commit_sha), None)
    try:
        return PromotionEvidence(
            pipeline_id=ci.pipeline_id, pipeline_url=ci.pipeline_url, job_url=ci.job_url,
            project_path=ci.project_path, environment=ci.environment, promoted_sha=ci.commit_sha, tag=ci.tag,
            ref=ci.ref, triggered_by=ci.user_login, deployed_by=target.user if target else None,
            deployment_id=target.id if target else None,
            deployment_status=target.status if target else None, deployed_at=target.finished_at if target else None,
            promotion_chain=list(chain), lineage=lineage, approvers=decisions(target) if target else [],
            artifacts=sorted(artifacts, key=lambda a: a.name), rollback_sha=rollback_sha, prior_promotions=prior,
            created_at=now or datetime.now(UTC))
    except ValidationError as exc:
        raise ReleaseError(f"evidence is invalid: {first_error(exc)}") from None


def schema_document() -> str:
    """The JSON Schema of PromotionEvidence as committed under docs/schemas/."""
    return json.dumps(PromotionEvidence.model_json_schema(), indent=2, sort_keys=True) + "\n"


def load_evidence(path: Path) -> PromotionEvidence:
    try:
        return PromotionEvidence.model_validate(read_json(path))
    except ValidationError as exc:
        raise ReleaseError(f"{path}: not a promotion evidence record: {first_error(exc)}") from None
