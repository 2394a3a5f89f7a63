"""The local runner reads template.yaml like `sam local invoke`."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenantkit_local.template import TemplateError, function_spec, load_env_vars, load_template

ROOT = Path(__file__).resolve().parents[2]

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage: {Type: String, Default: dev}
  NoDefault: {Type: String}
Globals:
  Function:
    Runtime: python3.11
    Timeout: 7
    Environment:
      Variables:
        SHARED: from-globals
        OVERRIDDEN: globals
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/fn/
      Handler: pkg.app.handler
      MemorySize: 256
      Environment:
        Variables:
          OVERRIDDEN: function
          STAGE: !Ref Stage
          NAME: !Sub "svc-${Stage}-${AWS::Region}"
          LIST_SUB: !Sub ["${A}-x", {A: !Ref Stage}]
          MISSING: !Ref NoDefault
          ARN: !GetAtt Other.Arn
  Other:
    Type: AWS::SQS::Queue
"""


@pytest.fixture
def template(tmp_path: Path) -> Path:
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE)
    return path


def test_globals_function_and_parameters_resolve(template: Path):
    spec = function_spec(template, "Fn")
    assert (spec.module, spec.function) == ("pkg.app", "handler")
    assert spec.code_dir == (template.parent / "functions/fn").resolve()
    assert (spec.timeout_seconds, spec.memory_mb) == (7, 256)
    assert spec.environment["SHARED"] == "from-globals"
    assert spec.environment["OVERRIDDEN"] == "function"
    assert spec.environment["STAGE"] == "dev"
    assert spec.environment["NAME"] == "svc-dev-us-east-1"
    assert spec.environment["LIST_SUB"] == "dev-x"
    assert spec.environment["MISSING"] == ""
    assert spec.environment["ARN"] == ""


def test_parameter_overrides_and_env_vars_only_touch_declared_variables(template: Path):
    spec = function_spec(
        template, "Fn",
        parameter_overrides={"Stage": "prod"},
        env_vars={"Parameters": {"SHARED": "everyone", "UNDECLARED": "x"}, "Fn": {"MISSING": "set"}},
    )
    assert spec.environment["STAGE"] == "prod"
    assert spec.environment["SHARED"] == "everyone"
    assert spec.environment["MISSING"] == "set"
    assert "UNDECLARED" not in spec.environment


def test_unknown_function_names_the_functions_there_are(template: Path):
    with pytest.raises(TemplateError, match="functions: Fn"):
        function_spec(template, "Other")


def test_bad_env_vars_file_is_rejected(tmp_path: Path):
    path = tmp_path / "env.json"
    path.write_text('{"Fn": "not-an-object"}')
    with pytest.raises(TemplateError):
        load_env_vars(path)


def test_project_template_declares_the_authorizer_contract_variables():
    spec = function_spec(ROOT / "template.yaml", "AuthorizerFunction")
    for name in ("OIDC_ISSUER", "OIDC_JWKS_URI", "OIDC_AUDIENCE", "TENANT_REGISTRY"):
        assert name in spec.environment
    assert spec.environment["TENANT_REGISTRY"] == "ssm:/tenantkit/dev/tenant-registry"
    assert spec.environment["OIDC_AUDIENCE"] == ""  # no default for a security setting
    template = load_template(ROOT / "template.yaml")
    assert template["Resources"]["TenantkitLayer"]["Metadata"]["BuildMethod"] == "makefile"
