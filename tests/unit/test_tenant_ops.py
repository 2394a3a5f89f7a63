"""Registry edits (tenantkit tenants|apps), without AWS: every validation error, every state
transition, and the property that every result is a registry the authorizer loads."""

from __future__ import annotations

import json
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantkit.registry import TenantRegistry
from tenantkit_local.tenants import InvalidInputError, RegistryUnavailableError, ops

TID = "6e1c3a4b-2f7d-4c1e-9a8b-0d5f3e2a1b7c"
OTHER_TID = "9b2d4f6a-8c1e-4a3b-b5d7-e9f1a2c3d4e5"
CLIENT = "0c6a1f7e-5b3d-4e2a-9c8b-7d6e5f4a3b2c"
EMPTY: dict = {"tenants": {}, "apps": {}}


def onboarded(status: str = "active") -> dict:
    return {"tenants": {TID: {"tenant_id": "acme", "status": status}}, "apps": {}}


def registered(status: str = "active") -> dict:
    return {"tenants": {}, "apps": {CLIENT: {"app_id": "portal", "status": status,
                                             "required_scopes": ["access_as_user"]}}}


# --- ids ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "problem"), [
    ("", "not a GUID"),
    ("acme.onmicrosoft.com", "not a GUID"),
    ("common", "not a GUID"),
    ("organizations", "not a GUID"),
    ("6e1c3a4b2f7d4c1e9a8b0d5f3e2a1b7c", "not a GUID"),            # no hyphens
    ("{6e1c3a4b-2f7d-4c1e-9a8b-0d5f3e2a1b7c}", "not a GUID"),       # braces
    (" 6e1c3a4b-2f7d-4c1e-9a8b-0d5f3e2a1b7c", "not a GUID"),        # whitespace is not trimmed
    ("6e1c3a4b-2f7d-4c1e-9a8b-0d5f3e2a1b7g", "not a GUID"),         # non-hex
    ("6e1c3a4b-2f7d-4c1e-9a8b-0d5f3e2a1b7c\n", "not a GUID"),
    ("\uff16e1c3a4b-2f7d-4c1e-9a8b-0d5f3e2a1b7c", "non-ASCII"),          # full-width digit look-alike
    ("00000000-0000-0000-0000-000000000000", "nil GUID"),
    ("9188040d-6c67-4c5b-b112-36a304b66dad", "personal Microsoft accounts"),
])
def test_entra_tenant_ids_are_refused_precisely(value, problem):
    with pytest.raises(InvalidInputError, match=problem):
        ops.onboard(EMPTY, value, "acme")


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=40))
def test_anything_but_a_guid_is_refused(value):
    try:
        uuid.UUID(value)
        is_canonical = len(value) == 36 and value.count("-") == 4 and value.isascii()
    except ValueError:
        is_canonical = False
    if is_canonical:
        return
    with pytest.raises(InvalidInputError):
        ops.entra_guid("Entra tenant id", value)


@settings(max_examples=100, deadline=None)
@given(st.uuids(), st.booleans())
def test_every_guid_is_accepted_in_lowercase(value, upper):
    text = str(value).upper() if upper else str(value)
    if str(value) in (ops.NIL_GUID, ops.MSA_CONSUMERS_TENANT):
        return
    assert ops.entra_guid("application (client) id", text) == str(value)


@pytest.mark.parametrize("tenant_id", ["", "-acme", "acme corp", "a" * 65, "acme/../globex", "ac\u00e9me", "acme\n"])
def test_tenant_ids_follow_the_registry_pattern(tenant_id):
    with pytest.raises(InvalidInputError, match="tenant_id"):
        ops.onboard(EMPTY, TID, tenant_id)


@pytest.mark.parametrize("app_id", ["", "_portal", "portal app", "p" * 65])
def test_app_ids_follow_the_registry_pattern(app_id):
    with pytest.raises(InvalidInputError, match="app_id"):
        ops.register_app(EMPTY, CLIENT, app_id, scopes=["access_as_user"], roles=[])


def test_app_client_ids_must_be_guids():
    with pytest.raises(InvalidInputError, match="application \\(client\\) id 'api://tenantkit': not a GUID"):
        ops.register_app(EMPTY, "api://tenantkit", "portal", scopes=["x"], roles=[])


@pytest.mark.parametrize(("scopes", "roles", "problem"), [
    ([], [], "at least one --scope"),
    (["access as user"], [], "scope"),
    (["a", "a"], [], "listed twice"),
    ([], ["Agents Invoke"], "role"),
])
def test_app_requirements_are_validated(scopes, roles, problem):
    with pytest.raises(InvalidInputError, match=problem):
        ops.register_app(EMPTY, CLIENT, "portal", scopes=scopes, roles=roles)


