"""docs/examples/gitlab-ci.yml references only what exists: every environment it deploys has a
samconfig.toml table, an entry in deploy/environments.json and Terraform targets; every
``tenantkit`` command it runs parses with the real CLI for every environment; every stack
directory and variable it uses is defined."""

from __future__ import annotations

import re
import shlex
from typing import Any

import pytest
import yaml

from tenantkit_local import PROJECT_ROOT
from tenantkit_local.cli import build_parser
from tenantkit_local.deploy.plan import build_plan
from tenantkit_local.deploy.sources import Sources, load_environments, load_samconfig
from tenantkit_local.release.backend import Targets

EXAMPLE = yaml.safe_load((PROJECT_ROOT / "docs" / "examples" / "gitlab-ci.yml").read_text())
JOBS = {name: job for name, job in EXAMPLE.items()
        if isinstance(job, dict) and not name.startswith(".") and ("script" in job or "extends" in job)}
SECRETS = {"RELEASE_EVIDENCE_TOKEN"}  # masked project variables the example documents inline
DEPLOY_ENVS = sorted({job["environment"]["name"] for name, job in JOBS.items()
                      if name.startswith("deploy-") and "environment" in job})


def lines(job: dict[str, Any]) -> list[str]:
    parent = EXAMPLE.get(job.get("extends", ""), {}) if isinstance(job.get("extends"), str) else {}
    return list(job.get("script") or parent.get("script") or [])


def variables_of(name: str, job: dict[str, Any]) -> dict[str, str]:
    parent = EXAMPLE.get(job.get("extends", ""), {}) if isinstance(job.get("extends"), str) else {}
    return {**EXAMPLE.get("variables", {}), **parent.get("variables", {}), **job.get("variables", {})}


def test_the_example_deploys_exactly_the_defined_environments():
    envs = load_environments(Sources().environments).environments
    assert DEPLOY_ENVS == sorted(envs) == sorted(Targets.load().environments)
    for env in DEPLOY_ENVS:
        assert load_samconfig(PROJECT_ROOT / "samconfig.toml", env) is not None, env
        assert build_plan(env).problems == [], env


@pytest.mark.parametrize("env", DEPLOY_ENVS)
def test_every_tenantkit_command_parses_for_every_environment(env):
    parser = build_parser()
    seen = 0
    for name, job in JOBS.items():
        values = {**variables_of(name, job), "CI_ENVIRONMENT_NAME": env, "CI_PROJECT_DIR": "/builds/p"}
        for line in lines(job):
            command = line.split(">")[0].strip()
            if not command.startswith("tenantkit "):
                continue
            expanded = re.sub(r"\$(\w+)", lambda m, v=values: v.get(m.group(1), f"<{m.group(1)}>"), command)
            parser.parse_args(shlex.split(expanded)[1:])  # SystemExit (argparse error) fails the test
            seen += 1
    assert seen >= 6


def test_backend_targets_and_stack_directories_exist():
    targets = {(t.app_id, t.agent_name) for t in Targets.load().targets}
    for name, job in JOBS.items():
        values = variables_of(name, job)
        for line in lines(job):
            for directory in re.findall(r"-chdir=(\S+)", line):
                assert (PROJECT_ROOT / directory).is_dir(), directory
            if "tf backend-config" in line:
                app = re.search(r"--app-id (\S+)", line).group(1).strip('"')
                agent = re.search(r"--agent-name (\S+)", line).group(1).strip('"')
                resolved = tuple(values.get(v[1:], v) if v.startswith("$") else v for v in (app, agent))
                assert resolved in targets, resolved


def test_every_variable_is_defined_or_predefined():
    for name, job in JOBS.items():
        defined = set(variables_of(name, job)) | SECRETS
        assigned = {m for line in lines(job) for m in re.findall(r"^\s*-?\s*(\w+)=", line)}
        for line in lines(job) + [str(r) for r in job.get("rules", [])]:
            shell = re.sub(r"'[^']*'", "", line)  # single-quoted text is not expanded (jq's $env)
            for variable in re.findall(r"\$\{?(\w+)", shell):
                assert variable.startswith("CI_") or variable in defined | assigned, f"{name}: ${variable}"
