"""The deployed pieces are wired: the tenant registry parameter is created by the stack and only the
named operator role may write it; Cloud Map discovery is a parameter with a scoped permission;
the CUR 2.0 table Terraform declares has every column the cost named queries read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp

from tenantkit.registry import TenantRegistry
from tenantkit_local import PROJECT_ROOT
from tenantkit_local.cur import CUR_COLUMNS, CUR_PARTITIONS
from tenantkit_local.template import load_template

TEMPLATE = load_template(PROJECT_ROOT / "template.yaml")
RESOURCES = TEMPLATE["Resources"]
WRITE_ACTIONS = {"ssm:PutParameter", "ssm:DeleteParameter", "ssm:LabelParameterVersion", "ssm:*", "*"}


def statements(resource: dict[str, Any]) -> list[dict[str, Any]]:
    """Every statement a resource grants: a policy's document, a role's inline policies (IAM's
    ``PolicyDocument`` shape) and SAM's function ``Policies``; both branches of an ``Fn::If``."""
    props = resource.get("Properties", {})
    found: list[dict[str, Any]] = []
    documents = [props["PolicyDocument"]] if "PolicyDocument" in props else []
    for policy in props.get("Policies", []):
        if isinstance(policy, dict) and "Statement" in policy:
            documents.append(policy)
        elif isinstance(policy, dict) and "PolicyDocument" in policy:
            documents.append(policy["PolicyDocument"])
    for document in documents:
        for statement in document["Statement"]:
            if "Fn::If" in statement:
                found += [s for s in statement["Fn::If"][1:] if isinstance(s, dict) and "Effect" in s]
            else:
                found.append(statement)
    return found


def actions(statement: dict[str, Any]) -> set[str]:
    value = statement["Action"]
    return {value} if isinstance(value, str) else set(value)


def test_the_stack_creates_an_empty_registry_the_authorizer_reads():
    registry = RESOURCES["TenantRegistry"]
    assert registry["Type"] == "AWS::SSM::Parameter"
    assert registry["Properties"]["Name"] == {"Ref": "TenantRegistryParameter"}
    assert TenantRegistry.from_json(registry["Properties"]["Value"]).tenants == {}
    assert registry["DeletionPolicy"] == registry["UpdateReplacePolicy"] == "Retain"  # onboarded tenants survive
    env = RESOURCES["AuthorizerFunction"]["Properties"]["Environment"]["Variables"]
    assert env["TENANT_REGISTRY"] == {"Fn::Sub": "ssm:${TenantRegistryParameter}"}


def test_the_registry_resource_is_frozen():
    """Any property change makes CloudFormation update the parameter, and an update re-puts the
    template's empty Value over every onboarded tenant. Do not edit these properties (none may
    depend on a parameter other than the name, which replaces the resource and is retained)."""
    assert RESOURCES["TenantRegistry"]["Properties"] == {
        "Name": {"Ref": "TenantRegistryParameter"},
        "Type": "String",
        "Tier": "Intelligent-Tiering",
        "Description": "tenantkit tenant registry (edit with tenantkit tenants; the authorizer reads it)",
        "Value": '{"tenants": {}, "apps": {}}',
    }


def test_only_the_named_operator_role_may_write_the_registry():
    writers = {name for name, resource in RESOURCES.items()
               for statement in statements(resource) if actions(statement) & WRITE_ACTIONS}
    assert writers == {"TenantRegistryOperatorPolicy"}
    policy = RESOURCES["TenantRegistryOperatorPolicy"]
    assert policy["Condition"] == "HasRegistryOperator"
    assert policy["Properties"]["Roles"] == [{"Ref": "TenantRegistryOperatorRoleName"}]
    resources = {json.dumps(s["Resource"]) for s in statements(policy)}
    assert all("TenantRegistryParameter" in r or "AuditQueue" in r or r == '{"Ref": "AWS::StackId"}'
               for r in resources)
    assert '"*"' not in resources
    for function in ("AuthorizerFunction", "BffProxyFunction"):  # both re-read tenant status: read-only
        props = RESOURCES[function]["Properties"]
        assert "Policies" not in props  # SAM ignores them next to Role: every grant is in the role
        role = RESOURCES[props["Role"]["Fn::GetAtt"][0]]
        ssm = {a for s in statements(role) for a in actions(s) if a.startswith("ssm:")}
        assert ssm == {"ssm:GetParameter"}, function


