"""Every repository path, `make` target, `tenantkit` subcommand and environment variable that a
document names exists: README.md and docs/**/*.md are checked against the tree, the Makefiles,
the CLI parser and the code."""

from __future__ import annotations

import argparse
import re
import shlex
from functools import lru_cache
from pathlib import Path

import pytest

from tenantkit_local.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
INLINE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
# The repository's own top-level entries: a backticked token starting with one of them is a path.
TOP_LEVEL = ("layers/", "functions/", "local/", "tests/", "docs/", "terraform/", "queries/", "events/", "bench/")
ROOT_FILES = ("template.yaml", "samconfig.toml", "Makefile", "pyproject.toml", "README.md")
# Paths written relative to the layer package (`tenantkit/config.py`) are checked there.
LAYER_PACKAGE = "tenantkit/"
# Environment variables of this platform (CI, AWS and tool variables are other people's).
ENV_VAR = re.compile(r"^(?:TENANTKIT|OIDC|JWKS|POWERTOOLS|AUDIT|ATHENA|UPSTREAM|SESSIONS?|CLOUDMAP|AGENT|TENANT|"
                     r"TOKEN|COMPACTION|INFERENCE|MAX_BODY)_[A-Z0-9_]+$")
CODE_SUFFIXES = {".py", ".sh", ".yaml", ".yml", ".json", ".toml", ".tf", ".hcl"}


def _spans(text: str) -> list[str]:
    """Inline code spans outside fenced blocks."""
    return INLINE.findall(FENCE.sub("", text))


def _command_lines(text: str) -> list[str]:
    """Inline spans plus the lines of fenced blocks (where commands are usually written)."""
    lines = _spans(text)
    for block in FENCE.findall(text):
        lines += [line.strip().removeprefix("$ ") for line in block.splitlines()]
    return lines


def _as_glob(token: str) -> str:
    token = re.sub(r"<[^>]*>", "*", token)
    token = re.sub(r"\{[^}]*\}", "*", token)
    return re.sub(r"\[[^\]]*\]", "*", token).rstrip("/")


def _path_exists(token: str) -> bool:
    base, pattern = ROOT, _as_glob(token)
    if token.startswith(LAYER_PACKAGE):
        base = ROOT / "layers" / "tenantkit"
    if token.endswith(".tftest.hcl"):  # `terraform test` files are named relative to their module
        pattern = f"terraform/*/*/{pattern}"
    if any(ch in pattern for ch in "*?"):
        return any(base.glob(pattern))
    return (base / pattern).exists()


def _path_token(span: str) -> str | None:
    """The path a span names, when the span is a single repository path."""
    token = span.strip().rstrip(".,;:")
    token = re.sub(r":\d+(-\d+)?$", "", token.split("::", 1)[0])  # file.py:12, a pytest node id
    if " " in token or "=" in token or token.startswith(("http", "s3:", "/")):
        return None
    if token.startswith(TOP_LEVEL) or token in ROOT_FILES or token.startswith(LAYER_PACKAGE):
        return token
    return None


def _documents() -> list[tuple[str, str]]:
    return [(str(path.relative_to(ROOT)), path.read_text()) for path in DOCS]


def test_every_repository_path_a_document_names_exists():
    named = [(name, token) for name, text in _documents() for span in _spans(text) if (token := _path_token(span))]
    assert len(named) > 200  # the check reads the documents, not nothing
    missing = sorted({f"{name}: {token}" for name, token in named if not _path_exists(token)})
    assert missing == []


@lru_cache(maxsize=4)
def _make_targets(makefile: Path) -> frozenset[str]:
    text = makefile.read_text()
    return frozenset(name for line in re.findall(r"^([A-Za-z0-9_.%/ -]+):(?!=)", text, re.MULTILINE)
                     for name in line.split())


