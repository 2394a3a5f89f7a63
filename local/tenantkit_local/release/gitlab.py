"""GitLab Deployments API data as the evidence builder reads it (JSON files, no API client).

The CI job fetches ``GET /projects/:id/deployments`` and ``GET /projects/:id/deployments/:id``
(for ``approvals``) with curl; parsing them here keeps the builder free of tokens and network.
Only the fields the evidence uses are read; everything else in the API response is ignored.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tenantkit_local.release import ReleaseError


def _username(value: Any) -> Any:
    return value.get("username") if isinstance(value, dict) else value


class GitLabApproval(BaseModel):
    """An entry of ``approvals`` in GitLab's ``GET /projects/:id/deployments/:deployment_id``."""

    model_config = ConfigDict(extra="ignore")
    user: str
    status: Literal["approved", "rejected"]
    created_at: datetime
    comment: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _flatten(cls, data: Any) -> Any:
        return {**data, "user": _username(data.get("user"))} if isinstance(data, dict) else data


class GitLabDeployment(BaseModel):
    """A GitLab deployment as the Deployments API returns it (only the fields used here)."""

    model_config = ConfigDict(extra="ignore")
    id: int
    sha: str
    ref: str | None = None
    status: str
    environment: str
    created_at: datetime
    updated_at: datetime | None = None
    pipeline_id: int | None = None
    user: str | None = None
    approvals: list[GitLabApproval] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _flatten(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        env = data.get("environment")
        pipeline = (data.get("deployable") or {}).get("pipeline") or {}
        return {**data, "environment": env.get("name") if isinstance(env, dict) else env,
                "pipeline_id": data.get("pipeline_id", pipeline.get("id")), "user": _username(data.get("user"))}

    @property
    def finished_at(self) -> datetime:
        """When the deployment reached its status (GitLab creates it blocked, before approval)."""
        return self.updated_at or self.created_at


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ReleaseError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None


def _items(data: Any, key: str) -> list[Any]:
    if isinstance(data, dict) and key in data:
        data = data[key]
    if not isinstance(data, list):
        raise ReleaseError(f"expected a JSON list (or an object with {key!r}), got {type(data).__name__}")
    return data


def load_deployments(path: Path) -> list[GitLabDeployment]:
    try:
        return [GitLabDeployment.model_validate(item) for item in _items(read_json(path), "deployments")]
    except ValidationError as exc:
        raise ReleaseError(f"{path}: {first_error(exc)}") from None


def load_approvals(path: Path) -> dict[int, list[GitLabApproval]]:
    """Approvals keyed by deployment id, from a list of ``{"deployment_id"|"id": n, "approvals": [...]}``."""
    result: dict[int, list[GitLabApproval]] = {}
    try:
        for item in _items(read_json(path), "deployments"):
            if not isinstance(item, dict) or not isinstance(item.get("deployment_id", item.get("id")), int):
                raise ReleaseError(f"{path}: every entry needs an integer deployment_id (or id)")
            approvals = [GitLabApproval.model_validate(a) for a in item.get("approvals", [])]
            result.setdefault(item.get("deployment_id", item.get("id")), []).extend(approvals)
    except ValidationError as exc:
        raise ReleaseError(f"{path}: {first_error(exc)}") from None
    return result


def first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    return f"{'.'.join(str(p) for p in error['loc']) or 'value'}: {error['msg']}"
