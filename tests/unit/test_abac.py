"""The ABAC engine: packaged Cedar schema and policies, every rule and its reason, fail-closed paths."""

from __future__ import annotations

import json
import tomllib
from importlib import resources
from pathlib import Path
from typing import get_args

import cedarpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantkit.abac import AbacDecision, AbacResource, Action, PolicyEngine, Reason, packaged_policies, packaged_schema
from tenantkit.envelope import IdentityEnvelope

ROOT = Path(__file__).resolve().parents[2]
ALL_ACTIONS: tuple[Action, ...] = get_args(Action)
SESSION_ACTIONS: tuple[Action, ...] = ("session.create", "session.read", "session.delete", "message.send")
ALICE = "6e1c3a4b-2f7d-4c1e-9a8b-0d5f3e2a1b7c:11111111-1111-1111-1111-111111111111"
BOB = "6e1c3a4b-2f7d-4c1e-9a8b-0d5f3e2a1b7c:22222222-2222-2222-2222-222222222222"
WORKER = "6e1c3a4b-2f7d-4c1e-9a8b-0d5f3e2a1b7c:33333333-3333-3333-3333-333333333333"


def user(principal_id: str = ALICE, *, tenant: str = "acme", app: str = "portal",
         scopes: tuple[str, ...] = ("access_as_user", "agent.invoke")) -> IdentityEnvelope:
    return IdentityEnvelope(app_id=app, tenant_id=tenant, principal_id=principal_id, principal_type="user",
                            correlation_id="corr-1", issuer="https://login.microsoftonline.com/t/v2.0",
                            scopes=scopes, roles=())


def service(principal_id: str = WORKER, *, tenant: str = "acme", app: str = "portal",
            roles: tuple[str, ...] = ("Agents.Invoke",)) -> IdentityEnvelope:
    return IdentityEnvelope(app_id=app, tenant_id=tenant, principal_id=principal_id, principal_type="service",
                            correlation_id="corr-1", issuer="https://login.microsoftonline.com/t/v2.0",
                            scopes=(), roles=roles)


def resource_for(action: Action, envelope: IdentityEnvelope, **overrides: str | None) -> AbacResource:
    """The resource the BFF would build for ``action``: the caller's own session or profile."""
    if action == "profile.read":
        fields = {"kind": "Profile", "id": envelope.principal_id, "owner_principal_id": envelope.principal_id}
    else:
        fields = {"kind": "Session", "id": "sess-1", "owner_principal_id": envelope.principal_id}
    fields |= {"tenant_id": envelope.tenant_id, "app_id": envelope.app_id}
    return AbacResource(**(fields | overrides))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def engine() -> PolicyEngine:
    return PolicyEngine.default()


def decide(engine: PolicyEngine, envelope: IdentityEnvelope, action: Action,
           resource: AbacResource) -> tuple[bool, str]:
    decision = engine.authorize(envelope, action, resource)
    assert isinstance(decision, AbacDecision)
    return decision.allowed, decision.reason


# --- schema validation --------------------------------------------------------------------------


def test_packaged_policies_validate_against_packaged_schema(engine: PolicyEngine) -> None:
    assert engine.validate() == []
    result = cedarpy.validate_policies(packaged_policies(), packaged_schema())
    assert result.validation_passed, [str(e) for e in result.errors]


def test_each_policy_file_validates_on_its_own() -> None:
    folder = resources.files("tenantkit.abac").joinpath("policies")
    files = sorted(f.name for f in folder.iterdir() if f.name.endswith(".cedar"))
    assert files == ["scopes_and_roles.cedar", "tenant_isolation.cedar"]
    for name in files:
        result = cedarpy.validate_policies(folder.joinpath(name).read_text(), packaged_schema())
        assert result.validation_passed, (name, [str(e) for e in result.errors])


