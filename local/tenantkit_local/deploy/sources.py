"""Reading the deployment sources: deploy/environments.json, samconfig.toml, terraform/backend/
targets.json, template.yaml parameters and the Terraform stacks' variables and outputs.

Every reader raises :class:`DeployConfigError` naming the file, never a bare KeyError.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tenantkit_local import PROJECT_ROOT
from tenantkit_local.deploy import DeployConfigError

_REGION = r"^[a-z]{2}(-[a-z]+)+-[0-9]$"
_BUCKET = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
_SEGMENT = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
ENV_NAME = re.compile(r"^[a-z][a-z0-9-]{1,15}$")  # the SAM StageName pattern


@dataclass(frozen=True, slots=True)
class Sources:
    """Where each configuration file lives; tests point these at broken copies."""

    environments: Path = PROJECT_ROOT / "deploy" / "environments.json"
    samconfig: Path = PROJECT_ROOT / "samconfig.toml"
    targets: Path = PROJECT_ROOT / "terraform" / "backend" / "targets.json"
    template: Path = PROJECT_ROOT / "template.yaml"
    stacks: Path = PROJECT_ROOT / "terraform" / "stacks"


class Agent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    app_id: str = Field(pattern=_SEGMENT)
    agent_name: str = Field(pattern=_SEGMENT)


class Environment(BaseModel):
    """Region and every name one environment owns. No two environments may share a name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    region: str = Field(pattern=_REGION)
    stack_name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9-]{0,127}$")
    audit_bucket: str = Field(pattern=_BUCKET)
    athena_results_bucket: str = Field(pattern=_BUCKET)
    athena_workgroup: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,128}$")
    glue_database: str = Field(pattern=r"^[a-z][a-z0-9_]{0,254}$")
    tenant_registry_parameter: str = Field(pattern=r"^/[A-Za-z0-9_./-]+$")
    registry_operator_role: str = Field(pattern=r"^[A-Za-z0-9+=,.@_-]{1,64}$")
    compaction_catchup_days: int = Field(ge=1, le=31)
    enable_inference_profile: bool = False
    terraform: dict[str, dict[str, Any]] = Field(default_factory=dict)


# Names that identify a resource: two environments sharing one would read each other's data.
OWNED_NAMES = ("stack_name", "audit_bucket", "athena_results_bucket", "athena_workgroup", "glue_database",
               "tenant_registry_parameter", "registry_operator_role")


class EnvironmentsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = ""
    app_id: str = Field(pattern=_SEGMENT)
    bff_agent: Agent
    environments: dict[str, Environment]


def load_environments(path: Path) -> EnvironmentsFile:
    try:
        data = EnvironmentsFile.model_validate_json(path.read_text())
    except OSError as exc:
        raise DeployConfigError(f"{path}: cannot read ({exc.strerror})") from None
    except ValidationError as exc:
        where = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])
        raise DeployConfigError(f"{path}: {where}") from None
    for name in data.environments:
        if not ENV_NAME.fullmatch(name):
            raise DeployConfigError(f"{path}: environment name {name!r} must match {ENV_NAME.pattern}")
    for attr in OWNED_NAMES:
        seen: dict[str, str] = {}
        for name, env in data.environments.items():
            value = getattr(env, attr)
            if value in seen:
                raise DeployConfigError(f"{path}: environments {seen[value]} and {name} share {attr} {value!r}; "
                                        "each environment must own its names")
            seen[value] = name
    return data


@dataclass(frozen=True, slots=True)
class SamEnvironment:
    """One ``--config-env`` of samconfig.toml, as ``sam deploy`` reads it."""

    region: str | None
    stack_name: str | None
    overrides: dict[str, str]


def parse_overrides(text: str) -> dict[str, str]:
    """SAM's ``parameter_overrides`` string: ``Key=Value Key2="value with spaces"``."""
    result: dict[str, str] = {}
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise DeployConfigError(f"parameter_overrides: {exc}") from None
    for word in words:
        key, sep, value = word.partition("=")
        if not sep or not key:
            raise DeployConfigError(f"parameter_overrides: {word!r} is not Key=Value")
        if key in result:
            raise DeployConfigError(f"parameter_overrides: {key} is set twice")
        result[key] = value
    return result


