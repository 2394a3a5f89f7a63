"""``tenantkit deploy plan``: every environment renders from deploy/environments.json, and a broken
copy of any source (missing environment, mismatched name, wrong region, a stack that does not
take or give what the other consumes) fails with a message naming the file and the value."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenantkit_local import PROJECT_ROOT
from tenantkit_local.cli import main
from tenantkit_local.deploy import DeployConfigError
from tenantkit_local.deploy.plan import build_plan, sam_overrides
from tenantkit_local.deploy.sources import OWNED_NAMES, Sources, load_environments, parse_overrides

ENVS = ("dev", "staging", "prod")


@pytest.fixture
def copy(tmp_path: Path) -> Sources:
    """A private copy of every source the plan reads, to break one at a time."""
    (tmp_path / "deploy").mkdir()
    shutil.copy(PROJECT_ROOT / "deploy" / "environments.json", tmp_path / "deploy" / "environments.json")
    shutil.copy(PROJECT_ROOT / "samconfig.toml", tmp_path / "samconfig.toml")
    shutil.copy(PROJECT_ROOT / "template.yaml", tmp_path / "template.yaml")
    (tmp_path / "targets").mkdir()
    shutil.copy(PROJECT_ROOT / "terraform" / "backend" / "targets.json", tmp_path / "targets" / "targets.json")
    for stack in ("audit", "agent"):
        shutil.copytree(PROJECT_ROOT / "terraform" / "stacks" / stack, tmp_path / "stacks" / stack,
                        ignore=shutil.ignore_patterns(".terraform*", "tests"))
    return Sources(environments=tmp_path / "deploy" / "environments.json", samconfig=tmp_path / "samconfig.toml",
                   targets=tmp_path / "targets" / "targets.json", template=tmp_path / "template.yaml",
                   stacks=tmp_path / "stacks")


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text()
    assert text.count(old) >= count, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, count))


def edit_env(sources: Sources, env: str, **fields: object) -> None:
    data = json.loads(sources.environments.read_text())
    data["environments"][env].update(fields)
    sources.environments.write_text(json.dumps(data))


@pytest.mark.parametrize("env", ENVS)
def test_every_environment_renders_and_agrees(env):
    plan = build_plan(env)
    assert plan.problems == []
    sam = {p.name: p.value for p in plan.sam}
    environment = load_environments(Sources().environments).environments[env]
    assert sam["StageName"] == env and sam["AuditBucketName"] == environment.audit_bucket
    assert sam["AthenaWorkgroup"] == environment.athena_workgroup and sam["AthenaDatabase"] == environment.glue_database
    audit = next(s for s in plan.stacks if s.stack == "audit")
    assert audit.variables["region"] == plan.region == environment.region
    assert audit.variables["lake_bucket_name"] == sam["AuditBucketName"]
    assert {s.stack for s in plan.stacks} == {"audit", "agent"}
    assert all(f"s3://tenantkit-tfstate-{env}/{env}/" in s.state for s in plan.stacks)


def test_a_deploy_must_name_its_environment():
    import tomllib

    config = tomllib.loads((PROJECT_ROOT / "samconfig.toml").read_text())
    assert "deploy" not in config["default"] and "global" not in config["default"]
    assert set(config) - {"version", "default"} == set(ENVS)


def test_environments_share_no_name():
    envs = load_environments(Sources().environments).environments
    for field in OWNED_NAMES:
        values = [getattr(e, field) for e in envs.values()]
        assert len(set(values)) == len(values), field
    for name, env in envs.items():
        for other_name in envs:
            if other_name != name:  # no name of one environment mentions another's
                assert not any(other_name in re.split(r"[^a-z0-9]+", str(getattr(env, f))) for f in OWNED_NAMES)


def test_cli_prints_every_parameter_and_variable(capsys):
    assert main(["deploy", "plan", "--env", "prod"]) == 0
    out = capsys.readouterr().out
    assert "AuditBucketName" in out and "tenantkit-audit-prod" in out and "lake_bucket_name" in out
    assert "InferenceProfileArn" in out and "terraform output agent.inference_profile_arn" in out
    assert out.rstrip().endswith("OK: SAM and Terraform agree for prod")


# --- broken copies -------------------------------------------------------------------------

def test_missing_environment_in_samconfig(copy):
    edit(copy.samconfig, "[staging.deploy.parameters]", "[staging-old.deploy.parameters]")
    problems = build_plan("staging", copy).problems
    assert problems == ["samconfig.toml: no [staging.deploy.parameters] table "
                        "(`sam deploy --config-env staging` would fail)"]


def test_missing_environment_in_environments_json(copy):
    data = json.loads(copy.environments.read_text())
    del data["environments"]["staging"]
    copy.environments.write_text(json.dumps(data))
    assert build_plan("staging", copy).problems == [
        "environments.json: no environment 'staging' (defined: dev, prod)"]


def test_missing_environment_in_terraform_targets(copy):
    edit(copy.targets, '"environments": ["dev", "staging", "prod"]', '"environments": ["dev", "prod"]')
    assert any("targets.json: environment 'staging' is not listed" in p for p in build_plan("staging", copy).problems)


def test_mismatched_bucket_in_samconfig(copy):
    edit(copy.samconfig, "AuditBucketName=tenantkit-audit-prod", "AuditBucketName=tenantkit-audit-dev")
    problems = build_plan("prod", copy).problems
    assert "samconfig.toml [prod.deploy.parameters]: AuditBucketName='tenantkit-audit-dev', but " \
           "environments.json says 'tenantkit-audit-prod'" in problems
    assert any("SAM parameter AuditBucketName='tenantkit-audit-dev' but Terraform stacks/audit output "
               "audit_bucket_name will be 'tenantkit-audit-prod'" in p for p in problems)


def test_an_omitted_name_would_fall_back_to_the_dev_default(copy):
    edit(copy.samconfig, " AthenaWorkgroup=tenantkit-prod-audit", "")
    assert any("AthenaWorkgroup is not set; SAM would use the template default 'tenantkit-dev-audit'" in p
               for p in build_plan("prod", copy).problems)


def test_two_environments_sharing_a_bucket(copy):
    edit_env(copy, "prod", audit_bucket="tenantkit-audit-dev")
    with pytest.raises(DeployConfigError, match="environments dev and prod share audit_bucket 'tenantkit-audit-dev'"):
        build_plan("prod", copy)


def test_wrong_region_in_samconfig(copy):
    edit(copy.samconfig, 'region = "eu-west-1"\nparameter_overrides = "StageName=prod',
         'region = "us-east-1"\nparameter_overrides = "StageName=prod')
    assert build_plan("prod", copy).problems == [
        "samconfig.toml [prod.deploy.parameters]: region 'us-east-1', but environments.json prod.region is "
        "'eu-west-1' (Terraform would deploy to eu-west-1)"]


def test_wrong_stack_name(copy):
    edit(copy.samconfig, 'stack_name = "tenantkit-staging"', 'stack_name = "tenantkit-dev"')
    assert any("stack_name 'tenantkit-dev'" in p for p in build_plan("staging", copy).problems)


def test_terraform_stack_without_the_variable(copy):
    edit(copy.stacks / "audit" / "variables.tf", 'variable "workgroup_name"', 'variable "athena_workgroup_name"')
    problems = build_plan("dev", copy).problems
    assert "terraform/stacks/audit declares no variable 'workgroup_name' (environment dev)" in problems


def test_terraform_stack_without_the_output_sam_consumes(copy):
    edit(copy.stacks / "audit" / "outputs.tf", 'output "glue_database_name"', 'output "database"')
    assert "SAM parameter AthenaDatabase consumes terraform/stacks/audit output 'glue_database_name', " \
           "which the stack does not declare" in build_plan("dev", copy).problems


def test_an_extra_terraform_variable_cannot_override_an_owned_name(copy):
    edit_env(copy, "dev", terraform={"audit": {"lake_bucket_name": "somebody-elses-bucket"}})
    assert any("overrides a name the environment owns" in p for p in build_plan("dev", copy).problems)


def test_unknown_and_invalid_sam_parameters(copy):
    edit(copy.samconfig, "LogRetentionDays=14", "LogRetentionDays=13 AuditBucket=x")
    problems = build_plan("dev", copy).problems
    assert any("LogRetentionDays='13' is not one of the template's AllowedValues" in p for p in problems)
    assert any("AuditBucket is not a parameter of template.yaml" in p for p in problems)


def test_a_profile_arn_fixed_in_samconfig_is_refused_where_terraform_creates_it(copy):
    edit(copy.samconfig, "StageName=prod", "StageName=prod InferenceProfileArn=arn:aws:bedrock:x")
    assert any("InferenceProfileArn must not be fixed in samconfig" in p for p in build_plan("prod", copy).problems)


def test_raw_retention_must_outlive_the_catch_up(copy):
    edit_env(copy, "prod", terraform={"audit": {"raw_retention_days": 3}})
    problems = build_plan("prod", copy).problems
    assert any("raw_retention_days 3 must exceed compaction_catchup_days 3" in p for p in problems)


def test_unreadable_files_are_a_clear_error_exit_2(copy, capsys):
    copy.environments.write_text("{not json")
    with pytest.raises(DeployConfigError, match=r"environments\.json"):
        build_plan("dev", copy)
    assert main(["deploy", "plan", "--env", "dev", "--environments", str(copy.environments)]) == 2
    assert "tenantkit deploy:" in capsys.readouterr().err


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(env=st.sampled_from(ENVS),
       key=st.sampled_from(["StageName", "TenantRegistryParameter", "TenantRegistryOperatorRoleName",
                            "AuditBucketName", "AthenaResultsBucket", "AthenaWorkgroup", "AthenaDatabase",
                            "CompactionCatchUpDays", "AgentName"]),
       other=st.sampled_from(ENVS))
def test_any_owned_parameter_taken_from_another_environment_fails(tmp_path_factory, env, key, other):
    """The class: whichever name is copied from whichever other environment, the plan fails on it."""
    if other == env:
        return
    root = tmp_path_factory.mktemp("cfg")
    sources = Sources(samconfig=root / "samconfig.toml")
    text = (PROJECT_ROOT / "samconfig.toml").read_text()
    table = r'(?m)^\[(\w+)\.deploy\.parameters\][^\[]*?parameter_overrides = "([^"]*)"'
    sections = {m.group(1): m for m in re.finditer(table, text)}
    mine, theirs = parse_overrides(sections[env].group(2)), parse_overrides(sections[other].group(2))
    if mine[key] == theirs[key]:
        return  # a setting both environments legitimately share (e.g. the agent name)
    broken = sections[env].group(2).replace(f"{key}={mine[key]}", f"{key}={theirs[key]}")
    (root / "samconfig.toml").write_text(text.replace(sections[env].group(2), broken))
    problems = build_plan(env, sources).problems
    assert any(f"{key}={theirs[key]!r}" in p for p in problems), problems


# --- deploy time: real Terraform outputs -------------------------------------------------------

def outputs(**values: object) -> dict[str, dict[str, object]]:
    return {k: {"value": v, "type": "string", "sensitive": False} for k, v in values.items()}


def test_sam_overrides_take_the_profile_arn_from_terraform_and_check_the_names():
    plan = build_plan("prod")
    audit = outputs(audit_bucket_name="tenantkit-audit-prod",
                    athena_results_bucket_name="tenantkit-athena-results-prod",
                    athena_workgroup_name="tenantkit-prod-audit", glue_database_name="tenantkit_prod_audit",
                    compaction_catchup_days=3)
    arn = "arn:aws:bedrock:eu-west-1:123456789012:application-inference-profile/abc123"
    values = sam_overrides(plan, {"audit": audit, "agent": outputs(inference_profile_arn=arn)})
    assert values["InferenceProfileArn"] == arn and values["AuditBucketName"] == "tenantkit-audit-prod"
    assert values["StageName"] == "prod" and values["LogRetentionDays"] == "365"
    with pytest.raises(DeployConfigError, match="pass --terraform-output agent"):
        sam_overrides(plan, {"audit": audit})
    audit["athena_workgroup_name"]["value"] = "tenantkit-dev-audit"
    with pytest.raises(DeployConfigError, match="athena_workgroup_name='tenantkit-dev-audit', but prod expects"):
        sam_overrides(plan, {"audit": audit, "agent": outputs(inference_profile_arn=arn)})


def test_sam_overrides_without_a_profile_need_no_agent_output(tmp_path, capsys):
    assert "InferenceProfileArn" not in sam_overrides(build_plan("dev"), {})
    out = tmp_path / "agent.json"
    out.write_text(json.dumps(outputs(inference_profile_arn=None)))
    assert main(["deploy", "sam-overrides", "--env", "dev", "--terraform-output", f"agent={out}"]) == 0
    line = capsys.readouterr().out.strip()
    assert parse_overrides(line)["AuditBucketName"] == "tenantkit-audit-dev"


def test_tfvars_renders_one_target(capsys, tmp_path):
    assert main(["deploy", "tfvars", "--env", "staging", "--stack", "agent", "--app-id", "portal",
                 "--agent-name", "support-agent"]) == 0
    variables = json.loads(capsys.readouterr().out)
    assert variables["region"] == "eu-west-1" and variables["enable_inference_profile"] is True
    assert main(["deploy", "tfvars", "--env", "staging", "--stack", "agent"]) == 2  # two targets: which?
    assert "give --app-id and --agent-name" in capsys.readouterr().err


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.from_regex(r"[A-Z][A-Za-z0-9]{0,20}", fullmatch=True),
                       st.text(alphabet=st.characters(blacklist_characters='"\n', blacklist_categories=("Cs",)),
                               max_size=30), max_size=6))
def test_sam_override_strings_round_trip(values):
    """What sam-overrides prints parses back to the same values (SAM's Key=Value / Key="v w" form)."""
    from tenantkit_local.deploy.sources import format_overrides

    if any(v != v.strip() or "\\" in v or "'" in v or "\r" in v for v in values.values()):
        return  # shell-style escapes and edge blanks are not part of SAM's format
    assert parse_overrides(format_overrides(values)) == values