@pytest.mark.parametrize(("good", "typo", "expected"), [
    ("principal.tenant_id", "principal.tenantid", "tenantid"),
    ("resource.owner ==", "resource.ownr ==", "ownr"),
    ('principal.scopes.contains("agent.invoke")', 'principal.scope.contains("agent.invoke")', "scope"),
    ('Tenantkit::Action::"message.send"', 'Tenantkit::Action::"messages.send"', "messages.send"),
])
def test_a_typo_in_a_policy_fails_validation(good: str, typo: str, expected: str) -> None:
    text = packaged_policies()
    assert good in text
    broken = PolicyEngine(text.replace(good, typo, 1), packaged_schema())
    errors = broken.validate()
    assert errors and any(expected in e for e in errors), errors
    assert not cedarpy.validate_policies(text.replace(good, typo, 1), packaged_schema()).validation_passed


def test_validation_errors_name_the_policy_by_its_id() -> None:
    text = packaged_policies().replace("resource.tenant_id != principal.tenant_id", "resource.tenant != 1", 1)
    errors = PolicyEngine(text, packaged_schema()).validate()
    assert errors and all(e.startswith("[forbid-cross-tenant]") for e in errors), errors


def test_validate_without_a_schema_says_so() -> None:
    assert PolicyEngine(packaged_policies()).validate() == ["no schema: the policies cannot be validated"]


def test_a_json_schema_is_accepted_as_text_or_dict() -> None:
    schema = {"Tenantkit": {"entityTypes": {"User": {"shape": {"type": "Record", "attributes": {
        "tenant_id": {"type": "String"}}}}}, "actions": {"profile.read": {"appliesTo": {
            "principalTypes": ["User"], "resourceTypes": ["User"]}}}}}
    policy = 'permit (principal, action, resource) when { principal.tenant_id == resource.tenant_id };'
    assert PolicyEngine(policy, schema).validate() == []
    assert PolicyEngine(policy, json.dumps(schema)).validate() == []
    assert PolicyEngine(policy.replace("tenant_id", "tenantid", 1), schema).validate() != []


def test_default_is_loaded_once_and_the_policies_ship_as_package_data() -> None:
    assert PolicyEngine.default() is PolicyEngine.default()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "tenantkit.abac" in project["tool"]["setuptools"]["packages"]
    assert "abac/policies/*" in project["tool"]["setuptools"]["package-data"]["tenantkit"]
    assert any(dep.startswith("cedarpy") for dep in project["project"]["dependencies"])


# --- the rules, one by one ----------------------------------------------------------------------


@pytest.mark.parametrize("action", ALL_ACTIONS)
def test_a_user_acts_on_their_own_session_or_profile(engine: PolicyEngine, action: Action) -> None:
    envelope = user()
    assert decide(engine, envelope, action, resource_for(action, envelope)) == (True, "permitted")


@pytest.mark.parametrize("principal", [user(), service()], ids=["user", "service"])
@pytest.mark.parametrize("action", ALL_ACTIONS)
def test_cross_tenant_is_denied_for_every_action(engine: PolicyEngine, principal: IdentityEnvelope,
                                                  action: Action) -> None:
    foreign = resource_for(action, principal, tenant_id="globex")
    assert decide(engine, principal, action, foreign) == (False, "tenant_mismatch")
    both = resource_for(action, principal, tenant_id="globex", app_id="agent-console")
    assert decide(engine, principal, action, both) == (False, "tenant_mismatch")  # tenant reported first


@pytest.mark.parametrize("principal", [user(), service()], ids=["user", "service"])
@pytest.mark.parametrize("action", ALL_ACTIONS)
def test_cross_app_is_denied_for_every_action(engine: PolicyEngine, principal: IdentityEnvelope,
                                               action: Action) -> None:
    other_app = resource_for(action, principal, app_id="agent-console")
    assert decide(engine, principal, action, other_app) == (False, "app_mismatch")


@pytest.mark.parametrize("action", ["session.read", "session.delete", "message.send"])
def test_only_the_owner_acts_on_a_session(engine: PolicyEngine, action: Action) -> None:
    alice, bob = user(ALICE), user(BOB)
    alices_session = resource_for(action, alice)
    assert decide(engine, alice, action, alices_session) == (True, "permitted")
    assert decide(engine, bob, action, alices_session) == (False, "not_owner")
    unowned = resource_for(action, alice, owner_principal_id=None)
    assert decide(engine, alice, action, unowned) == (False, "not_owner")


