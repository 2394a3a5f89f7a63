"""The rehearsal apply covers every stack, points only at loopback, and documents what moto lacks."""

from __future__ import annotations

import re
from pathlib import Path

from tenantkit_local.release import rehearsal, smoke

ROOT = Path(__file__).resolve().parents[2]


def test_every_stack_is_rehearsed():
    stacks = {p.parent.name for p in (ROOT / "terraform" / "stacks").glob("*/main.tf")}
    assert set(rehearsal.STACKS) == stacks == set(rehearsal.STACK_VARIABLES)


def test_the_override_points_the_provider_at_the_local_endpoint_with_local_state():
    text = rehearsal.override("http://127.0.0.1:5000")
    block = text.split("endpoints {", 1)[1]
    endpoints = re.findall(r'^\s+(\w+) = "([^"]+)"$', block, re.M)
    assert {name for name, _ in endpoints} == set(rehearsal.SERVICES)
    assert {url for _, url in endpoints} == {"http://127.0.0.1:5000"}
    assert 'backend "local"' in text and 'access_key                  = "testing"' in text
    assert "skip_credentials_validation = true" in text


def test_unsupported_resources_exist_and_are_documented_with_their_covering_plan():
    sources = "\n".join(p.read_text() for p in (ROOT / "terraform").rglob("*.tf"))
    docs = (ROOT / "docs" / "terraform.md").read_text()
    for resource_type in rehearsal.UNSUPPORTED:
        assert f'resource "{resource_type}"' in sources
        row = next(line for line in docs.splitlines() if line.startswith(f"| `{resource_type}`"))
        assert ".tftest.hcl" in row


def test_the_rehearsal_is_a_release_step_not_part_of_make_test():
    assert "rehearsal apply (moto)" in [name for name, _ in smoke.FULL]
    assert "rehearsal apply (moto)" not in [name for name, _ in smoke.FAST]
    assert "rehearsal" not in (ROOT / "Makefile").read_text().split("\ntest:")[1].split("\n")[0]


def test_a_failed_stack_is_reported_as_failed():
    result = rehearsal.StackResult("audit", applied=["x"], second_plan_clean=False, destroyed=True)
    assert not result.ok and "NOT clean" in rehearsal.summary([result])
