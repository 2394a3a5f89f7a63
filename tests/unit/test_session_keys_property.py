"""Every key the repository writes or reads starts with the prefix the TenantDataRole condition
expects for the caller's (tenant, app), and never matches another pair's condition.

The condition is read from template.yaml and evaluated the way IAM evaluates ``StringLike``
after substituting the principal's session tags (``*`` any run, ``?`` one character,
case-sensitive)."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from support.bff import envelope as make_envelope
from tenantkit.bff.errors import SessionNotFoundError
from tenantkit.bff.sessions import DynamoDbSessionRepository, InMemorySessionRepository, key_prefix, new_session_id
from tenantkit.envelope import IdentityEnvelope
from tenantkit_local.template import load_template

ROOT = Path(__file__).resolve().parents[2]
_ROLE = load_template(ROOT / "template.yaml")["Resources"]["TenantDataRole"]["Properties"]
(CONDITION,) = _ROLE["Policies"][0]["PolicyDocument"]["Statement"][0]["Condition"][
    "ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
IDENT = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:/@-]{0,24}", fullmatch=True)  # the envelope's identifier pattern


def iam_string_like(pattern: str, value: str) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None


def condition_for(tenant_id: str, app_id: str) -> str:
    """The condition value after IAM substitutes the session's principal tags."""
    return CONDITION.replace("${aws:PrincipalTag/tenant_id}", tenant_id).replace("${aws:PrincipalTag/app_id}", app_id)


class RecordingClient:
    """Records the keys of each call (the only part of the wire format this test looks at)."""

    def __init__(self, keys: list[str]) -> None:
        self.keys = keys

    def put_item(self, **kwargs: Any) -> dict[str, Any]:
        self.keys += [kwargs["Item"]["pk"]["S"], kwargs["Item"]["tenant_key"]["S"]]
        return {}

    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        self.keys.append(kwargs["Key"]["pk"]["S"])
        return {}

    def delete_item(self, **kwargs: Any) -> dict[str, Any]:
        self.keys.append(kwargs["Key"]["pk"]["S"])
        return {}


class Clients:
    def __init__(self) -> None:
        self.keys: list[str] = []

    def client_for(self, tenant_id: str, app_id: str) -> RecordingClient:
        return RecordingClient(self.keys)


def caller(tenant: str, app: str) -> IdentityEnvelope:
    return make_envelope().model_copy(update={"tenant_id": tenant, "app_id": app})


def keys_written(tenant: str, app: str) -> list[str]:
    clients = Clients()
    repository = DynamoDbSessionRepository("t", clients=clients)
    env = caller(tenant, app)
    session_id = repository.create(env).session_id
    for call in (repository.get_for, repository.delete):
        with contextlib.suppress(SessionNotFoundError):  # the recording client finds nothing; keys matter here
            call(session_id, env)
    return clients.keys


@st.composite
def two_pairs(draw: st.DrawFn) -> tuple[tuple[str, str], tuple[str, str]]:
    tenant, app = draw(IDENT), draw(IDENT)
    # Near misses are the dangerous case: a prefix, an extension, the same text in the other slot.
    other_tenant = draw(st.sampled_from([tenant, tenant + draw(IDENT), tenant[:-1] or "x", app, draw(IDENT)]))
    other_app = draw(st.sampled_from([app, app + draw(IDENT), app[:-1] or "x", tenant, draw(IDENT)]))
    return (tenant, app), (other_tenant, other_app)


@settings(max_examples=150, deadline=None)
@given(two_pairs())
def test_written_keys_match_only_their_own_pairs_condition(pairs):
    (tenant, app), (other_tenant, other_app) = pairs
    keys = keys_written(tenant, app)
    assert len(keys) == 4  # put (pk + index key), get, delete
    for key in keys:
        assert key.startswith(key_prefix(tenant, app))
        assert iam_string_like(condition_for(tenant, app), key)
        if (other_tenant, other_app) != (tenant, app):
            assert not iam_string_like(condition_for(other_tenant, other_app), key), (key, other_tenant, other_app)


@settings(max_examples=100, deadline=None)
@given(IDENT, IDENT)
def test_in_memory_adapter_keys_items_like_the_table(tenant, app):
    repository = InMemorySessionRepository()
    binding = repository.create(caller(tenant, app))
    (key,) = repository.items
    assert key == f"T#{tenant}#A#{app}#S#{binding.session_id}"
    assert iam_string_like(condition_for(tenant, app), key)


def test_acme_cannot_match_acme2():
    key = keys_written("acme2", "portal")[0]
    assert not iam_string_like(condition_for("acme", "portal"), key)
    assert iam_string_like(condition_for("acme2", "portal"), key)


@pytest.mark.parametrize("bad", ["", "a#b", "a*", "a?", "${x}"])
def test_key_prefix_refuses_values_that_would_blur_the_prefix(bad):
    with pytest.raises(ValueError):
        key_prefix(bad, "portal")
    with pytest.raises(ValueError):
        key_prefix("acme", bad)


def test_session_ids_never_carry_the_separator():
    assert all("#" not in new_session_id() for _ in range(200))