@pytest.mark.parametrize("action", ["session.read", "message.send"])
def test_a_service_acts_only_on_sessions_it_owns(engine: PolicyEngine, action: Action) -> None:
    worker = service()
    assert decide(engine, worker, action, resource_for(action, worker)) == (True, "permitted")
    assert decide(engine, worker, action, resource_for(action, worker, owner_principal_id=ALICE)) == (
        False, "not_owner")


def test_session_create_needs_no_owner_but_never_for_someone_else(engine: PolicyEngine) -> None:
    alice = user()
    assert decide(engine, alice, "session.create", resource_for("session.create", alice)) == (True, "permitted")
    unbound = resource_for("session.create", alice, owner_principal_id=None)
    assert decide(engine, alice, "session.create", unbound) == (True, "permitted")
    for_bob = resource_for("session.create", alice, owner_principal_id=BOB)
    assert decide(engine, alice, "session.create", for_bob) == (False, "not_owner")


def test_profile_read_is_for_the_owner_only(engine: PolicyEngine) -> None:
    alice = user(ALICE)
    own = AbacResource("Profile", ALICE, "acme", "portal")  # owner defaults to the profile id
    assert decide(engine, alice, "profile.read", own) == (True, "permitted")
    assert decide(engine, alice, "profile.read", AbacResource("Profile", BOB, "acme", "portal")) == (
        False, "not_owner")
    # An inconsistent profile (id names Bob, owner names Alice) has no owner: denied.
    inconsistent = AbacResource("Profile", BOB, "acme", "portal", owner_principal_id=ALICE)
    assert decide(engine, alice, "profile.read", inconsistent) == (False, "not_owner")


def test_message_send_needs_the_agent_invoke_scope(engine: PolicyEngine) -> None:
    without = user(scopes=("access_as_user",))
    assert decide(engine, without, "message.send", resource_for("message.send", without)) == (
        False, "scope_missing")
    for action in ("session.create", "session.read", "session.delete"):
        assert decide(engine, without, action, resource_for(action, without)) == (True, "permitted")
    # A role of the same name is not a scope.
    role_only = user(scopes=())
    role_only = role_only.model_copy(update={"roles": ("agent.invoke", "Agents.Invoke")})
    assert decide(engine, role_only, "message.send", resource_for("message.send", role_only)) == (
        False, "scope_missing")


def test_a_service_with_agents_invoke_may_create_read_and_send_only(engine: PolicyEngine) -> None:
    worker = service(roles=("Agents.Invoke",))
    for action in ("session.create", "session.read", "message.send"):
        assert decide(engine, worker, action, resource_for(action, worker)) == (True, "permitted"), action
    for action in ("session.delete", "profile.read"):
        assert decide(engine, worker, action, resource_for(action, worker)) == (
            False, "service_principal_not_permitted"), action


def test_a_service_without_the_role_cannot_send(engine: PolicyEngine) -> None:
    worker = service(roles=("Other.Role",))
    assert decide(engine, worker, "message.send", resource_for("message.send", worker)) == (False, "role_missing")
    # A delegated scope of the same name does not stand in for the app role.
    scoped = worker.model_copy(update={"scopes": ("agent.invoke",)})
    assert decide(engine, scoped, "message.send", resource_for("message.send", scoped)) == (False, "role_missing")
    for action in ("session.create", "session.read"):
        assert decide(engine, worker, action, resource_for(action, worker)) == (True, "permitted")


def test_deny_reasons_follow_a_fixed_precedence(engine: PolicyEngine) -> None:
    worker = service(roles=())
    # service on a forbidden action, someone else's session: the action rule is reported.
    assert decide(engine, worker, "session.delete", resource_for("session.delete", worker,
                                                                 owner_principal_id=ALICE)) == (
        False, "service_principal_not_permitted")
    # not the owner and no scope: ownership is reported.
    bob = user(BOB, scopes=())
    assert decide(engine, bob, "message.send", resource_for("message.send", user(ALICE))) == (False, "not_owner")


