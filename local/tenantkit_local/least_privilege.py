"""Least privilege by execution: what each function calls vs what its role grants, as deployed.

Three inputs, one ledger (``docs/least-privilege.md``):

* **granted**: the template expanded by the SAM translator (what CloudFormation deploys: SAM
  policy templates, event-source and destination policies included), then each function's role,
  its inline policies and any ``AWS::IAM::Policy`` attached to it. Managed policies are refused:
  their contents are not in the repository, so nothing could be proven about them.
* **observed** (``docs/least-privilege-observed.json``): every AWS API operation the function's
  code performed during a complete test run, recorded by ``tests/least_privilege_plugin.py``
  through botocore's ``before-call`` event and mapped to IAM actions by :func:`iam_actions`.
* **assumed roles**: a call signed with credentials the function obtained from ``sts:AssumeRole``
  is checked against the ASSUMED role, not the function's own: it is recorded under
  ``<function>/<role>`` (``BffProxyFunction/TenantDataRole``). A template role is assumable by a
  function when its trust policy names the function's role as principal; the role an ARN
  designates is found by :func:`role_of_arn`.
* **reasons** (``docs/least-privilege-reasons.yaml``): why a granted action no test exercises
  is still needed (used by Lambda on the function's behalf, by Athena with the caller's rights...).

The check fails on an observed action that is not granted, a granted action neither observed
nor explained, and a reason for an action that is observed or no longer granted (stale).
Regenerate with ``make least-privilege`` after adding an AWS call.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tenantkit.exceptions import TenantkitError
from tenantkit_local import PROJECT_ROOT
from tenantkit_local.template import load_template

TEMPLATE = PROJECT_ROOT / "template.yaml"
LEDGER = PROJECT_ROOT / "docs" / "least-privilege.md"
OBSERVED = PROJECT_ROOT / "docs" / "least-privilege-observed.json"
REASONS = PROJECT_ROOT / "docs" / "least-privilege-reasons.yaml"

# Which function a layer module's AWS calls belong to when no handler is on the stack (tests that
# drive the layer directly). The OUTERMOST owned module on the stack decides: the BFF reading the
# registry is the BFF's call, the authorizer reading it is the authorizer's. ``None`` marks a shared
# module (storage back ends): its calls belong to whichever owner is above it, and to nobody when a
# test calls it directly (reading back what the sink wrote is the test's call, not the sink's).
MODULE_OWNERS: dict[str, str | None] = {
    "tenantkit.aws": None,  # creates every client: plumbing, the caller further up decides
    "tenantkit.observability": None,  # wraps handlers and clients of every function
    "tenantkit.audit.storage": None,
    "tenantkit.cost": None,  # takes the caller's bedrock-runtime client
    "tenantkit.authorizer": "AuthorizerFunction",
    "tenantkit.registry": "AuthorizerFunction",
    "tenantkit.jwks": "AuthorizerFunction",
    "tenantkit.bff": "BffProxyFunction",
    "tenantkit.discovery": "BffProxyFunction",
    "tenantkit.audit.sink": "AuditSinkFunction",
    "tenantkit.audit.compaction": "AuditCompactionFunction",
    "tenantkit.audit.curated_pointer": "AuditCompactionFunction",
}

# API operations whose IAM action has another name (or needs none). Everything else is
# "<signing name>:<OperationName>".
_ACTION_OF_OPERATION: dict[str, tuple[str, ...]] = {
    "s3:ListObjectsV2": ("s3:ListBucket",),
    "s3:ListObjects": ("s3:ListBucket",),
    "s3:HeadBucket": ("s3:ListBucket",),
    "s3:HeadObject": ("s3:GetObject",),
    "s3:CreateMultipartUpload": ("s3:PutObject",),
    "s3:UploadPart": ("s3:PutObject",),
    "s3:CompleteMultipartUpload": ("s3:PutObject",),
    "s3:CopyObject": ("s3:GetObject", "s3:PutObject"),
    "s3:UploadPartCopy": ("s3:GetObject", "s3:PutObject"),
    "s3:ListParts": ("s3:ListMultipartUploadParts",),
    "s3:ListMultipartUploads": ("s3:ListBucketMultipartUploads",),
    "s3:DeleteObjects": ("s3:DeleteObject",),
    "s3:ListObjectVersions": ("s3:ListBucketVersions",),
    "lambda:Invoke": ("lambda:InvokeFunction",),
    "sts:GetCallerIdentity": (),  # needs no permission
}


# Actions an operation needs only when a parameter is given (``sts:TagSession`` to pass session
# tags on AssumeRole, per the IAM documentation on session tags).
_ACTION_OF_PARAMETER: dict[str, dict[str, str]] = {
    "sts:AssumeRole": {"Tags": "sts:TagSession", "TransitiveTagKeys": "sts:TagSession"},
    "sts:AssumeRoleWithWebIdentity": {"Tags": "sts:TagSession"},
}


class LedgerError(TenantkitError):
    """The template cannot be expanded or read into per-function grants."""


def iam_actions(signing_name: str, operation: str, parameters: Any = ()) -> tuple[str, ...]:
    """IAM actions one API operation needs (``s3``, ``ListObjectsV2`` -> ``s3:ListBucket``), given
    the names of the parameters it was called with (``AssumeRole`` with ``Tags`` also needs
    ``sts:TagSession``)."""
    key = f"{signing_name}:{operation}"
    actions = _ACTION_OF_OPERATION.get(key, (key,))
    extra = _ACTION_OF_PARAMETER.get(key, {})
    for name in sorted(set(parameters) & set(extra)):
        if extra[name] not in actions:
            actions += (extra[name],)
    return actions


def owner_of_module(module: str) -> tuple[bool, str | None]:
    """(listed, owner) of a layer module: listed with owner None is a shared module."""
    for prefix, function in MODULE_OWNERS.items():
        if module == prefix or module.startswith(prefix + "."):
            return True, function
    return False, None


class _OfflineManagedPolicies:
    """The translator asks for managed policy names only when a template names one by its bare name."""

    def load(self) -> dict[str, str]:
        return {}


def expand_template(path: Path = TEMPLATE, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    """The CloudFormation template the SAM translator makes of ``path`` (no AWS call)."""
    import boto3
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    # The region only fills AWS::Region in ARNs the translator builds; no call is made.
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name="us-east-1"))
    template = load_template(path)
    for logical_id, resource in template.get("Resources", {}).items():  # as `sam package` leaves it
        for key in ("CodeUri", "ContentUri"):
            value = resource.get("Properties", {}).get(key)
            if isinstance(value, str) and not value.startswith("s3://"):
                resource["Properties"][key] = f"s3://tenantkit-artifacts/{logical_id}.zip"
    try:
        return translator.translate(template, parameter_values=dict(parameters or {}),
                                    get_managed_policy_map=_OfflineManagedPolicies().load)
    except Exception as exc:  # the translator raises its own hierarchy; one message is enough here
        raise LedgerError(f"SAM translator refused {path.name}: {exc}") from exc


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, dict) and "Fn::If" in value:  # a grant under either branch is a grant
        _, yes, no = value["Fn::If"]
        return _as_list(yes) + _as_list(no)
    return value if isinstance(value, list) else [value]


def _statements(document: Any) -> list[dict[str, Any]]:
    statements = []
    for entry in _as_list(document.get("Statement", [])):
        for item in _as_list(entry):  # a statement under Fn::If counts on either branch
            if isinstance(item, dict) and item.get("Effect") == "Allow":
                statements.append(item)
    return statements


def _actions(value: Any, mappings: dict[str, Any]) -> list[str]:
    """The actions a statement may grant: literals, and for ``Fn::FindInMap`` on a parameter every
    value the mapping could give (the deployed value depends on the parameter)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [action for item in value for action in _actions(item, mappings)]
    if isinstance(value, dict) and "Fn::FindInMap" in value:
        name, key, attribute = value["Fn::FindInMap"]
        table = mappings.get(name, {})
        rows = [table[key]] if isinstance(key, str) else list(table.values())
        return sorted({action for row in rows for action in _actions(row[attribute], mappings)})
    raise LedgerError(f"cannot tell which actions {value!r} grants")


