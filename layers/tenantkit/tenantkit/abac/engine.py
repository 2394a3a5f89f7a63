"""Cedar evaluation of the BFF's tenant/resource rules, in process.

The rules live in Cedar policy files beside this module, not in Python, so that the same
schema and policies can be reviewed, validated and later uploaded unchanged to an Amazon
Verified Permissions policy store. This module only translates an :class:`IdentityEnvelope`
and an :class:`AbacResource` into Cedar entities, asks cedarpy, and turns the determining
policies' ``@id`` annotations into one stable ``reason`` code.

Policies and schema are parsed once into cedarpy handles (``PolicySet``/``Schema``) and reused
on every call; only the two per-request entities are serialized each time. Every failure
(unparseable policies or schema, a request the schema rejects, an evaluation error in any
policy) yields ``AbacDecision(False, "policy_error")``: the engine fails closed and never raises.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any, Final, Literal

import cedarpy

__all__ = [
    "NAMESPACE",
    "AbacDecision",
    "AbacResource",
    "PolicyEngine",
    "packaged_policies",
    "packaged_schema",
]

if TYPE_CHECKING:  # only a type here; the envelope's pydantic import is the caller's cost
    from tenantkit.envelope import IdentityEnvelope

Action = Literal["session.create", "session.read", "session.delete", "message.send", "profile.read"]
ResourceKind = Literal["Session", "Profile"]
Reason = Literal[
    "permitted", "tenant_mismatch", "app_mismatch", "not_owner", "scope_missing", "role_missing",
    "service_principal_not_permitted", "no_permit", "policy_error",
]

NAMESPACE: Final = "Tenantkit"
_ACTION_TYPE: Final = f"{NAMESPACE}::Action"
_PRINCIPAL_TYPES: Final = {"user": f"{NAMESPACE}::User", "service": f"{NAMESPACE}::Service"}
_RESOURCE_TYPES: Final = {"Session": f"{NAMESPACE}::Session", "Profile": f"{NAMESPACE}::Profile"}

# The @id of each packaged forbid policy -> the reason it reports.
_REASON_BY_POLICY_ID: Final[dict[str, Reason]] = {
    "forbid-cross-tenant": "tenant_mismatch",
    "forbid-cross-app": "app_mismatch",
    "forbid-not-owner": "not_owner",
    "forbid-create-for-other-owner": "not_owner",
    "forbid-user-without-agent-invoke-scope": "scope_missing",
    "forbid-service-without-agents-invoke-role": "role_missing",
    "forbid-service-principal-actions": "service_principal_not_permitted",
}
# When several forbids hold at once, the most fundamental one is reported.
_DENY_PRECEDENCE: Final[tuple[Reason, ...]] = (
    "tenant_mismatch", "app_mismatch", "service_principal_not_permitted", "not_owner",
    "scope_missing", "role_missing",
)

_POLICY_DIR: Final = "policies"
_SCHEMA_FILE: Final = "tenantkit.cedarschema"


@dataclass(frozen=True)
class AbacResource:
    """What is acted on, with the tenant/app/owner it is bound to (from storage, never the request).

    For a ``Profile`` the id *is* its owner's principal id: ``owner_principal_id`` may be omitted,
    and if given it must equal ``id`` (otherwise the profile has no owner and access is denied).
    For a ``Session`` not bound yet (``session.create``) the owner may be omitted; if given, it
    must be the caller.
    """

    kind: ResourceKind
    id: str
    tenant_id: str
    app_id: str
    owner_principal_id: str | None = None

    def owner(self) -> str | None:
        """The ``owner`` attribute Cedar sees; ``None`` leaves it out (nobody owns the resource)."""
        if self.kind == "Profile":
            return self.id if self.owner_principal_id in (None, self.id) else None
        return self.owner_principal_id


@dataclass(frozen=True)
class AbacDecision:
    allowed: bool
    reason: str  # one of Reason


_PERMITTED: Final = AbacDecision(True, "permitted")
_NO_PERMIT: Final = AbacDecision(False, "no_permit")
_POLICY_ERROR: Final = AbacDecision(False, "policy_error")

_default_engine: PolicyEngine | None = None


class PolicyEngine:
    """A parsed Cedar policy set (and optional schema), evaluated in process."""

    def __init__(self, policies: str, schema: str | dict[str, Any] | None = None) -> None:
        self._policy_text = policies
        self._load_errors: list[str] = []
        self._policies: cedarpy.PolicySet | None = None
        self._schema: cedarpy.Schema | None = None
        try:
            self._policies = cedarpy.PolicySet.from_str(policies)
        except (ValueError, TypeError) as exc:
            self._load_errors.append(f"policies do not parse: {exc}")
        if schema is not None:
            try:
                self._schema = _parse_schema(schema)
            except (ValueError, TypeError) as exc:
                self._load_errors.append(f"schema does not parse: {exc}")

    @classmethod
    def default(cls) -> PolicyEngine:
        """The packaged schema and policies, parsed once per process."""
        global _default_engine
        if _default_engine is None:
            _default_engine = cls(packaged_policies(), packaged_schema())
        return _default_engine

    def authorize(self, envelope: IdentityEnvelope, action: Action, resource: AbacResource) -> AbacDecision:
        """Decide; never raises. Any error is a deny with reason ``policy_error``."""
        if self._policies is None or self._load_errors:
            return _POLICY_ERROR
        try:
            request = {
                "principal": {"type": _PRINCIPAL_TYPES[envelope.principal_type], "id": envelope.principal_id},
                "action": {"type": _ACTION_TYPE, "id": action},
                "resource": {"type": _RESOURCE_TYPES[resource.kind], "id": resource.id},
            }
            result = cedarpy.is_authorized(request, self._policies, _entities(envelope, resource), self._schema)
            return _decision(result)
        except Exception:  # fail closed: a broken engine must deny, not 500
            return _POLICY_ERROR

    def validate(self) -> list[str]:
        """Schema validation errors of the policies (empty list = valid)."""
        if self._load_errors:
            return list(self._load_errors)
        if self._schema is None:
            return ["no schema: the policies cannot be validated"]
        try:
            result = cedarpy.validate_policies(self._policy_text, self._schema)
        except (ValueError, TypeError) as exc:
            return [f"validation failed: {exc}"]
        names = result.id_annotations_by_policy_id
        return [f"[{names.get(e.policy_id, e.policy_id)}] {e.error}" if e.policy_id else e.error
                for e in result.errors]


def packaged_schema() -> str:
    """The Cedar schema shipped in ``tenantkit/abac/policies`` (Cedar schema syntax)."""
    return resources.files("tenantkit.abac").joinpath(_POLICY_DIR, _SCHEMA_FILE).read_text(encoding="utf-8")


def packaged_policies() -> str:
    """Every ``*.cedar`` file shipped in ``tenantkit/abac/policies``, in name order, as one text."""
    folder = resources.files("tenantkit.abac").joinpath(_POLICY_DIR)
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".cedar")), key=lambda f: f.name)
    return "\n".join(f.read_text(encoding="utf-8") for f in files)


def _parse_schema(schema: str | dict[str, Any]) -> cedarpy.Schema:
    if isinstance(schema, dict):
        return cedarpy.Schema.from_json_str(json.dumps(schema))
    if schema.lstrip().startswith("{"):
        return cedarpy.Schema.from_json_str(schema)
    return cedarpy.Schema.from_str(schema)


def _entities(envelope: IdentityEnvelope, resource: AbacResource) -> list[dict[str, Any]]:
    principal_attrs = {
        "tenant_id": envelope.tenant_id,
        "app_id": envelope.app_id,
        "principal_id": envelope.principal_id,
        "scopes": list(envelope.scopes),
        "roles": list(envelope.roles),
    }
    resource_attrs = {"tenant_id": resource.tenant_id, "app_id": resource.app_id}
    owner = resource.owner()
    if owner is not None:
        resource_attrs["owner"] = owner
    return [
        {"uid": {"type": _PRINCIPAL_TYPES[envelope.principal_type], "id": envelope.principal_id},
         "attrs": principal_attrs, "parents": []},
        {"uid": {"type": _RESOURCE_TYPES[resource.kind], "id": resource.id}, "attrs": resource_attrs, "parents": []},
    ]


def _decision(result: cedarpy.AuthzResult) -> AbacDecision:
    # An erroring policy is skipped by Cedar, which could turn a forbid into an allow: any error denies.
    if result.diagnostics.errors:
        return _POLICY_ERROR
    if result.decision == cedarpy.Decision.Allow:
        return _PERMITTED
    if result.decision != cedarpy.Decision.Deny:
        return _POLICY_ERROR
    found = {_reason_of(policy_id) for policy_id in result.diagnostics.id_annotations_by_reason.values()}
    for reason in _DENY_PRECEDENCE:
        if reason in found:
            return AbacDecision(False, reason)
    return _NO_PERMIT  # no forbid held: nothing permitted the request (Cedar's default deny)


def _reason_of(policy_id: str) -> str | None:
    """A packaged @id, or a custom policy whose @id is itself a deny reason code."""
    if policy_id in _REASON_BY_POLICY_ID:
        return _REASON_BY_POLICY_ID[policy_id]
    return policy_id if policy_id in _DENY_PRECEDENCE else None