def test_nothing_permitted_is_no_permit() -> None:
    isolation_only = resources.files("tenantkit.abac").joinpath("policies", "tenant_isolation.cedar").read_text()
    engine = PolicyEngine(isolation_only, packaged_schema())
    assert engine.validate() == []
    alice = user()
    assert decide(engine, alice, "session.read", resource_for("session.read", alice)) == (False, "no_permit")
    assert decide(engine, alice, "session.read", resource_for("session.read", alice, tenant_id="globex")) == (
        False, "tenant_mismatch")


def test_a_custom_forbid_reports_its_id_when_it_is_a_reason_code() -> None:
    policies = ('permit (principal, action, resource);\n'
                '@id("scope_missing") forbid (principal, action, resource) when { principal.scopes.isEmpty() };\n'
                '@id("something-else") forbid (principal, action, resource) when { principal.roles.isEmpty() };')
    engine = PolicyEngine(policies, packaged_schema())
    assert engine.validate() == []
    alice = user()
    assert decide(engine, alice, "session.read", resource_for("session.read", alice)) == (False, "no_permit")
    assert decide(engine, user(scopes=()), "session.read", resource_for("session.read", alice)) == (
        False, "scope_missing")


# --- fail closed ----------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ALL_ACTIONS)
def test_unparseable_policies_fail_closed(action: Action) -> None:
    engine = PolicyEngine(packaged_policies() + "\npermit (principal, action, resource", packaged_schema())
    alice = user()
    assert decide(engine, alice, action, resource_for(action, alice)) == (False, "policy_error")
    assert engine.validate()[0].startswith("policies do not parse")


def test_an_unparseable_schema_fails_closed() -> None:
    engine = PolicyEngine("permit (principal, action, resource);", "namespace Tenantkit { entity")
    alice = user()
    assert decide(engine, alice, "session.read", resource_for("session.read", alice)) == (False, "policy_error")
    assert engine.validate()[0].startswith("schema does not parse")


def test_an_evaluation_error_denies_even_when_a_permit_holds() -> None:
    # Without a schema this parses and runs; the forbid errors (no such attribute), which Cedar
    # would skip, turning the decision into Allow. The engine reports policy_error instead.
    policies = ('permit (principal, action, resource);\n'
                '@id("forbid-cross-tenant") forbid (principal, action, resource) when { principal.tenant != "x" };')
    engine = PolicyEngine(policies)
    alice = user()
    result = cedarpy.is_authorized(
        {"principal": {"type": "Tenantkit::User", "id": ALICE}, "action": {"type": "Tenantkit::Action",
         "id": "session.read"}, "resource": {"type": "Tenantkit::Session", "id": "s"}}, policies, [])
    assert result.allowed and result.diagnostics.errors  # what raw Cedar does
    assert decide(engine, alice, "session.read", resource_for("session.read", alice)) == (False, "policy_error")


@pytest.mark.parametrize(("action", "kind"), [("message.send", "Profile"), ("profile.read", "Session"),
                                              ("session.drop", "Session")])
def test_a_request_the_schema_rejects_fails_closed(engine: PolicyEngine, action: str, kind: str) -> None:
    alice = user()
    resource = AbacResource(kind, ALICE, "acme", "portal", ALICE)  # type: ignore[arg-type]
    assert decide(engine, alice, action, resource) == (False, "policy_error")  # type: ignore[arg-type]


