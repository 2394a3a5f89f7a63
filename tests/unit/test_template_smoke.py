"""The template-smoke runner: every step runs even after a failure, the summary says what ran,
and the exit code follows the failures (the real steps run in `make template-smoke[-full]`)."""

from __future__ import annotations

import pytest

from tenantkit_local.release import smoke


@pytest.fixture
def fake_steps(monkeypatch):
    calls = []

    def step(name, result):
        def run():
            calls.append(name)
            if isinstance(result, Exception):
                raise result
            return result
        return name, run

    monkeypatch.setattr(smoke, "FAST", [step("terraform", (True, "5 dirs, 53 passed", "")),
                                        step("sam lint", (False, "sam validate --lint failed", "E3012 bad type"))])
    monkeypatch.setattr(smoke, "FULL", [*smoke.FAST, step("checkov", RuntimeError("venv missing")),
                                        step("terragrunt gate", ("DEFER", "root_modules=2", "report"))])
    return calls


def test_fast_runs_every_step_and_fails_on_one_failure(fake_steps, capsys):
    assert smoke.main([]) == 1
    out = capsys.readouterr().out
    assert fake_steps == ["terraform", "sam lint"]
    assert "---- sam lint ----\nE3012 bad type" in out
    assert "terraform  PASS" in out and "sam lint   FAIL" in out
    assert "template-smoke: FAIL, 1/2 steps ok in" in out


def test_full_reports_a_crashed_step_and_a_verdict(fake_steps, capsys):
    assert smoke.main(["--full"]) == 1
    out = capsys.readouterr().out
    assert fake_steps == ["terraform", "sam lint", "checkov", "terragrunt gate"]
    assert "checkov          FAIL" in out and "RuntimeError: venv missing" in out
    assert "terragrunt gate  DEFER" in out  # a measurement, not a failure
    assert "template-smoke-full: FAIL, 2/4 steps ok" in out