def _role_id(role: Any) -> str | None:
    if isinstance(role, dict) and "Fn::GetAtt" in role:
        target = role["Fn::GetAtt"]
        return (target[0] if isinstance(target, list) else target.split(".")[0])
    return None


def _normalized(name: str) -> str:
    return "".join(c for c in name.lower() if c.isalnum())


def role_of_arn(arn: str, role_ids: list[str]) -> str | None:
    """The template role (logical id) an IAM role ARN designates, or None.

    Deployed, CloudFormation names a role ``<stack>-<LogicalId>-<suffix>``; locally it is
    ``tenantkit-local-TenantDataRole``; tests write ``tenant-data``. So: the role name (after the
    last ``/``), lowercased without separators, must contain the logical id lowercased, with or
    without its ``Role`` suffix. A match inside a longer match does not count (``Data`` inside
    ``TenantData``); a name carrying two roles' ids designates neither."""
    if ":role/" not in arn:
        return None
    name = _normalized(arn.rsplit("/", 1)[-1])
    matched: dict[str, str] = {}  # role -> the longest of its forms found in the name
    for role_id in role_ids:
        for form in (_normalized(role_id), _normalized(role_id.removesuffix("Role"))):
            if form and form in name and len(form) > len(matched.get(role_id, "")):
                matched[role_id] = form
    kept = [role for role, form in matched.items()
            if not any(form != other and form in other for other in matched.values())]
    return kept[0] if len(kept) == 1 else None