def test_nothing_raises_out_of_authorize(engine: PolicyEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    alice = user()
    assert engine.authorize(object(), "session.read", resource_for("session.read", alice)) == (  # type: ignore[arg-type]
        AbacDecision(False, "policy_error"))

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("engine crashed")

    monkeypatch.setattr(cedarpy, "is_authorized", explode)
    assert engine.authorize(alice, "session.read", resource_for("session.read", alice)) == (
        AbacDecision(False, "policy_error"))


# --- property: isolation holds for arbitrary inputs ---------------------------------------------

TENANTS, APPS, PRINCIPALS = ("acme", "globex"), ("portal", "agent-console"), (ALICE, BOB, WORKER)
PRECEDENCE = ("tenant_mismatch", "app_mismatch", "service_principal_not_permitted", "not_owner",
              "scope_missing", "role_missing")


@st.composite
def requests(draw: st.DrawFn) -> tuple[IdentityEnvelope, Action, AbacResource]:
    envelope = IdentityEnvelope(
        app_id=draw(st.sampled_from(APPS)), tenant_id=draw(st.sampled_from(TENANTS)),
        principal_id=draw(st.sampled_from(PRINCIPALS)), principal_type=draw(st.sampled_from(["user", "service"])),
        correlation_id="corr-1", issuer="https://issuer.test/",
        scopes=tuple(draw(st.sets(st.sampled_from(["agent.invoke", "access_as_user"])))),
        roles=tuple(draw(st.sets(st.sampled_from(["Agents.Invoke", "Other.Role"])))),
    )
    action = draw(st.sampled_from(ALL_ACTIONS))
    # Mostly the kind the action applies to; sometimes the wrong one (must fail closed).
    right_kind = "Profile" if action == "profile.read" else "Session"
    kind = draw(st.sampled_from([right_kind] * 4 + ["Session", "Profile"]))
    mine = envelope.principal_id  # weighted so that owned resources (and so allows) are common
    resource = AbacResource(
        kind=kind, id=draw(st.sampled_from([mine, mine, *PRINCIPALS, "sess-1"])),
        tenant_id=draw(st.sampled_from([envelope.tenant_id, *TENANTS])),
        app_id=draw(st.sampled_from([envelope.app_id, *APPS])),
        owner_principal_id=draw(st.sampled_from([None, mine, mine, *PRINCIPALS])),
    )
    return envelope, action, resource


def oracle(env: IdentityEnvelope, action: Action, res: AbacResource) -> tuple[bool, str]:
    """The rules of docs/abac.md in plain Python, written independently of the Cedar text."""
    if res.kind != ("Profile" if action == "profile.read" else "Session"):
        return False, "policy_error"
    if res.kind == "Profile":
        owner = res.id if res.owner_principal_id in (None, res.id) else None
    else:
        owner = res.owner_principal_id
    is_service = env.principal_type == "service"
    denies = set()
    if res.tenant_id != env.tenant_id:
        denies.add("tenant_mismatch")
    if res.app_id != env.app_id:
        denies.add("app_mismatch")
    if is_service and action in ("session.delete", "profile.read"):
        denies.add("service_principal_not_permitted")
    if action != "session.create" and owner != env.principal_id:
        denies.add("not_owner")
    if action == "session.create" and owner is not None and owner != env.principal_id:
        denies.add("not_owner")
    if action == "message.send" and not is_service and "agent.invoke" not in env.scopes:
        denies.add("scope_missing")
    if action == "message.send" and is_service and "Agents.Invoke" not in env.roles:
        denies.add("role_missing")
    for reason in PRECEDENCE:
        if reason in denies:
            return False, reason
    if is_service and action not in ("session.create", "session.read", "message.send"):
        return False, "no_permit"
    return True, "permitted"


@settings(max_examples=400, deadline=None)
@given(requests())
def test_property_allowed_only_within_tenant_and_app(request: tuple[IdentityEnvelope, Action, AbacResource]) -> None:
    envelope, action, resource = request
    decision = PolicyEngine.default().authorize(envelope, action, resource)  # must not raise
    assert decision.reason in get_args(Reason)
    if decision.allowed:
        assert (resource.tenant_id, resource.app_id) == (envelope.tenant_id, envelope.app_id)
        assert decision.reason == "permitted"
    assert (decision.allowed, decision.reason) == oracle(envelope, action, resource)
