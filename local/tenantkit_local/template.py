"""Reading ``template.yaml`` the way ``sam local invoke`` does: handler, code path, and the
environment (Globals + function + an ``--env-vars`` file), with parameters resolved."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tenantkit.exceptions import TenantkitError

LOCAL_PSEUDO_PARAMETERS = {
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "tenantkit-local",
}


class TemplateError(TenantkitError, ValueError):
    pass


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns short-form intrinsics (``!Ref x``) into their long form."""


def _intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if tag_suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(), Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    except (OSError, yaml.YAMLError) as exc:
        raise TemplateError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict) or "Resources" not in data:
        raise TemplateError(f"{path} has no Resources")
    return data


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_dir: Path
    module: str
    function: str
    environment: dict[str, str]
    timeout_seconds: int
    memory_mb: int


def function_spec(
    template_path: Path,
    logical_id: str,
    *,
    env_vars: dict[str, dict[str, str]] | None = None,
    parameter_overrides: dict[str, str] | None = None,
    resource_names: dict[str, str] | None = None,
) -> FunctionSpec:
    """``resource_names`` resolves ``!Ref <resource>`` to a physical name (local tables etc.)."""
    template = load_template(template_path)
    resources = template["Resources"]
    resource = resources.get(logical_id)
    if not resource or resource.get("Type") != "AWS::Serverless::Function":
        functions = sorted(k for k, v in resources.items() if v.get("Type") == "AWS::Serverless::Function")
        raise TemplateError(
            f"{logical_id!r} is not a function in {template_path.name}; functions: {', '.join(functions)}"
        )
    globals_fn = (template.get("Globals") or {}).get("Function") or {}
    props = {**globals_fn, **resource.get("Properties", {})}
    parameters = {**parameter_values(template, parameter_overrides or {}), **(resource_names or {})}

    handler = props.get("Handler", "")
    module, _, function = handler.rpartition(".")
    if not module:
        raise TemplateError(f"{logical_id}: Handler {handler!r} is not module.function")
    environment: dict[str, str] = {}
    for source in (globals_fn, resource.get("Properties", {})):
        variables = ((source.get("Environment") or {}).get("Variables")) or {}
        for name, value in variables.items():
            resolved = _resolve(value, parameters)
            # Declared but unresolvable (a parameter without default): empty, overridable.
            environment[name] = "" if resolved is None else str(resolved)
    # Like SAM: an env-vars file overrides only variables the template declares.
    for scope in ("Parameters", logical_id):
        for name, value in ((env_vars or {}).get(scope) or {}).items():
            if name in environment:
                environment[name] = str(value)
    return FunctionSpec(
        logical_id=logical_id,
        code_dir=(template_path.parent / props.get("CodeUri", ".")).resolve(),
        module=module,
        function=function,
        environment=environment,
        timeout_seconds=int(props.get("Timeout", 3)),
        memory_mb=int(props.get("MemorySize", 128)),
    )


def load_env_vars(path: Path | None) -> dict[str, dict[str, str]]:
    if path is None:
        return {}
    data = json.loads(path.read_text())
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise TemplateError(f"{path}: expected {{\"FunctionId\": {{\"VAR\": \"value\"}}}}")
    return data


def parameter_values(template: dict[str, Any], overrides: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = dict(LOCAL_PSEUDO_PARAMETERS)
    for name, spec in (template.get("Parameters") or {}).items():
        if name in overrides:
            values[name] = overrides[name]
        elif "Default" in spec:
            values[name] = spec["Default"]
    return values


def resources_of_type(template_path: Path, resource_type: str) -> list[str]:
    return sorted(k for k, v in load_template(template_path)["Resources"].items() if v.get("Type") == resource_type)


def _resolve(value: Any, parameters: dict[str, Any]) -> Any:
    """Resolve Ref/Sub against parameters (and known resource names); anything else is dropped."""
    if isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dict) and len(value) == 1:
        (kind, arg), = value.items()
        if kind == "Ref":
            return parameters.get(arg)
        if kind == "Fn::Sub":
            text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
            scope = {**parameters, **{k: _resolve(v, parameters) for k, v in extra.items()}}
            missing = [m for m in re.findall(r"\$\{([^}!]+)\}", text) if scope.get(m) is None]
            if missing:
                return None
            return re.sub(r"\$\{([^}!]+)\}", lambda m: str(scope[m.group(1)]), text)
    return None
