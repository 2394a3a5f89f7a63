"""The least-privilege ledger: committed, current, and every call granted, every grant used or explained."""

from __future__ import annotations

import re
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from least_privilege_plugin import (
    _remember_assumed_key,
    _signing_key,
    _stash_parameters,
    attribute,
    handler_functions,
    principal,
)

from tenantkit_local import least_privilege as lp


@pytest.fixture(scope="module")
def grants() -> dict[str, lp.FunctionGrants]:
    return lp.function_grants(lp.expand_template())


@pytest.fixture(scope="module")
def ledger() -> dict[str, lp.FunctionGrants]:
    return lp.ledger_grants(lp.expand_template())


def test_the_committed_ledger_is_current(ledger):
    rendered = lp.render(lp.load_observed(), ledger, lp.load_reasons())
    assert lp.LEDGER.read_text() == rendered, "docs/least-privilege.md is stale: run `make least-privilege`"


def test_every_observed_call_is_granted_and_every_grant_is_used_or_explained(ledger):
    observed = lp.load_observed()
    assert set(observed) <= set(ledger) and observed, "no observed calls: run `make least-privilege`"
    assert lp.problems(observed, ledger, lp.load_reasons()) == []


def test_the_bff_reaches_the_table_only_through_the_tenant_data_role(ledger):
    own, assumed = ledger["BffProxyFunction"], ledger["BffProxyFunction/TenantDataRole"]
    assert not any(action.startswith("dynamodb:") for action in own.actions)
    assert {"sts:AssumeRole", "sts:TagSession"} <= set(own.actions)
    assert assumed.assumed and assumed.function == "BffProxyFunction" and assumed.role == "TenantDataRole"
    assert set(assumed.actions) == {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"}
    assert all(assumed.conditions[a] == ["dynamodb:LeadingKeys"] for a in assumed.actions)
    # Only the BFF's role is trusted by TenantDataRole: no other function gets an assumed section.
    assert [key for key in ledger if "/" in key] == ["BffProxyFunction/TenantDataRole"]
    observed = lp.load_observed()
    assert {"sts:AssumeRole", "sts:TagSession"} <= set(observed["BffProxyFunction"])
    assert not any(action.startswith("dynamodb:") for action in observed["BffProxyFunction"])


ROLES = ["AuthorizerRole", "BffProxyRole", "TenantDataRole", "AuditSinkRole", "AuditCompactionRole"]


@pytest.mark.parametrize("arn", [
    "arn:aws:iam::123456789012:role/tenantkit-local-TenantDataRole",  # local/env.json
    "arn:aws:iam::123456789012:role/tenant-data",  # the tests' ARN
    "arn:aws:iam::123456789012:role/prod-stack-TenantDataRole-1A2B3C4D5E6F",  # CloudFormation's name
    "arn:aws-cn:iam::123456789012:role/service/tenant_data_role",  # a path, another partition
])
def test_role_arns_name_their_template_role(arn):
    assert lp.role_of_arn(arn, ROLES) == "TenantDataRole"


@pytest.mark.parametrize("arn", ["arn:aws:iam::123:role/x", "not-an-arn", "arn:aws:s3:::tenant-data",
                                 "arn:aws:iam::1:role/AuthorizerRole-BffProxyRole"])  # no role, or two
def test_an_arn_naming_no_single_template_role_matches_none(arn):
    assert lp.role_of_arn(arn, ROLES) is None


def test_a_role_id_inside_a_longer_one_does_not_make_the_match_ambiguous():
    assert lp.role_of_arn("arn:aws:iam::1:role/stack-TenantDataRole-X", [*ROLES, "DataRole"]) == "TenantDataRole"
    assert lp.role_of_arn("arn:aws:iam::1:role/stack-DataRole-X", [*ROLES, "DataRole"]) == "DataRole"


@settings(max_examples=60, deadline=None)
@given(role=st.sampled_from(ROLES), prefix=st.from_regex(r"[0-9-]{0,12}", fullmatch=True),
       suffix=st.from_regex(r"[A-Z0-9]{0,13}", fullmatch=True), kebab=st.booleans())
def test_a_role_name_carrying_a_logical_id_maps_back_to_it(role, prefix, suffix, kebab):
    name = role if not kebab else "-".join(w.lower() for w in re.findall(r"[A-Z][a-z]*", role))
    arn = f"arn:aws:iam::123456789012:role/{prefix}-{name}-{suffix}"
    assert lp.role_of_arn(arn, ROLES) == role


def test_calls_signed_with_assumed_keys_are_the_assumed_roles():
    from botocore.session import Session

    context: dict = {}
    model = type("Model", (), {"name": "AssumeRole"})()
    _stash_parameters(model=model, params={"RoleArn": "arn:aws:iam::1:role/tenant-data", "Tags": []},
                      context=context)
    _remember_assumed_key(model=model, parsed={"Credentials": {"AccessKeyId": "ASIALPTEST0000000001"}},
                          context=context)
    client = Session().create_client("dynamodb", region_name="eu-west-1", aws_access_key_id="ASIALPTEST0000000001",
                                     aws_secret_access_key="generated-at-test-time")
    key = _signing_key(client._request_signer)
    assert key == "ASIALPTEST0000000001"
    from least_privilege_plugin import _assumed_keys

    assert principal("BffProxyFunction", _assumed_keys[key]) == "BffProxyFunction/TenantDataRole"
    assert principal("BffProxyFunction", None) == "BffProxyFunction"
    assert principal("BffProxyFunction", "arn:aws:iam::1:role/x") == "BffProxyFunction/unknown role x"
    assert lp.iam_actions("sts", "AssumeRole", context["tenantkit_least_privilege_parameters"]) == (
        "sts:AssumeRole", "sts:TagSession")
    assert lp.iam_actions("sts", "AssumeRole", ("RoleArn", "RoleSessionName")) == ("sts:AssumeRole",)


def test_a_call_through_a_role_the_function_may_not_assume_is_a_problem(ledger):
    found = lp.problems({"AuthorizerFunction/TenantDataRole": {"dynamodb:GetItem": "t"}}, ledger, {})
    assert any("AuthorizerFunction/TenantDataRole: calls AWS but is neither" in f for f in found)


def test_every_function_has_its_own_role_without_managed_policies(grants):
    assert set(grants) == {"AuthorizerFunction", "BffProxyFunction", "AuditSinkFunction", "AuditCompactionFunction"}
    assert len({g.role for g in grants.values()}) == len(grants)
    for grant in grants.values():
        assert grant.managed_policies == []  # no AWSLambdaBasicExecutionRole, no X-Ray managed policy


def test_log_permissions_are_scoped_to_the_functions_own_log_group(grants):
    template = lp.load_template(lp.TEMPLATE)["Resources"]
    for function, grant in grants.items():
        name = template[function]["Properties"]["FunctionName"]["Fn::Sub"]
        group = template[template[function]["DependsOn"]]["Properties"]["LogGroupName"]["Fn::Sub"]
        assert group == f"/aws/lambda/{name}"
        expected = f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{group}:*"
        assert {r["Fn::Sub"] for r in grant.log_resources} == {expected}
        assert {a for a in grant.actions if a.startswith("logs:")} == {"logs:CreateLogStream", "logs:PutLogEvents"}


def test_a_function_with_its_own_role_declares_no_sam_policies():
    # SAM silently ignores Policies when Role is set: a statement added there would never deploy.
    for logical_id, resource in lp.load_template(lp.TEMPLATE)["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            assert "Role" in resource["Properties"] and "Policies" not in resource["Properties"], logical_id


def test_problems_name_each_kind_of_defect(grants):
    observed = {"AuthorizerFunction": {"ssm:GetParameter": "t", "ssm:PutParameter": "t"}}
    reasons = {"AuthorizerFunction": {"ssm:GetParameter": "stale", "dynamodb:Scan": "gone"}}
    found = "\n".join(lp.problems(observed, grants, reasons))
    assert "performs ssm:PutParameter" in found
    assert "ssm:GetParameter is exercised; its reason" in found
    assert "reason for dynamodb:Scan, which is no longer granted" in found
    assert "grants xray:PutTraceSegments, which no test exercises" in found


@settings(max_examples=60, deadline=None)
@given(service=st.sampled_from(["s3", "dynamodb", "ssm", "athena", "glue", "sqs", "bedrock-agentcore"]),
       operation=st.from_regex(r"[A-Z][A-Za-z0-9]{2,30}", fullmatch=True))
def test_an_operation_maps_to_actions_of_its_own_service(service, operation):
    for action in lp.iam_actions(service, operation):
        prefix, name = action.split(":")
        assert prefix == service and name and name[0].isupper()


def test_s3_operations_map_to_their_iam_actions():
    assert lp.iam_actions("s3", "ListObjectsV2") == ("s3:ListBucket",)
    assert lp.iam_actions("s3", "HeadObject") == ("s3:GetObject",)
    assert lp.iam_actions("s3", "CopyObject") == ("s3:GetObject", "s3:PutObject")
    assert lp.iam_actions("sts", "GetCallerIdentity") == ()


def test_wildcard_grants_match_case_insensitively():
    grant = lp.FunctionGrants("F", "R", actions={"s3:Get*": ["x"]})
    assert grant.grants("s3:GetObject") and grant.grants("S3:getobject") and not grant.grants("s3:PutObject")


def test_calls_are_attributed_to_the_outermost_owned_layer_module():
    def call_from(module: str, inner):
        namespace = {"__name__": module, "inner": inner, "sys": sys}
        exec("def f():\n    return inner()\n", namespace)  # noqa: S102 - a frame whose module is `module`
        return namespace["f"]

    innermost = lambda: attribute(sys._getframe(1), {})  # noqa: E731
    registry = call_from("tenantkit.registry", innermost)
    assert attribute(sys._getframe(0), {}) == (None, None)  # the test itself: nobody
    assert registry() == ("AuthorizerFunction", None)
    assert call_from("tenantkit.bff.service", registry)() == ("BffProxyFunction", None)
    assert call_from("tenantkit.audit.storage", innermost)() == (None, None)  # shared: the caller decides
    assert call_from("tenantkit.aws", innermost)() == (None, None)  # client plumbing: the caller decides
    assert call_from("tenantkit.observability.handler", registry)() == ("AuthorizerFunction", None)
    # an operator tool's own call while it drives a function's module is not the function's
    tool_read = call_from("tenantkit_local.redrive", call_from("tenantkit.audit.storage", innermost))
    assert call_from("tenantkit.audit.sink", tool_read)() == (None, None)
    assert call_from("tenantkit_local.events", registry)() == ("AuthorizerFunction", None)  # the layer's call
    assert call_from("tenantkit.bff.credentials", call_from("tenantkit.aws", innermost))() == ("BffProxyFunction", None)
    assert call_from("tenantkit.newmodule", innermost)() == (None, "tenantkit.newmodule")


def test_handler_files_map_to_their_functions():
    mapping = handler_functions()
    assert sorted(mapping.values()) == ["AuditCompactionFunction", "AuditSinkFunction", "AuthorizerFunction",
                                        "BffProxyFunction"]
    assert all(path.startswith(str(lp.PROJECT_ROOT / "functions")) for path in mapping)


def test_every_layer_module_that_reaches_aws_has_an_owner():
    package = lp.PROJECT_ROOT / "layers" / "tenantkit" / "tenantkit"
    for path in package.rglob("*.py"):
        text = path.read_text()
        if "boto3" in text or "utilities.parameters" in text or "agentcore_client(" in text:
            module = ".".join(path.relative_to(package.parent).with_suffix("").parts)
            listed, _ = lp.owner_of_module(module)
            assert listed or module == "tenantkit.snapstart", f"{module} calls AWS: add it to MODULE_OWNERS"