def test_display_names_are_printable():
    with pytest.raises(InvalidInputError, match="display name"):
        ops.onboard(EMPTY, TID, "acme", "Acme\x00Corp")


# --- transitions ----------------------------------------------------------------------------

def test_onboard_twice_or_a_shared_tenant_id_is_refused():
    with pytest.raises(InvalidInputError, match="already onboarded as 'acme'"):
        ops.onboard(onboarded(), TID, "acme2")
    with pytest.raises(InvalidInputError, match="tenant_id 'acme' already belongs to Entra tenant"):
        ops.onboard(onboarded(), OTHER_TID, "acme")


@pytest.mark.parametrize(("operation", "document", "problem"), [
    (ops.suspend, EMPTY, "not onboarded"),
    (ops.suspend, onboarded("suspended"), "already suspended"),
    (ops.resume, onboarded("active"), "already active"),
    (ops.offboard, EMPTY, "not onboarded"),
    (ops.offboard, onboarded("active"), "suspend it first"),
])
def test_tenant_transitions_that_make_no_sense_are_refused(operation, document, problem):
    with pytest.raises(InvalidInputError, match=problem):
        operation(document, TID)


@pytest.mark.parametrize(("operation", "document", "problem"), [
    (ops.disable_app, EMPTY, "not registered"),
    (ops.disable_app, registered("disabled"), "already disabled"),
    (ops.enable_app, registered("active"), "already active"),
])
def test_app_transitions_that_make_no_sense_are_refused(operation, document, problem):
    with pytest.raises(InvalidInputError, match=problem):
        operation(document, CLIENT)


def test_register_twice_is_refused():
    with pytest.raises(InvalidInputError, match="already registered as 'portal'"):
        ops.register_app(registered(), CLIENT, "portal2", scopes=["x"], roles=[])


def test_status_values_are_the_ones_the_authorizer_honours():
    suspended, change = ops.suspend(onboarded(), TID.upper())
    assert TenantRegistry.model_validate(suspended).tenants[TID].status == "suspended"
    assert change.event_type == "tenant.suspended" and change.tenant_id == "acme"
    disabled, change = ops.disable_app(registered(), CLIENT)
    assert TenantRegistry.model_validate(disabled).apps[CLIENT].status == "disabled"
    assert change.event_type == "app.disabled" and change.app_id == "portal"
    removed, change = ops.offboard(onboarded("active"), TID, force=True)
    assert removed["tenants"] == {} and change.event_type == "tenant.offboarded"


def test_a_refused_edit_leaves_the_document_untouched_and_extra_keys_survive():
    document = {"tenants": {TID: {"tenant_id": "acme", "status": "active", "tier": "gold"}}, "apps": {},
                "comment": "kept"}
    before = json.dumps(document, sort_keys=True)
    with pytest.raises(InvalidInputError):
        ops.onboard(document, OTHER_TID, "acme")
    assert json.dumps(document, sort_keys=True) == before
    new, _ = ops.suspend(document, TID)
    assert new["tenants"][TID]["tier"] == "gold" and new["comment"] == "kept"
    assert json.dumps(document, sort_keys=True) == before  # copy-on-write


def test_a_stored_registry_the_authorizer_rejects_is_not_edited():
    with pytest.raises(RegistryUnavailableError, match="invalid"):
        ops.parse_document('{"tenants": {"x": {"tenant_id": "bad id"}}, "apps": {}}')


OPERATIONS = st.sampled_from(["onboard", "suspend", "resume", "offboard", "register", "disable", "enable"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(OPERATIONS, st.sampled_from([TID, OTHER_TID]), st.sampled_from(["acme", "globex"])),
                max_size=12))
def test_any_sequence_of_edits_yields_a_registry_the_authorizer_loads(steps):
    document: dict = {"tenants": {}, "apps": {}}
    for name, guid, internal in steps:
        try:
            if name == "onboard":
                document, _ = ops.onboard(document, guid, internal)
            elif name == "register":
                document, _ = ops.register_app(document, guid, internal, scopes=["access_as_user"], roles=[])
            elif name in ("disable", "enable"):
                document, _ = getattr(ops, f"{name}_app")(document, guid)
            else:
                document, _ = getattr(ops, name)(document, guid)
        except InvalidInputError:
            continue
        loaded = TenantRegistry.from_json(ops.render_document(document))
        tenant_ids = [t.tenant_id for t in loaded.tenants.values()]
        assert len(tenant_ids) == len(set(tenant_ids))  # one tenant_id per Entra tenant, always
