"""Segmented state keys (ADR 0013): rendering, segment validation, injection attempts, targets, CLI."""

from __future__ import annotations

import json

import pytest

from tenantkit_local import PROJECT_ROOT
from tenantkit_local.cli import main
from tenantkit_local.release.backend import (
    TARGETS_FILE,
    BackendConfigError,
    Target,
    Targets,
    render,
    state_key,
    uncovered_stacks,
    validate_segment,
)


def test_renders_the_segmented_key_with_lockfile_locking():
    config = render("dev", "portal", "support-agent")
    assert config.key == "dev/portal/support-agent/terraform.tfstate"
    assert config.args() == [
        "-backend-config=bucket=tenantkit-tfstate-dev",
        "-backend-config=key=dev/portal/support-agent/terraform.tfstate",
        "-backend-config=region=us-east-1",
        "-backend-config=use_lockfile=true",
        "-backend-config=encrypt=true",
    ]
    assert 'key = "dev/portal/support-agent/terraform.tfstate"\n' in config.tfbackend()
    assert "use_lockfile = true\n" in config.tfbackend() and "dynamodb_table" not in config.tfbackend()


def test_bucket_and_region_overrides_are_validated():
    config = render("prod", "portal", "support-agent", bucket="acme-tf-state.prod", region="eu-central-1")
    assert (config.bucket, config.region) == ("acme-tf-state.prod", "eu-central-1")
    for bucket in ("Acme-State", "a", "x..y", "192.168.1.10", "bucket/../other", "-lead"):
        with pytest.raises(BackendConfigError, match="bucket"):
            render("dev", "portal", "agent", bucket=bucket)
    for region in ("us-east", "US-EAST-1", "us-east-1; rm -rf /", ""):
        with pytest.raises(BackendConfigError, match="region"):
            render("dev", "portal", "agent", region=region or "x")


@pytest.mark.parametrize("value", ["dev", "prod-eu", "a", "agent-42", "x" * 63, "0"])
def test_valid_segments(value):
    assert validate_segment("env", value) == value


@pytest.mark.parametrize(("value", "problem"), [
    ("", "must not be empty"),
    ("x" * 64, "64 characters long; the limit is 63"),
    ("Prod", "uppercase"),
    ("PORTAL", "uppercase"),
    ("../prod", "path separator"),
    ("..", "'..'"),
    ("a..b", "'..'"),
    ("dev/portal", "path separator"),
    ("dev\\portal", "path separator"),
    ("%2e%2e", "URL-encoded"),
    ("%2fetc", "URL-encoded"),
    ("..%2f", "'..'"),
    ("dev portal", "whitespace"),
    ("dev\n", "whitespace"),
    ("dev\t", "whitespace"),
    ("p\u043ertal", "non-ASCII"),  # Cyrillic small o, looks like "portal"
    ("\uff50ortal", "non-ASCII"),  # fullwidth p
    ("portal\u200b", "non-ASCII"),  # zero-width space
    ("dev;rm", "only a-z, 0-9 and '-'"),
    ("$(id)", "only a-z, 0-9 and '-'"),
    ("-dev", "start and end"),
    ("dev-", "start and end"),
    ("dev_1", "only a-z"),
    ("dev.1", "only a-z"),
    ("*", "only a-z"),
])
def test_bad_segments_are_refused(value, problem):
    with pytest.raises(BackendConfigError, match="env ") as err:
        validate_segment("env", value)
    assert problem in str(err.value)


@pytest.mark.parametrize(("env", "app_id", "agent"), [
    ("dev", "../../prod", "agent"), ("dev", "portal", "../../../agentcore/prod"),
    ("dev", "%2e%2e", "x"), ("dev/..", "portal", "x"), ("dev", "portal", "a/b"),
])
def test_no_key_escapes_its_prefix(env, app_id, agent):
    with pytest.raises(BackendConfigError):
        state_key(env, app_id, agent)


def test_every_target_renders_a_unique_key():
    targets = Targets.load()
    rows = targets.render_all()
    assert len(rows) == len(targets.targets) * len(targets.environments)
    keys = [c.key for _, _, c in rows]
    assert len(set(keys)) == len(keys)
    assert all(k.count("/") == 3 and not k.startswith("agentcore/") for k in keys)
    assert uncovered_stacks(targets, PROJECT_ROOT / "terraform" / "stacks") == ([], [])


def test_two_targets_sharing_a_key_are_refused():
    twins = (Target("agent", "portal", "x"), Target("other", "portal", "x"))
    targets = Targets("b-{env}", "us-east-1", ("dev",), twins)
    with pytest.raises(BackendConfigError, match="share the state key"):
        targets.render_all()


def test_uncovered_stack_is_reported(tmp_path):
    (tmp_path / "stacks" / "new").mkdir(parents=True)
    (tmp_path / "stacks" / "new" / "versions.tf").write_text('terraform {\n  backend "s3" {}\n}\n')
    (tmp_path / "stacks" / "local").mkdir()
    (tmp_path / "stacks" / "local" / "main.tf").write_text('# backend "s3" {} is only a comment here\n')
    targets = Targets("b-{env}", "us-east-1", ("dev",), (Target("gone", "portal", "x"),))
    assert uncovered_stacks(targets, tmp_path / "stacks") == (["new"], ["gone"])


# --- CLI --------------------------------------------------------------------------------------------


def test_cli_prints_backend_config_args(capsys):
    args = ["--env", "staging", "--app-id", "portal", "--agent-name", "support-agent"]
    assert main(["tf", "backend-config", *args]) == 0
    out = capsys.readouterr().out
    assert out.split() == render("staging", "portal", "support-agent").args()
    assert main(["tf", "backend-config", "--env", "dev", "--app-id", "p", "--agent-name", "a", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["use_lockfile"] == "true"


@pytest.mark.parametrize("args", [
    ["--env", "dev", "--app-id", "../prod", "--agent-name", "a"],
    ["--env", "DEV", "--app-id", "p", "--agent-name", "a"],
    ["--env", "dev", "--app-id", "p", "--agent-name", "%2e%2e"],
    ["--env", "dev", "--app-id", "p", "--agent-name", "a" * 64],
    ["--env", "dev", "--app-id", "p"],
])
def test_cli_refuses_bad_input_with_exit_2(args, capsys):
    assert main(["tf", "backend-config", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tenantkit: ") and "Traceback" not in err


def test_cli_all_targets(capsys, tmp_path):
    assert main(["tf", "backend-config", "--all"]) == 0
    captured = capsys.readouterr()
    assert "dev/tenantkit/audit/terraform.tfstate" in captured.out
    assert "backend configs rendered" in captured.err
    bad = tmp_path / "backend" / "targets.json"
    bad.parent.mkdir()
    data = json.loads(TARGETS_FILE.read_text())
    data["targets"].append({"stack": "ghost", "app_id": "portal", "agent_name": "ghost"})
    bad.write_text(json.dumps(data))
    (tmp_path / "stacks").mkdir()
    assert main(["tf", "backend-config", "--all", "--targets", str(bad)]) == 1
    assert "names stack ghost, which does not exist" in capsys.readouterr().err
