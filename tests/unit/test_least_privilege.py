"""The least-privilege ledger: committed, current, and every call granted, every grant used or explained."""

from __future__ import annotations

import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from least_privilege_plugin import attribute, handler_functions

from tenantkit_local import least_privilege as lp


@pytest.fixture(scope="module")
def grants() -> dict[str, lp.FunctionGrants]:
    return lp.function_grants(lp.expand_template())


def test_the_committed_ledger_is_current(grants):
    rendered = lp.render(lp.load_observed(), grants, lp.load_reasons())
    assert lp.LEDGER.read_text() == rendered, "docs/least-privilege.md is stale: run `make least-privilege`"


def test_every_observed_call_is_granted_and_every_grant_is_used_or_explained(grants):
    observed = lp.load_observed()
    assert set(observed) <= set(grants) and observed, "no observed calls: run `make least-privilege`"
    assert lp.problems(observed, grants, lp.load_reasons()) == []


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