@dataclass(slots=True)
class FunctionGrants:
    function: str
    role: str
    actions: dict[str, list[str]] = field(default_factory=dict)  # action -> statement ids
    managed_policies: list[str] = field(default_factory=list)
    log_resources: list[Any] = field(default_factory=list)
    assumed: bool = False  # a role the function assumes, not the function's own
    conditions: dict[str, list[str]] = field(default_factory=dict)  # action -> condition keys

    def grants(self, action: str) -> bool:
        return any(fnmatch.fnmatchcase(action.lower(), pattern.lower()) for pattern in self.actions)


def _attached_policies(resources: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    attached: dict[str, list[dict[str, Any]]] = {}
    for resource in resources.values():
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            for role in resource["Properties"].get("Roles", []):
                if isinstance(role, dict) and "Ref" in role:
                    attached.setdefault(role["Ref"], []).append(resource["Properties"]["PolicyDocument"])
    return attached


def _role_grants(function: str, role_id: str, expanded: dict[str, Any],
                 attached: dict[str, list[dict[str, Any]]], *, assumed: bool = False) -> FunctionGrants:
    role = expanded["Resources"][role_id]["Properties"]
    grants = FunctionGrants(function, role_id, managed_policies=list(role.get("ManagedPolicyArns", [])),
                            assumed=assumed)
    documents = [p["PolicyDocument"] for p in role.get("Policies", [])] + attached.get(role_id, [])
    for document in documents:
        for statement in _statements(document):
            sid = statement.get("Sid", "(no Sid)")
            condition_keys = sorted({key for test in (statement.get("Condition") or {}).values()
                                     if isinstance(test, dict) for key in test})
            for action in _actions(statement["Action"], expanded.get("Mappings") or {}):
                grants.actions.setdefault(action, []).append(sid)
                grants.conditions.setdefault(action, [])
                grants.conditions[action] += [k for k in condition_keys if k not in grants.conditions[action]]
                if action.startswith("logs:"):
                    grants.log_resources += _as_list(statement["Resource"])
    return grants


def function_grants(expanded: dict[str, Any]) -> dict[str, FunctionGrants]:
    """Each function's own role, by function logical id."""
    resources = expanded["Resources"]
    attached = _attached_policies(resources)
    result = {}
    for logical_id, resource in sorted(resources.items()):
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        role_id = _role_id(resource["Properties"].get("Role"))
        if role_id is None or role_id not in resources:
            raise LedgerError(f"{logical_id}: role is not a role of this template")
        result[logical_id] = _role_grants(logical_id, role_id, expanded, attached)
    return result


def _trusted_roles(trust_policy: Any) -> set[str]:
    """Template roles a trust policy lets assume the role (``Principal: {AWS: !GetAtt R.Arn}``)."""
    trusted = set()
    for statement in _statements(trust_policy or {}):
        principals = statement.get("Principal", {})
        for principal in _as_list(principals.get("AWS", []) if isinstance(principals, dict) else []):
            role_id = _role_id(principal)
            if role_id is not None:
                trusted.add(role_id)
    return trusted


def template_roles(expanded: dict[str, Any]) -> list[str]:
    return sorted(k for k, r in expanded["Resources"].items() if r["Type"] == "AWS::IAM::Role")


def ledger_grants(expanded: dict[str, Any]) -> dict[str, FunctionGrants]:
    """Function roles (key: the function) and the roles each function may assume
    (key: ``<function>/<role>``): the principals the ledger accounts for."""
    resources = expanded["Resources"]
    attached = _attached_policies(resources)
    result = function_grants(expanded)
    for function, own in list(result.items()):
        for role_id in template_roles(expanded):
            trust = resources[role_id]["Properties"].get("AssumeRolePolicyDocument")
            if role_id != own.role and own.role in _trusted_roles(trust):
                result[f"{function}/{role_id}"] = _role_grants(function, role_id, expanded, attached, assumed=True)
    return result


def load_observed(path: Path = OBSERVED) -> dict[str, dict[str, str]]:
    """function -> IAM action -> the first test that performed it."""
    return json.loads(path.read_text())["functions"] if path.exists() else {}


def load_reasons(path: Path = REASONS) -> dict[str, dict[str, str]]:
    data = yaml.safe_load(path.read_text()) or {}
    return {function: dict(actions or {}) for function, actions in data.items()}


def problems(observed: dict[str, dict[str, str]], grants: dict[str, FunctionGrants],
             reasons: dict[str, dict[str, str]]) -> list[str]:
    found = []
    for function, actions in sorted(observed.items()):
        if function not in grants:
            found.append(f"{function}: calls AWS but is neither a function of the template nor a "
                         "template role its function may assume")
            continue
        for action, test in sorted(actions.items()):
            if not grants[function].grants(action):
                found.append(f"{function}: performs {action} (first in {test}) but its role does not grant it")
    for function, grant in sorted(grants.items()):
        if grant.managed_policies:
            found.append(f"{function}: managed policies {grant.managed_policies} (not reviewable here)")
        seen = observed.get(function, {})
        explained = reasons.get(function, {})
        for action in sorted(grant.actions):
            exercised = any(fnmatch.fnmatchcase(a.lower(), action.lower()) for a in seen)
            if not exercised and action not in explained:
                found.append(f"{function}: grants {action}, which no test exercises and "
                             f"docs/least-privilege-reasons.yaml does not explain")
            if exercised and action in explained:
                found.append(f"{function}: {action} is exercised; its reason in the reasons file is stale")
        for action in sorted(set(explained) - set(grant.actions)):
            found.append(f"{function}: reason for {action}, which is no longer granted (stale)")
    for function in sorted(set(reasons) - set(grants)):
        found.append(f"{function}: reasons for a function the template does not have")
    return found


def render(observed: dict[str, dict[str, str]], grants: dict[str, FunctionGrants],
           reasons: dict[str, dict[str, str]]) -> str:
    lines = [
        "# Least-privilege ledger",
        "",
        "Generated by `make least-privilege`; checked by `tests/unit/test_least_privilege.py`. Do not edit.",
        "",
        "For every function: each IAM action its role grants in the template as CloudFormation deploys",
        "it (expanded by the SAM translator), and whether the test suite saw the function's code perform",
        "it (botocore `before-call` events recorded by `tests/least_privilege_plugin.py`, attributed to",
        "the function whose handler, or whose layer module, made the call). A granted action no test",
        "performs carries its reason from `docs/least-privilege-reasons.yaml`. The suite fails on any",
        "call that is not granted and on any grant that is neither exercised nor explained.",
        "",
        "A call signed with credentials the function obtained from `sts:AssumeRole` is checked against",
        "the assumed role, in a section `<function> / <role>` of its own (the recorder maps the access",
        "key of each AssumeRole response to the template role the RoleArn names). Condition keys are",
        "listed next to the statement; the recorder checks the action, not the condition.",
        "",
    ]
    for function, grant in sorted(grants.items()):
        seen = observed.get(function, {})
        if grant.assumed:
            heading = f"{grant.function} / {grant.role}"
            intro = (f"Role `{grant.role}`, assumed by {grant.function}: the calls signed with its session "
                     f"credentials; {len(grant.actions)} actions granted, {len(seen)} performed by the code.")
        else:
            heading = function
            intro = f"Role `{grant.role}`; {len(grant.actions)} actions granted, {len(seen)} performed by the code."
        lines += [f"## {heading}", "", intro, "",
                  "| action | statement | exercised by | reason when not exercised |", "|---|---|---|---|"]
        for action in sorted(grant.actions):
            tests = sorted(t for a, t in seen.items() if fnmatch.fnmatchcase(a.lower(), action.lower()))
            first = f"`{tests[0]}`" if tests else "-"
            reason = reasons.get(function, {}).get(action, "") if not tests else ""
            statement = ", ".join(grant.actions[action])
            if grant.conditions.get(action):
                statement += " (if " + ", ".join(f"`{k}`" for k in grant.conditions[action]) + ")"
            lines.append(f"| `{action}` | {statement} | {first} | {reason} |")
        extra = sorted(a for a in seen if not grant.grants(a))
        if extra:
            lines += ["", "Performed but NOT granted: " + ", ".join(f"`{a}`" for a in extra)]
        lines.append("")
    return "\n".join(lines)


def write_observed(observed: dict[str, dict[str, str]], path: Path = OBSERVED) -> None:
    body = {"generated_by": "make least-privilege",
            "functions": {f: dict(sorted(a.items())) for f, a in sorted(observed.items())}}
    path.write_text(json.dumps(body, indent=2) + "\n")


def main() -> int:
    """Re-render docs/least-privilege.md from the committed observations (after a template change)."""
    import sys

    grants = ledger_grants(expand_template())
    reasons = load_reasons()
    observed = load_observed()
    LEDGER.write_text(render(observed, grants, reasons))
    found = problems(observed, grants, reasons)
    print("\n".join(found) if found else f"{LEDGER.name}: {len(grants)} roles (own and assumed), no problem")
    sys.stdout.flush()
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
