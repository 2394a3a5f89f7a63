"""The CLI's user contract: help on every argument, one audit-location name, catch-up
compaction, a useful answer for cost queries without CUR data, and one line (never a
traceback) for any error."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantkit_local import AuditStoreError, audit_store_default, cli
from tenantkit_local.personas import ClaimsOverrideError, load_persona, parse_claims, with_claims


def _parsers(parser: argparse.ArgumentParser, path: str = "tenantkit"):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _parsers(child, f"{path} {name}")


def test_every_argument_of_every_command_has_help_text():
    missing = []
    for path, parser in _parsers(cli.build_parser()):
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
                continue
            if not (action.help or "").strip():
                missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")
    assert missing == []


def test_the_local_group_has_sam_habits():
    commands = {path for path, _ in _parsers(cli.build_parser())}
    assert {"tenantkit local invoke", "tenantkit local start-api", "tenantkit local up"} <= commands
    up = dict(_parsers(cli.build_parser()))["tenantkit local up"]
    options = {o for action in up._actions for o in action.option_strings}
    assert {"--env-vars", "--parameter-overrides", "--state-dir", "--json", "--port", "--audit-store"} <= options


def test_audit_store_default_follows_the_sink_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("TENANTKIT_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("AUDIT_STORE", raising=False)
    assert audit_store_default() == tmp_path / "state" / "audit"
    monkeypatch.setenv("AUDIT_STORE", str(tmp_path / "zones"))
    assert audit_store_default() == tmp_path / "zones"
    monkeypatch.setenv("AUDIT_STORE", f"file://{tmp_path}/z2")
    assert audit_store_default() == tmp_path / "z2"
    monkeypatch.setenv("AUDIT_STORE", "s3://bucket/prefix/")
    with pytest.raises(AuditStoreError):
        audit_store_default()


def test_an_s3_audit_store_is_one_line_not_a_traceback(monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]):
    monkeypatch.setenv("AUDIT_STORE", "s3://bucket/prefix/")
    assert cli.main(["compact", "--dt", "2026-11-28"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and "AUDIT_STORE" in err


@pytest.mark.parametrize(("argv", "message"), [
    (["compact"], "give --dt"),
    (["compact", "--from", "2026-11-02"], "give --dt"),
    (["compact", "--dt", "2026-11-02", "--from", "2026-11-01", "--to", "2026-11-02"], "not both"),
    (["compact", "--from", "2026-11-03", "--to", "2026-11-01"], "--from is after --to"),
])
def test_compact_arguments_are_checked(argv: list[str], message: str, capsys: pytest.CaptureFixture[str],
                                       tmp_path: Path):
    assert cli.main([*argv, "--audit-store", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err


def test_compact_catch_up_covers_every_day_of_the_range(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    import json

    assert cli.main(["compact", "--from", "2026-10-30", "--to", "2026-11-02", "--audit-store", str(tmp_path)]) == 0
    reports = json.loads(capsys.readouterr().out)
    assert [r["dt"] for r in reports] == ["2026-10-30", "2026-10-31", "2026-11-01", "2026-11-02"]
    assert all(r["state"] == "SUCCEEDED" and r["rows"] == 0 for r in reports)


def test_cost_query_without_cur_data_says_how_to_provide_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    code = cli.main(["query", "cost/cost_by_app_agent_day", "-p", "from_dt=2026-11-01", "-p", "to_dt=2026-11-02",
                     "--audit-store", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "CUR 2.0" in err and f"{tmp_path}/cur/BILLING_PERIOD=YYYY-MM/" in err


def test_unexpected_errors_are_one_line_unless_debugging(monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]):
    def boom(args: argparse.Namespace) -> int:
        raise RuntimeError("something\nunexpected")

    monkeypatch.setattr(cli, "cmd_schema_export", boom)
    monkeypatch.delenv("TENANTKIT_DEBUG", raising=False)
    assert cli.main(["schema", "export"]) == 1
    err = capsys.readouterr().err
    assert err == ("tenantkit: internal error: RuntimeError: something unexpected "
                   "(set TENANTKIT_DEBUG=1 for the traceback)\n")
    monkeypatch.setenv("TENANTKIT_DEBUG", "1")
    with pytest.raises(RuntimeError):
        cli.main(["schema", "export"])


@pytest.mark.parametrize("claims", ["not json", "[1, 2]", '"text"', "@/nonexistent/claims.json"])
def test_bad_claims_are_one_line(claims: str, capsys: pytest.CaptureFixture[str]):
    assert cli.main(["token", "--persona", "acme-user-v2", "--claims", claims]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tenantkit: --claims") and err.count("\n") == 1


def test_claims_file_and_null_removal(tmp_path: Path):
    path = tmp_path / "claims.json"
    path.write_text('{"oid": null, "roles": ["Agents.Invoke"]}')
    persona = with_claims(load_persona("acme-user-v2"), parse_claims(f"@{path}"))
    assert "oid" not in persona.claims and persona.claims["roles"] == ["Agents.Invoke"]
    assert persona.claims["tid"] == load_persona("acme-user-v2").claims["tid"]


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=12),
                       st.none() | st.integers() | st.text(max_size=20) | st.lists(st.text(max_size=8), max_size=3),
                       max_size=6))
def test_claims_overrides_set_or_remove_exactly_what_they_name(overrides: dict):
    base = load_persona("globex-b2b-guest")
    persona = with_claims(base, overrides)
    for name, value in overrides.items():
        if value is None:
            assert name not in persona.claims
        else:
            assert persona.claims[name] == value
    untouched = {k: v for k, v in base.claims.items() if k not in overrides}
    assert {k: persona.claims[k] for k in untouched} == untouched
    with pytest.raises(ClaimsOverrideError):
        with_claims(base, [overrides])  # type: ignore[arg-type]
