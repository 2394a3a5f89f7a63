"""Segmented Terraform state keys (ADR 0013): ``<env>/<app_id>/<agent_name>/terraform.tfstate``.

One state (and one S3 lockfile) per environment, application and agent or platform stack,
instead of the ``agentcore/<env>/terraform.tfstate`` monolith. Segments come from pipeline
input, so they are validated as strictly as anything else that becomes a storage path: a
segment that could climb out of its prefix (``..``, ``/``, ``%2e``), look like another one
(uppercase, Unicode look-alikes) or carry shell syntax never reaches ``terraform init``.
"""

from __future__ import annotations

import ipaddress
import json
import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tenantkit_local import PROJECT_ROOT
from tenantkit_local.release import ReleaseError
from tenantkit_local.release.hcl import module_blocks
from tenantkit_local.texttable import render_table

STATE_FILE = "terraform.tfstate"
MONOLITH_KEY = "agentcore/{env}/terraform.tfstate"  # the migration baseline, never rendered
MAX_SEGMENT = 63
TARGETS_FILE = PROJECT_ROOT / "terraform" / "backend" / "targets.json"
DEFAULT_BUCKET = "tenantkit-tfstate-{env}"
DEFAULT_REGION = "us-east-1"

_SEGMENT = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?", re.ASCII)
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", re.ASCII)
_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-[0-9]", re.ASCII)


class BackendConfigError(ReleaseError):
    """A state key segment, bucket or region that must not reach ``terraform init``."""


def validate_segment(name: str, value: str) -> str:
    """``value`` unchanged when it is a safe key segment; otherwise a precise refusal."""

    def refuse(problem: str) -> BackendConfigError:
        return BackendConfigError(f"{name} {value!r}: {problem}")

    if not value:
        raise refuse("must not be empty")
    if len(value) > MAX_SEGMENT:
        raise refuse(f"is {len(value)} characters long; the limit is {MAX_SEGMENT}")
    if not value.isascii():
        raise refuse("contains non-ASCII characters (look-alike letters are refused, not normalized)")
    if "/" in value or "\\" in value:
        raise refuse("contains a path separator; a segment is one level of the key")
    if ".." in value:
        raise refuse("contains '..' (path traversal)")
    if "%" in value:
        raise refuse("contains '%' (URL-encoded input is refused, not decoded)")
    if any(ch.isspace() for ch in value):
        raise refuse("contains whitespace")
    if value != value.lower():
        raise refuse("contains uppercase letters; segments are lowercase so keys cannot collide by case")
    if not _SEGMENT.fullmatch(value):
        raise refuse("may contain only a-z, 0-9 and '-', and must start and end with a letter or digit")
    return value


def validate_bucket(value: str) -> str:
    """S3 bucket naming rules (general purpose buckets)."""
    if not _BUCKET.fullmatch(value) or ".." in value or ".-" in value or "-." in value:
        raise BackendConfigError(f"bucket {value!r}: not a valid S3 bucket name (3-63 of a-z, 0-9, '.', '-')")
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return value
    raise BackendConfigError(f"bucket {value!r}: must not look like an IP address")


def validate_region(value: str) -> str:
    if not _REGION.fullmatch(value):
        raise BackendConfigError(f"region {value!r}: expected an AWS region such as us-east-1")
    return value


def state_key(env: str, app_id: str, agent_name: str) -> str:
    return "/".join((validate_segment("env", env), validate_segment("app_id", app_id),
                     validate_segment("agent_name", agent_name), STATE_FILE))


@dataclass(frozen=True, slots=True)
class BackendConfig:
    """Partial configuration for ``backend "s3" {}``: one state and one lockfile per key."""

    bucket: str
    key: str
    region: str
    use_lockfile: bool = True  # S3 native locking (Terraform >= 1.10): <key>.tflock, no DynamoDB table
    encrypt: bool = True

    def settings(self) -> dict[str, str]:
        return {"bucket": self.bucket, "key": self.key, "region": self.region,
                "use_lockfile": str(self.use_lockfile).lower(), "encrypt": str(self.encrypt).lower()}

    def args(self) -> list[str]:
        return [f"-backend-config={k}={v}" for k, v in self.settings().items()]

    def command_line(self) -> str:
        return " ".join(shlex.quote(a) for a in self.args())

    def tfbackend(self) -> str:
        """The same settings as a ``*.s3.tfbackend`` file (``-backend-config=<file>``)."""
        return "".join(f'{k} = {json.dumps(v) if k in ("bucket", "key", "region") else v}\n'
                       for k, v in self.settings().items())


def render(env: str, app_id: str, agent_name: str, *, bucket: str | None = None,
           region: str | None = None) -> BackendConfig:
    key = state_key(env, app_id, agent_name)
    return BackendConfig(bucket=validate_bucket(bucket or DEFAULT_BUCKET.replace("{env}", env)), key=key,
                         region=validate_region(region or DEFAULT_REGION))


# --- every deployment target ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """One root module (``terraform/stacks/<stack>``) deployed for one app and agent."""

    stack: str
    app_id: str
    agent_name: str


@dataclass(frozen=True, slots=True)
class Targets:
    bucket: str
    region: str
    environments: tuple[str, ...]
    targets: tuple[Target, ...]

    @classmethod
    def load(cls, path: Path = TARGETS_FILE) -> Targets:
        try:
            data: Any = json.loads(path.read_text())
            return cls(bucket=data.get("state_bucket", DEFAULT_BUCKET), region=data.get("region", DEFAULT_REGION),
                       environments=tuple(data["environments"]),
                       targets=tuple(Target(t["stack"], t["app_id"], t["agent_name"]) for t in data["targets"]))
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise BackendConfigError(f"{path}: not a targets file ({type(exc).__name__}: {exc})") from None

    def render_all(self) -> list[tuple[Target, str, BackendConfig]]:
        """Every target x environment; refuses two targets sharing a state key."""
        rendered, seen = [], {}
        for target in self.targets:
            validate_segment("stack", target.stack)
            for env in self.environments:
                config = render(env, target.app_id, target.agent_name,
                                bucket=self.bucket.replace("{env}", env), region=self.region)
                where = (config.bucket, config.key)
                if where in seen:
                    raise BackendConfigError(f"{target.stack} and {seen[where].stack} share the state key "
                                             f"s3://{config.bucket}/{config.key}")
                seen[where] = target
                rendered.append((target, env, config))
        return rendered


def uncovered_stacks(targets: Targets, stacks_dir: Path) -> tuple[list[str], list[str]]:
    """(stacks with an S3 backend but no target, targets naming a stack that does not exist)."""
    with_backend = sorted(d.name for d in stacks_dir.iterdir() if d.is_dir() and any(
        b.labels[:1] == ("s3",) for t in module_blocks(d) if t.type == "terraform" for b in t.find("backend")))
    named = {t.stack for t in targets.targets}
    return [s for s in with_backend if s not in named], sorted(s for s in named if not (stacks_dir / s).is_dir())


def format_table(rows: Iterable[tuple[Target, str, BackendConfig]]) -> str:
    rows = list(rows)
    header = ("stack", "env", "state")
    body = [(t.stack, env, f"s3://{c.bucket}/{c.key}") for t, env, c in rows]
    return render_table(header, body)
