"""TenantRegistry and RegistryProvider: inline JSON or SSM, strict shape, last good copy on failure."""

from __future__ import annotations

import json
from typing import Any

import pytest

from support.tokens import ACME_TID, GLOBEX_TID, PORTAL_CLIENT, WORKER_CLIENT
from tenantkit.exceptions import RegistryError
from tenantkit.registry import RegistryProvider, TenantRegistry

REGISTRY: dict[str, Any] = {
    "tenants": {
        ACME_TID: {"tenant_id": "acme", "display_name": "Acme Corp"},
        GLOBEX_TID: {"tenant_id": "globex", "status": "suspended"},
    },
    "apps": {
        PORTAL_CLIENT: {"app_id": "portal", "required_scopes": ["access_as_user"]},
        WORKER_CLIENT: {"app_id": "billing-worker", "required_roles": ["Agents.Invoke"], "status": "disabled"},
    },
}
TEXT = json.dumps(REGISTRY)


def _with(**changes: Any) -> str:
    data = json.loads(TEXT)
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        node = data
        for part in parents:
            node = node[part]
        node[leaf] = value
    return json.dumps(data)


class FakeSsm:
    """Injected ssm_reader: records calls, returns ``text`` or raises ``error``."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.error: Exception | None = None
        self.calls: list[tuple[str, int]] = []

    def __call__(self, name: str, max_age: int) -> str:
        self.calls.append((name, max_age))
        if self.error is not None:
            raise self.error
        return self.text


def test_inline_json_registry():
    provider = RegistryProvider(TEXT)
    assert provider.source_kind == "inline"
    registry = provider.get()
    assert registry.tenants[ACME_TID].tenant_id == "acme"
    assert registry.tenants[ACME_TID].status == "active"
    assert registry.tenants[GLOBEX_TID].status == "suspended"
    assert registry.apps[PORTAL_CLIENT].app_id == "portal"
    assert registry.apps[PORTAL_CLIENT].required_scopes == ("access_as_user",)
    assert registry.apps[PORTAL_CLIENT].required_roles == ()
    assert registry.apps[WORKER_CLIENT].required_roles == ("Agents.Invoke",)
    assert registry.apps[WORKER_CLIENT].status == "disabled"


def test_extra_keys_are_kept():
    registry = TenantRegistry.from_json(_with(version="7"))
    assert registry.tenants[ACME_TID].model_extra == {"display_name": "Acme Corp"}
    assert registry.model_extra == {"version": "7"}


def test_minimal_documented_shape():
    text = json.dumps({"tenants": {"tid-1": {"tenant_id": "acme"}}, "apps": {"client-1": {"app_id": "portal"}}})
    registry = TenantRegistry.from_json(text)
    assert registry.tenants["tid-1"].tenant_id == "acme"
    assert registry.apps["client-1"].app_id == "portal"


def test_registry_is_immutable():
    registry = TenantRegistry.from_json(TEXT)
    with pytest.raises(ValueError):
        registry.tenants[ACME_TID].tenant_id = "globex"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "location"),
    [
        (json.dumps({"apps": {}}), "tenants"),
        (json.dumps({"tenants": {}}), "apps"),
        (json.dumps({"tenants": [], "apps": {}}), "tenants"),
        (_with(tenants__x={"status": "active"}), "tenants.x.tenant_id"),
        (_with(tenants__x={"tenant_id": 5}), "tenants.x.tenant_id"),
        (_with(tenants__x="acme"), "tenants.x"),
        (_with(apps__c={"app_id": "portal", "status": "paused"}), "apps.c.status"),
        (_with(apps__c={"app_id": "portal", "required_scopes": "access_as_user"}), "apps.c.required_scopes"),
        (_with(apps__c={"app_id": "portal", "required_roles": [1]}), "apps.c.required_roles.0"),
        (_with(apps__c={}), "apps.c.app_id"),
        (_with(tenants__x={"tenant_id": "acme", "status": "deleted"}), "tenants.x.status"),
    ],
)
def test_invalid_shape_raises_registry_error_naming_the_location(text, location):
    with pytest.raises(RegistryError) as caught:
        TenantRegistry.from_json(text)
    assert location in str(caught.value)
    assert caught.value.reason == "registry_unavailable"


@pytest.mark.parametrize("text", ["not json", "", "[]", "null", '{"tenants": {}, "apps": {}'])
def test_not_an_object_raises_registry_error(text):
    with pytest.raises(RegistryError):
        RegistryProvider(text).get()


@pytest.mark.parametrize(
    "tenant_id",
    ["acme corp", "acme\n", "-acme", "", "a" * 65, "acme/prod", "acme:prod", "ácme", "acme\u2028", "../acme"],
)
def test_bad_tenant_id_pattern(tenant_id):
    with pytest.raises(RegistryError) as caught:
        TenantRegistry.from_json(_with(tenants__x={"tenant_id": tenant_id}))
    assert "tenants.x.tenant_id" in str(caught.value)


@pytest.mark.parametrize("app_id", ["por tal", "portal\n", "_portal", ""])
def test_bad_app_id_pattern(app_id):
    with pytest.raises(RegistryError) as caught:
        TenantRegistry.from_json(_with(apps__c={"app_id": app_id}))
    assert "apps.c.app_id" in str(caught.value)


@pytest.mark.parametrize("tenant_id", ["acme", "a", "acme-prod_2.eu", "A" * 64, "9lives"])
def test_good_tenant_ids(tenant_id):
    assert TenantRegistry.from_json(_with(tenants__x={"tenant_id": tenant_id})).tenants["x"].tenant_id == tenant_id


def test_ssm_source_calls_the_reader_with_name_and_max_age():
    reader = FakeSsm(TEXT)
    provider = RegistryProvider("ssm:/tenantkit/prod/registry", cache_seconds=120, ssm_reader=reader)
    assert provider.source_kind == "ssm"
    assert provider.get().tenants[ACME_TID].tenant_id == "acme"
    assert reader.calls == [("/tenantkit/prod/registry", 120)]
    provider.get()
    assert reader.calls == [("/tenantkit/prod/registry", 120)] * 2  # caching is the reader's job (max_age)


def test_inline_source_never_calls_the_reader():
    reader = FakeSsm(TEXT)
    RegistryProvider(TEXT, ssm_reader=reader).get()
    assert reader.calls == []


@pytest.mark.parametrize("error", [RuntimeError("boom"), TimeoutError(), KeyError("Parameter"), OSError("dns")])
def test_reader_failure_without_good_copy_is_registry_error(error):
    reader = FakeSsm(TEXT)
    reader.error = error
    provider = RegistryProvider("ssm:/tenantkit/prod/registry", ssm_reader=reader)
    with pytest.raises(RegistryError) as caught:
        provider.get()
    assert type(error).__name__ in str(caught.value)
    reader.error = None  # a later success recovers
    assert provider.get().tenants[ACME_TID].tenant_id == "acme"


def test_invalid_first_read_is_registry_error():
    reader = FakeSsm(_with(tenants__x={"tenant_id": "bad id"}))
    with pytest.raises(RegistryError):
        RegistryProvider("ssm:/p", ssm_reader=reader).get()


def test_reader_failure_after_good_load_serves_last_good_copy():
    reader = FakeSsm(TEXT)
    provider = RegistryProvider("ssm:/tenantkit/prod/registry", ssm_reader=reader)
    good = provider.get()
    reader.error = RuntimeError("ThrottlingException")
    assert provider.get() is good
    assert provider.get() is good
    assert len(reader.calls) == 3  # it keeps trying


def test_invalid_update_after_good_load_serves_last_good_copy():
    reader = FakeSsm(TEXT)
    provider = RegistryProvider("ssm:/p", ssm_reader=reader)
    good = provider.get()
    for bad in ["not json", "[]", _with(tenants__x={"tenant_id": "bad id"}), json.dumps({"tenants": {}})]:
        reader.text = bad
        assert provider.get() is good
    reader.text = _with(tenants__x={"tenant_id": "initech"})  # a valid update is taken
    updated = provider.get()
    assert updated is not good
    assert updated.tenants["x"].tenant_id == "initech"


def test_reparses_only_when_the_text_changes(monkeypatch):
    parses: list[str] = []
    original = TenantRegistry.from_json.__func__  # type: ignore[attr-defined]

    def counting(cls: type[TenantRegistry], text: str) -> TenantRegistry:
        parses.append(text)
        return original(cls, text)

    monkeypatch.setattr(TenantRegistry, "from_json", classmethod(counting))
    reader = FakeSsm(TEXT)
    provider = RegistryProvider("ssm:/p", ssm_reader=reader)
    first = provider.get()
    assert provider.get() is first
    assert provider.get() is first
    assert len(parses) == 1

    reader.text = _with(tenants__x={"tenant_id": "initech"})
    second = provider.get()
    assert second is not first and "x" in second.tenants
    assert provider.get() is second
    assert len(parses) == 2

    reader.text = TEXT  # back to the first text: parsed again (only the current text is remembered)
    assert provider.get().tenants.keys() == first.tenants.keys()
    assert len(parses) == 3


def test_inline_registry_is_parsed_once():
    provider = RegistryProvider(TEXT)
    assert provider.get() is provider.get()