def format_overrides(values: dict[str, str]) -> str:
    """The ``parameter_overrides`` syntax SAM reads: bare values, double quotes around blanks."""
    words = []
    for key, value in values.items():
        if '"' in value or "\n" in value:
            raise DeployConfigError(f"parameter {key}: a value with a double quote or newline cannot be passed to SAM")
        words.append(f'{key}="{value}"' if not value or any(c.isspace() for c in value) else f"{key}={value}")
    return " ".join(words)


def load_samconfig(path: Path, env: str) -> SamEnvironment | None:
    """None when samconfig.toml has no ``[<env>.deploy.parameters]`` table."""
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise DeployConfigError(f"{path}: cannot read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise DeployConfigError(f"{path}: {exc}") from None
    section = data.get(env, {})
    deploy = section.get("deploy", {}).get("parameters")
    if deploy is None:
        return None
    stack_name = deploy.get("stack_name", section.get("global", {}).get("parameters", {}).get("stack_name"))
    try:
        overrides = parse_overrides(deploy.get("parameter_overrides", ""))
    except DeployConfigError as exc:
        raise DeployConfigError(f"{path} [{env}.deploy.parameters] {exc}") from None
    return SamEnvironment(region=deploy.get("region"), stack_name=stack_name, overrides=overrides)


def template_parameters(path: Path) -> dict[str, dict[str, Any]]:
    from tenantkit_local.template import TemplateError, load_template

    try:
        return dict(load_template(path).get("Parameters", {}))
    except TemplateError as exc:
        raise DeployConfigError(str(exc)) from None


def parameter_problem(name: str, spec: dict[str, Any], value: str) -> str | None:
    """Why CloudFormation would refuse ``value`` for this parameter, or None."""
    pattern = spec.get("AllowedPattern")
    if pattern and not re.fullmatch(pattern, value):
        return f"{name}={value!r} does not match the template's AllowedPattern {pattern}"
    allowed = spec.get("AllowedValues")
    if allowed and value not in {str(v) for v in allowed}:
        return f"{name}={value!r} is not one of the template's AllowedValues {allowed}"
    if spec.get("Type") == "Number":
        try:
            number = float(value)
        except ValueError:
            return f"{name}={value!r} is not a number"
        if "MinValue" in spec and number < float(spec["MinValue"]):
            return f"{name}={value} is below MinValue {spec['MinValue']}"
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            return f"{name}={value} is above MaxValue {spec['MaxValue']}"
    if "MinLength" in spec and len(value) < int(spec["MinLength"]):
        return f"{name} must be at least {spec['MinLength']} characters"
    return None


@dataclass(frozen=True, slots=True)
class StackInterface:
    """A Terraform root module's inputs (name -> has a default) and output names."""

    variables: dict[str, bool]
    outputs: frozenset[str] = field(default_factory=frozenset)


def stack_interface(directory: Path) -> StackInterface:
    from tenantkit_local.release.hcl import module_blocks

    if not directory.is_dir():
        raise DeployConfigError(f"{directory}: no such Terraform stack")
    blocks = module_blocks(directory)
    variables = {}
    for block in blocks:
        if block.type == "variable":
            # python-hcl2 parses the block: a default is an attribute of the variable itself
            # (never of a nested validation block).
            variables[block.labels[0]] = "default" in block.attributes
    outputs = frozenset(b.labels[0] for b in blocks if b.type == "output")
    return StackInterface(variables=variables, outputs=outputs)


def load_targets(path: Path) -> Any:
    from tenantkit_local.release.backend import BackendConfigError, Targets

    if not path.is_file():
        raise DeployConfigError(f"{path}: no such file")
    try:
        return Targets.load(path)
    except BackendConfigError as exc:
        raise DeployConfigError(str(exc)) from None


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise DeployConfigError(f"{path}: {exc}") from None