def _make_problem(line: str) -> str | None:
    try:
        words = shlex.split(line.split("#", 1)[0])
    except ValueError:
        return None
    if not words or words[0] != "make":
        return None
    makefile, rest = ROOT / "Makefile", words[1:]
    if rest[:1] == ["-C"] and len(rest) > 1:
        makefile, rest = ROOT / rest[1] / "Makefile", rest[2:]
    targets = [w for w in rest if not w.startswith("-") and "=" not in w and not w.startswith("<")]
    if not makefile.exists():
        return f"{line}: no {makefile.relative_to(ROOT)}"
    unknown = [t for t in targets if t not in _make_targets(makefile)]
    return f"{line}: unknown target(s) {unknown}" if unknown else None


def test_every_make_target_a_document_names_exists():
    problems = sorted({f"{name}: {problem}" for name, text in _documents() for line in _command_lines(text)
                       if (problem := _make_problem(line))})
    assert problems == []


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _tenantkit_problem(line: str, parser: argparse.ArgumentParser) -> str | None:
    try:
        words = shlex.split(line.split(" #", 1)[0])
    except ValueError:
        return None
    words = [w.rsplit("/", 1)[-1] if w.endswith("/tenantkit") else w for w in words]
    if "tenantkit" not in words[:1] or re.match(r"^\S*tenantkit {2,}", line):
        return None  # not a command, or a directory listing ("tenantkit    this repository")
    current, path = parser, ["tenantkit"]
    for word in words[1:]:
        choices = _subparsers(current)
        if not choices or word.startswith(("-", "<", "$", "{")):
            return None
        if word not in choices:
            return f"{line}: `{' '.join(path)}` has no subcommand {word!r}"
        current, path = choices[word], [*path, word]
    return None


def test_every_tenantkit_subcommand_a_document_names_exists():
    parser = build_parser()
    problems = sorted({f"{name}: {problem}" for name, text in _documents() for line in _command_lines(text)
                       if (problem := _tenantkit_problem(line, parser))})
    assert problems == []


@lru_cache(maxsize=1)
def _code_text() -> str:
    roots = [ROOT / d for d in ("layers", "functions", "local", "bench", "terraform")]
    files = [p for r in roots for p in r.rglob("*") if p.is_file() and p.suffix in CODE_SUFFIXES
             and ".terraform" not in p.parts and "docs" not in p.parts]
    files += [ROOT / "Makefile", ROOT / "template.yaml"]
    return "\n".join(p.read_text(errors="replace") for p in files)


def test_every_environment_variable_a_document_names_is_read_by_the_code():
    code = _code_text()
    named = [(name, span) for name, text in _documents() for span in _spans(text) if ENV_VAR.match(span)]
    assert len(named) > 50
    unread = sorted({f"{name}: {span}" for name, span in named
                     if not re.search(rf"(?<![A-Z0-9_]){span}(?![A-Z0-9_])", code)})
    assert unread == []


@pytest.mark.parametrize(("span", "expected"), [
    ("docs/rejections.md", "docs/rejections.md"), ("terraform/stacks/<stack>/", "terraform/stacks/<stack>/"),
    ("make test", None), ("tenantkit/config.py", "tenantkit/config.py"), ("s3://bucket/raw/", None),
    ("a plain word", None), ("tests/unit/test_x.py:12", "tests/unit/test_x.py"),
    ("tests/unit/test_x.py::test_y", "tests/unit/test_x.py"),
])
def test_path_recognition(span, expected):
    assert _path_token(span) == expected


def test_the_checks_catch_what_they_are_for():
    parser = build_parser()
    assert not _path_exists("docs/no-such-file.md") and _path_exists("terraform/stacks/<stack>/")
    assert _make_problem("make no-such-target") and _make_problem("make test") is None
    assert _make_problem("make -C terraform check") is None and _make_problem("make -C terraform nope")
    assert _tenantkit_problem("tenantkit nope", parser) and _tenantkit_problem("tenantkit tf nope", parser)
    assert _tenantkit_problem("tenantkit tf backend-config --all", parser) is None
    assert _tenantkit_problem(".venv/bin/tenantkit replay events/authorizer", parser) is None
    assert _tenantkit_problem("tenantkit        this repository", parser) is None