def test_cloud_map_is_a_parameter_with_a_discover_permission_scoped_to_it():
    params = TEMPLATE["Parameters"]
    assert params["CloudMapNamespace"]["Default"] == params["CloudMapService"]["Default"] == ""
    assert TEMPLATE["Conditions"]["UseCloudMap"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "CloudMapNamespace"}, ""]}]}
    assert "CloudMapNamespaceAndServiceTogether" in TEMPLATE["Rules"]
    bff = RESOURCES["BffProxyFunction"]["Properties"]
    env = bff["Environment"]["Variables"]
    assert env["CLOUDMAP_NAMESPACE"] == {"Ref": "CloudMapNamespace"}
    assert env["CLOUDMAP_SERVICE"] == {"Ref": "CloudMapService"}
    assert bff["Role"] == {"Fn::GetAtt": ["BffProxyRole", "Arn"]}
    role = RESOURCES["BffProxyRole"]["Properties"]
    conditional = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"] if "Fn::If" in s]
    assert len(conditional) == 1
    discover = [s for s in statements(RESOURCES["BffProxyRole"]) if "servicediscovery:DiscoverInstances" in actions(s)]
    assert len(discover) == 1  # only the conditional statement below grants discovery
    condition, statement, otherwise = conditional[0]["Fn::If"]
    assert condition == "UseCloudMap" and otherwise == {"Ref": "AWS::NoValue"}
    assert statement["Action"] == "servicediscovery:DiscoverInstances"
    assert statement["Condition"]["StringEquals"] == {"servicediscovery:NamespaceName": {"Ref": "CloudMapNamespace"},
                                                      "servicediscovery:ServiceName": {"Ref": "CloudMapService"}}
    assert env["INFERENCE_PROFILE_ARN"] == {"Ref": "InferenceProfileArn"}


def cur_columns_read(path: Path) -> set[str]:
    """Columns of every SELECT that reads the table ``cur`` in one query file."""
    # sqlglot reads Trino's ``?`` placeholders itself; a textual replace would also rewrite the
    # ``?`` inside string literals (regular expressions in the compaction queries).
    tree = sqlglot.parse_one(path.read_text(), read="trino")
    columns: set[str] = set()
    for table in tree.find_all(exp.Table):
        if table.name == "cur":
            select = table.find_ancestor(exp.Select)
            columns |= {c.name for c in select.find_all(exp.Column) if c.find_ancestor(exp.Select) is select}
    return columns


def test_the_cur_table_declares_every_column_the_cost_queries_read():
    declared = json.loads((PROJECT_ROOT / "terraform" / "modules" / "cur_table" / "columns.json").read_text())
    types = {c["name"]: c["type"] for c in declared["columns"]}
    files = sorted((PROJECT_ROOT / "queries").glob("*/*.sql"))
    readers = {f: cur_columns_read(f) for f in files if cur_columns_read(f)}
    assert {f.parent.name for f in readers} == {"cost"}
    for path, columns in readers.items():
        missing = columns - set(types) - {"billing_period"}
        assert not missing, f"{path.name} reads {sorted(missing)}, which terraform/modules/cur_table does not declare"
    main = (PROJECT_ROOT / "terraform" / "modules" / "cur_table" / "main.tf").read_text()
    assert 'name    = "billing_period"' in main and set(CUR_PARTITIONS) == {"billing_period"}


def test_the_cur_table_and_its_local_twin_agree():
    declared = json.loads((PROJECT_ROOT / "terraform" / "modules" / "cur_table" / "columns.json").read_text())
    hive = {"VARCHAR": "string", "TIMESTAMP": "timestamp", "DOUBLE": "double",
            "MAP(VARCHAR, VARCHAR)": "map<string,string>"}
    assert {c["name"]: c["type"] for c in declared["columns"]} == {k: hive[v] for k, v in CUR_COLUMNS.items()}
