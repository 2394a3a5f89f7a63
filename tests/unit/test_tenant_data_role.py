"""Golden tests of the isolation below the application, read from template.yaml: the tenant data
role's policy and trust policy (exact condition keys and values), the BFF role without table
access, and Lambda invoke permissions that admit only this API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tenantkit_local.template import load_template

ROOT = Path(__file__).resolve().parents[2]
RESOURCES: dict[str, Any] = load_template(ROOT / "template.yaml")["Resources"]
LEADING_KEYS = "T#${aws:PrincipalTag/tenant_id}#A#${aws:PrincipalTag/app_id}#*"


def test_tenant_data_role_policy_is_exactly_the_repositorys_calls_on_own_keys():
    role = RESOURCES["TenantDataRole"]
    assert role["Type"] == "AWS::IAM::Role"
    policies = role["Properties"]["Policies"]
    assert len(policies) == 1 and "ManagedPolicyArns" not in role["Properties"]
    assert policies[0]["PolicyDocument"]["Statement"] == [{
        "Sid": "OwnTenantSessionItems",
        "Effect": "Allow",
        "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"],
        "Resource": {"Fn::GetAtt": ["SessionsTable", "Arn"]},
        "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [LEADING_KEYS]}},
    }]


def test_trust_policy_admits_only_the_bff_role_with_both_tags():
    trust = RESOURCES["TenantDataRole"]["Properties"]["AssumeRolePolicyDocument"]
    assert trust["Statement"] == [{
        "Sid": "BffWithTenantTags",
        "Effect": "Allow",
        "Principal": {"AWS": {"Fn::GetAtt": ["BffProxyRole", "Arn"]}},
        "Action": ["sts:AssumeRole", "sts:TagSession"],
        "Condition": {
            "StringLike": {"aws:RequestTag/tenant_id": "?*", "aws:RequestTag/app_id": "?*"},
            "ForAllValues:StringEquals": {"aws:TagKeys": ["tenant_id", "app_id"]},
            "Null": {"sts:TransitiveTagKeys": "true"},
        },
    }]
    assert RESOURCES["TenantDataRole"]["Properties"]["MaxSessionDuration"] == 3600


def test_bff_role_may_only_assume_the_tenant_data_role_and_has_no_table_access():
    bff = RESOURCES["BffProxyFunction"]["Properties"]
    # The function runs as its explicit role (SAM ignores a function's Policies once Role is set).
    assert bff["Role"] == {"Fn::GetAtt": ["BffProxyRole", "Arn"]} and "Policies" not in bff
    role = RESOURCES["BffProxyRole"]["Properties"]
    assert "ManagedPolicyArns" not in role
    statements = [s for policy in role["Policies"] for s in _unconditional(policy["PolicyDocument"]["Statement"])]
    assert not any(str(a).startswith("dynamodb:") for s in statements for a in _list(s["Action"]))
    # sts: only through BffAssumeTenantDataRole below, and only on the tenant data role.
    assert not any(str(a).startswith("sts:") for s in statements for a in _list(s["Action"]))
    assume = RESOURCES["BffAssumeTenantDataRole"]["Properties"]
    assert assume["Roles"] == [{"Ref": "BffProxyRole"}]
    assert assume["PolicyDocument"]["Statement"] == [{
        "Sid": "AssumeTenantDataRoleWithTags", "Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession"],
        "Resource": {"Fn::GetAtt": ["TenantDataRole", "Arn"]}}]
    assert bff["Environment"]["Variables"]["TENANT_DATA_ROLE_ARN"] == {"Fn::GetAtt": ["TenantDataRole", "Arn"]}


def test_no_other_principal_may_touch_the_sessions_table_or_assume_the_role():
    for name, resource in RESOURCES.items():
        if resource["Type"] not in ("AWS::Serverless::Function", "AWS::IAM::Role", "AWS::IAM::Policy"):
            continue
        text = repr(resource)
        if name != "TenantDataRole":
            assert "SessionsTable" not in text or name == "BffProxyFunction", name
            assert "dynamodb:" not in text, name
        if name not in ("BffAssumeTenantDataRole", "BffProxyFunction"):
            assert "TenantDataRole" not in text or name == "TenantDataRole", name
    bff_env = RESOURCES["BffProxyFunction"]["Properties"]["Environment"]["Variables"]
    assert bff_env["SESSIONS_TABLE"] == {"Ref": "SessionsTable"}  # the name only, no permission


def test_only_this_api_may_invoke_the_bff_and_the_authorizer():
    permissions = {name: r["Properties"] for name, r in RESOURCES.items() if r["Type"] == "AWS::Lambda::Permission"}
    by_function: dict[str, list[dict[str, Any]]] = {}
    for props in permissions.values():
        target = props["FunctionName"]
        name = target["Fn::GetAtt"][0] if "Fn::GetAtt" in target else target["Ref"].removesuffix(".Alias")
        by_function.setdefault(name, []).append(props)
    # API Gateway invokes the published alias (SnapStart restores published versions only).
    assert by_function["AuthorizerFunction"] == [{
        "Action": "lambda:InvokeFunction", "FunctionName": {"Ref": "AuthorizerFunction.Alias"},
        "Principal": "apigateway.amazonaws.com",
        "SourceArn": {"Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:"
                                 "${TenantApi}/authorizers/*"}}]
    assert by_function["BffProxyFunction"] == [{
        "Action": "lambda:InvokeFunction", "FunctionName": {"Ref": "BffProxyFunction.Alias"},
        "Principal": "apigateway.amazonaws.com",
        "SourceArn": {"Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:"
                                 "${TenantApi}/*/*/v1/*"}}]
    for function in ("AuthorizerFunction", "BffProxyFunction"):
        props = RESOURCES[function]["Properties"]
        # No implicit permissions (SAM event sources), no function URL, no other way in. The alias
        # SAM publishes (SnapStart) carries no permission of its own: only the one above admits a caller.
        assert "Events" not in props and "FunctionUrlConfig" not in props


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_cedar_and_iam_use_the_same_tenant_attribute():
    from tenantkit.bff.credentials import TAG_APP, TAG_TENANT

    policies = ROOT / "layers" / "tenantkit" / "tenantkit" / "abac" / "policies"
    cedar = (policies / "tenant_isolation.cedar").read_text()
    schema = (policies / "tenantkit.cedarschema").read_text()
    assert (TAG_TENANT, TAG_APP) == ("tenant_id", "app_id")
    assert "resource.tenant_id != principal.tenant_id" in cedar and "resource.app_id != principal.app_id" in cedar
    assert "tenant_id: String" in schema and "app_id: String" in schema
    assert "${aws:PrincipalTag/tenant_id}" in LEADING_KEYS and "${aws:PrincipalTag/app_id}" in LEADING_KEYS
    trust = RESOURCES["TenantDataRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert set(trust["Condition"]["StringLike"]) == {f"aws:RequestTag/{TAG_TENANT}", f"aws:RequestTag/{TAG_APP}"}


def _unconditional(statements: list) -> list[dict]:
    """Every statement, both branches of an ``Fn::If`` included (``AWS::NoValue`` dropped)."""
    flat = []
    for statement in statements:
        if isinstance(statement, dict) and "Fn::If" in statement:
            flat.extend(b for b in statement["Fn::If"][1:] if isinstance(b, dict) and "Action" in b)
        else:
            flat.append(statement)
    return flat
