"""``tenantkit deploy plan``: what SAM and Terraform receive for one environment, checked offline.

The plan is computed from checked-in files only (deploy/environments.json, samconfig.toml,
terraform/backend/targets.json, template.yaml, terraform/stacks/*): no AWS call, no Terraform
run. Names flow in one direction:

    deploy/environments.json --(tenantkit deploy tfvars)--> Terraform variables
         |                                                  |
         |                                      Terraform outputs (audit, agent stacks)
         v                                                  v
    samconfig.toml parameter_overrides  <== must equal ==  what SAM consumes

Every problem found is listed (not just the first), so one run shows everything to fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tenantkit_local.deploy import DeployConfigError
from tenantkit_local.deploy.sources import (
    Environment,
    EnvironmentsFile,
    Sources,
    load_environments,
    load_samconfig,
    load_targets,
    parameter_problem,
    stack_interface,
    template_parameters,
)

KNOWN_AFTER_APPLY = "(known after apply)"

# Prefix of the Athena results location: fixed in terraform/modules/audit_catalog (results_prefix).
ATHENA_RESULTS_PREFIX = "athena-results"

# SAM parameter <- (Terraform stack, output, the stack variable the output passes through).
# The audit stack outputs exactly the names it is given (proven by terraform/stacks/audit/tests/
# names.tftest.hcl), so its outputs are known before apply; the agent stack's profile ARN is not.
CONSUMED_OUTPUTS: dict[str, tuple[str, str, str | None]] = {
    "AuditBucketName": ("audit", "audit_bucket_name", "lake_bucket_name"),
    "AthenaResultsBucket": ("audit", "athena_results_bucket_name", "results_bucket_name"),
    "AthenaWorkgroup": ("audit", "athena_workgroup_name", "workgroup_name"),
    "AthenaDatabase": ("audit", "glue_database_name", "database_name"),
    "CompactionCatchUpDays": ("audit", "compaction_catchup_days", "compaction_catchup_days"),
    "InferenceProfileArn": ("agent", "inference_profile_arn", None),
}


def expected_sam_parameters(env_name: str, env: Environment, envs: EnvironmentsFile) -> dict[str, str]:
    """The SAM parameters whose value environments.json decides (all but the profile ARN)."""
    return {
        "StageName": env_name,
        "TenantRegistryParameter": env.tenant_registry_parameter,
        "TenantRegistryOperatorRoleName": env.registry_operator_role,
        "AuditBucketName": env.audit_bucket,
        "AthenaResultsBucket": env.athena_results_bucket,
        "AthenaWorkgroup": env.athena_workgroup,
        "AthenaDatabase": env.glue_database,
        "AthenaResultsPrefix": ATHENA_RESULTS_PREFIX,
        "CompactionCatchUpDays": str(env.compaction_catchup_days),
        "AgentName": envs.bff_agent.agent_name,
    }


def terraform_variables(stack: str, env_name: str, env: Environment, app_id: str,
                        agent_name: str) -> tuple[dict[str, Any], list[str]]:
    """(variables for one stack target, problems). Bound names cannot be overridden by extras."""
    if stack == "audit":
        bound: dict[str, Any] = {
            "env": env_name, "app_id": app_id, "region": env.region,
            "lake_bucket_name": env.audit_bucket, "results_bucket_name": env.athena_results_bucket,
            "workgroup_name": env.athena_workgroup, "database_name": env.glue_database,
            "compaction_catchup_days": env.compaction_catchup_days,
        }
    elif stack == "agent":
        bound = {"env": env_name, "app_id": app_id, "agent_name": agent_name, "region": env.region,
                 "enable_inference_profile": env.enable_inference_profile}
    else:
        bound = {"env": env_name, "app_id": app_id, "agent_name": agent_name, "region": env.region}
    extras = env.terraform.get(stack, {})
    problems = [f"environments.json {env_name}.terraform.{stack}.{k} overrides a name the environment owns "
                f"({bound[k]!r}); change the environment's field instead" for k in extras if k in bound]
    return {**bound, **{k: v for k, v in extras.items() if k not in bound}}, problems


@dataclass(slots=True)
class StackPlan:
    stack: str
    app_id: str
    agent_name: str
    state: str
    variables: dict[str, Any]
    defaulted: list[str] = field(default_factory=list)  # declared, not set: the stack's default applies


@dataclass(slots=True)
class SamParameter:
    name: str
    value: str
    source: str  # samconfig | template default | terraform output <stack>.<output>


@dataclass(slots=True)
class DeployPlan:
    env: str
    region: str | None = None
    stack_name: str | None = None
    sam: list[SamParameter] = field(default_factory=list)
    stacks: list[StackPlan] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def build_plan(env_name: str, sources: Sources | None = None) -> DeployPlan:
    sources = sources or Sources()
    plan = DeployPlan(env=env_name)
    envs = load_environments(sources.environments)
    env = envs.environments.get(env_name)
    if env is None:
        plan.problems.append(f"{sources.environments.name}: no environment {env_name!r} "
                             f"(defined: {', '.join(envs.environments) or 'none'})")
        return plan
    plan.region, plan.stack_name = env.region, env.stack_name
    _terraform_side(plan, env, envs, sources)
    _sam_side(plan, env, envs, sources)
    _wiring(plan, env, sources)
    return plan


def _terraform_side(plan: DeployPlan, env: Environment, envs: EnvironmentsFile, sources: Sources) -> None:
    targets = load_targets(sources.targets)
    if plan.env not in targets.environments:
        plan.problems.append(f"{sources.targets.name}: environment {plan.env!r} is not listed "
                             f"(environments: {', '.join(targets.environments)})")
        return
    from tenantkit_local.release.backend import BackendConfigError

    try:
        rendered = [(t, c) for t, e, c in targets.render_all() if e == plan.env]
    except BackendConfigError as exc:
        plan.problems.append(f"{sources.targets.name}: {exc}")
        return
    for name in env.terraform:
        if name not in {t.stack for t, _ in rendered}:
            plan.problems.append(f"environments.json {plan.env}.terraform.{name}: "
                                 f"no such stack in {sources.targets.name}")
    for target, backend in rendered:
        if target.stack == "audit" and target.app_id != envs.app_id:
            plan.problems.append(f"{sources.targets.name}: the audit target's app_id {target.app_id!r} is not "
                                 f"environments.json app_id {envs.app_id!r}")
        variables, problems = terraform_variables(target.stack, plan.env, env, target.app_id, target.agent_name)
        plan.problems += problems
        interface = stack_interface(sources.stacks / target.stack)
        for name in variables:
            if name not in interface.variables:
                plan.problems.append(f"terraform/stacks/{target.stack} declares no variable {name!r} "
                                     f"(environment {plan.env})")
        for name, has_default in interface.variables.items():
            if not has_default and name not in variables:
                plan.problems.append(f"terraform/stacks/{target.stack}: required variable {name!r} "
                                     f"is not set for {plan.env}")
        defaulted = sorted(n for n, has_default in interface.variables.items() if has_default and n not in variables)
        plan.stacks.append(StackPlan(target.stack, target.app_id, target.agent_name,
                                     f"s3://{backend.bucket}/{backend.key} ({backend.region})", variables, defaulted))


def _sam_side(plan: DeployPlan, env: Environment, envs: EnvironmentsFile, sources: Sources) -> None:
    params = template_parameters(sources.template)
    sam = load_samconfig(sources.samconfig, plan.env)
    where = f"{sources.samconfig.name} [{plan.env}.deploy.parameters]"
    if sam is None:
        plan.problems.append(f"{sources.samconfig.name}: no [{plan.env}.deploy.parameters] table "
                             f"(`sam deploy --config-env {plan.env}` would fail)")
        return
    if sam.region != env.region:
        plan.problems.append(f"{where}: region {sam.region!r}, but environments.json {plan.env}.region is "
                             f"{env.region!r} (Terraform would deploy to {env.region})")
    if sam.stack_name != env.stack_name:
        plan.problems.append(f"{sources.samconfig.name} [{plan.env}]: stack_name {sam.stack_name!r}, but "
                             f"environments.json {plan.env}.stack_name is {env.stack_name!r}")
    expected = expected_sam_parameters(plan.env, env, envs)
    for key in sam.overrides:
        if key not in params:
            plan.problems.append(f"{where}: {key} is not a parameter of {sources.template.name}")
    for key, value in expected.items():
        if key not in params:
            plan.problems.append(f"{sources.template.name}: no parameter {key} (environment {plan.env} sets it)")
        elif key not in sam.overrides:
            default = params[key].get("Default")
            plan.problems.append(f"{where}: {key} is not set; SAM would use the template default {default!r} "
                                 f"instead of {value!r}")
        elif sam.overrides[key] != value:
            plan.problems.append(f"{where}: {key}={sam.overrides[key]!r}, but environments.json says {value!r}")
    profile_key = "InferenceProfileArn"
    if env.enable_inference_profile and sam.overrides.get(profile_key):
        plan.problems.append(f"{where}: {profile_key} must not be fixed in samconfig when the agent stack "
                             "creates the profile; `tenantkit deploy sam-overrides` takes it from Terraform")
    for key, spec in params.items():
        if key == profile_key and env.enable_inference_profile:
            plan.sam.append(SamParameter(key, KNOWN_AFTER_APPLY, "terraform output agent.inference_profile_arn"))
            continue
        if key in sam.overrides:
            value, source = sam.overrides[key], "samconfig"
        elif "Default" in spec:
            value, source = str(spec["Default"]), "template default"
        else:
            plan.problems.append(f"{where}: {key} has no template default and is not set")
            continue
        problem = parameter_problem(key, spec, value)
        if problem:
            plan.problems.append(f"{where}: {problem}")
        plan.sam.append(SamParameter(key, value, source))


def _wiring(plan: DeployPlan, env: Environment, sources: Sources) -> None:
    """Each SAM parameter fed by a Terraform output: the output exists and will carry that value."""
    sam = {p.name: p for p in plan.sam}
    for key, (stack, output, variable) in CONSUMED_OUTPUTS.items():
        stack_plans = [s for s in plan.stacks if s.stack == stack]
        if not stack_plans:
            continue
        interface = stack_interface(sources.stacks / stack)
        if output not in interface.outputs:
            plan.problems.append(f"SAM parameter {key} consumes terraform/stacks/{stack} output {output!r}, "
                                 "which the stack does not declare")
            continue
        if variable is None or key not in sam:
            continue
        for stack_plan in stack_plans:
            produced = str(stack_plan.variables.get(variable))
            if sam[key].value != produced:
                plan.problems.append(f"{plan.env}: SAM parameter {key}={sam[key].value!r} but Terraform "
                                     f"stacks/{stack} output {output} will be {produced!r}")
    audit = next((s for s in plan.stacks if s.stack == "audit"), None)
    if audit is not None:
        retention = audit.variables.get("raw_retention_days", 14)
        if isinstance(retention, int) and retention <= env.compaction_catchup_days:
            plan.problems.append(f"{plan.env}: raw_retention_days {retention} must exceed compaction_catchup_days "
                                 f"{env.compaction_catchup_days} (catch-up re-reads raw objects)")


def render(plan: DeployPlan) -> str:
    import json

    lines = [f"environment {plan.env}: region {plan.region or '?'}, SAM stack {plan.stack_name or '?'}", ""]
    if plan.sam:
        lines.append(f"SAM parameters ({len(plan.sam)}; sam deploy --config-env {plan.env}):")
        width = max(len(p.name) for p in plan.sam)
        lines += [f"  {p.name.ljust(width)}  {p.value or chr(34) * 2}    [{p.source}]" for p in plan.sam]
        lines.append("")
    for stack in plan.stacks:
        lines.append(f"Terraform stacks/{stack.stack} {stack.app_id}/{stack.agent_name}: state {stack.state}")
        width = max(len(k) for k in stack.variables)
        lines += [f"  {k.ljust(width)} = {json.dumps(v)}" for k, v in stack.variables.items()]
        if stack.defaulted:
            lines.append(f"  (stack defaults: {', '.join(stack.defaulted)})")
        lines.append("")
    if plan.problems:
        lines.append(f"FAILED: {len(plan.problems)} problem(s)")
        lines += [f"  - {p}" for p in plan.problems]
    else:
        lines.append(f"OK: SAM and Terraform agree for {plan.env}")
    return "\n".join(lines)


def sam_overrides(plan: DeployPlan, outputs: dict[str, dict[str, Any]]) -> dict[str, str]:
    """The full ``--parameter-overrides`` for ``sam deploy``, with values from real Terraform outputs.

    ``outputs`` maps a stack to its ``terraform output -json``. Each output SAM consumes must
    be present and, where the plan knows the value, equal to it.
    """
    if not plan.ok:
        raise DeployConfigError(f"the plan for {plan.env} has problems; run `tenantkit deploy plan --env {plan.env}`")
    values = {p.name: p.value for p in plan.sam if p.source != "template default"}
    for key, (stack, output, _variable) in CONSUMED_OUTPUTS.items():
        after_apply = values.get(key) == KNOWN_AFTER_APPLY
        if key not in values and not after_apply:
            continue  # SAM keeps the template default (e.g. no profile in this environment)
        if stack not in outputs:
            if after_apply:
                raise DeployConfigError(f"{key} comes from terraform/stacks/{stack}; "
                                        f"pass --terraform-output {stack}=<file>")
            continue  # checked offline by the plan; checked again whenever the outputs are given
        entry = outputs[stack].get(output)
        actual = entry.get("value") if isinstance(entry, dict) else entry
        if actual is None:
            raise DeployConfigError(f"terraform output of stacks/{stack} has no value for {output}")
        if not after_apply and str(actual) != values[key]:
            raise DeployConfigError(f"terraform stacks/{stack} output {output}={actual!r}, but {plan.env} "
                                    f"expects {key}={values[key]!r}")
        values[key] = str(actual)
    return values
