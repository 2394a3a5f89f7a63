"""docs/examples/gitlab-ci.yml: job graph and rules, per pipeline type.

GitLab rejects a pipeline whose job ``needs`` a job that its rules left out, so the graph is
checked in every pipeline the example can start (merge request, feature branch, default
branch, release tag, non-release tag), by evaluating the ``workflow`` and job ``rules``
expressions the example uses. The expression evaluator refuses syntax it does not know, so
the example cannot slip past it. Schema validation against GitLab's published CI schema runs
in ``make template-smoke-full`` (check-jsonschema, own venv).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from tenantkit_local import PROJECT_ROOT

EXAMPLE = PROJECT_ROOT / "docs" / "examples" / "gitlab-ci.yml"
KEYWORDS = {"workflow", "stages", "variables", "default", "include", "image", "services", "cache",
            "before_script", "after_script"}
PROTECTED = {"staging", "prod"}
MAIN = {"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": "main", "CI_COMMIT_REF_NAME": "main"}
CONTEXTS = {
    "merge_request": {"CI_PIPELINE_SOURCE": "merge_request_event", "CI_MERGE_REQUEST_IID": "7",
                      "CI_COMMIT_REF_NAME": "feature/x"},
    "branch_with_open_mr": {"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": "feature/x",
                            "CI_OPEN_MERGE_REQUESTS": "acme/portal!7"},
    "branch": {"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": "feature/x"},
    "main": MAIN,
    "release_tag": {"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_TAG": "v1.4.0", "CI_COMMIT_REF_NAME": "v1.4.0"},
    "other_tag": {"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_TAG": "experiment-3"},
}
TOKEN = re.compile(r'\s*(?:(\$\w+)|"([^"]*)"|\'([^\']*)\'|(/(?:\\.|[^/])*/[a-z]*)|(==|!=|=~|!~|&&|\|\||\(|\))|(\S+))')


class Expr:
    """GitLab ``rules:if`` expressions: $VAR, strings, /regex/, == != =~ !~, && ||, parentheses."""

    def __init__(self, text: str, env: dict[str, str]) -> None:
        self.tokens = [m.groups() for m in TOKEN.finditer(text) if m.group(0).strip()]
        self.env, self.pos = env, 0
        if any(t[5] is not None for t in self.tokens):
            raise ValueError(f"unsupported syntax in {text!r}")

    def evaluate(self) -> bool:
        value = self._or()
        if self.pos != len(self.tokens):
            raise ValueError("trailing tokens")
        return bool(value)

    def _peek(self) -> str | None:
        return self.tokens[self.pos][4] if self.pos < len(self.tokens) else None

    def _or(self) -> Any:
        value = self._and()
        while self._peek() == "||":
            self.pos += 1
            right = self._and()
            value = bool(value) or bool(right)
        return value

    def _and(self) -> Any:
        value = self._compare()
        while self._peek() == "&&":
            self.pos += 1
            right = self._compare()
            value = bool(value) and bool(right)
        return value

    def _compare(self) -> Any:
        left = self._operand()
        op = self._peek()
        if op not in ("==", "!=", "=~", "!~"):
            return left
        self.pos += 1
        right = self._operand()
        if op in ("==", "!="):
            return (left == right) == (op == "==")
        pattern = re.fullmatch(r"/(.*)/([a-z]*)", right or "")
        if not pattern:
            raise ValueError(f"{op} needs a /regex/, got {right!r}")
        return bool(left is not None and re.search(pattern.group(1), left)) == (op == "=~")

    def _operand(self) -> Any:
        var, dq, sq, regex, op, _ = self.tokens[self.pos]
        self.pos += 1
        if op == "(":
            value = self._or()
            self.pos += 1
            return value
        if var:
            return self.env.get(var[1:]) or None
        return regex if regex else dq if dq is not None else sq


def load() -> dict[str, Any]:
    return yaml.safe_load(EXAMPLE.read_text())


def jobs(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Concrete jobs with ``extends`` resolved (deep merge of mappings, as GitLab does)."""
    def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
        out = dict(base)
        for key, value in over.items():
            out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
        return out

    def resolve(name: str) -> dict[str, Any]:
        job = config[name]
        parents = job.get("extends", [])
        base: dict[str, Any] = {}
        for parent in [parents] if isinstance(parents, str) else parents:
            base = merge(base, resolve(parent))
        return merge(base, {k: v for k, v in job.items() if k != "extends"})

    return {name: resolve(name) for name in config if name not in KEYWORDS and not name.startswith(".")}


def rule_outcome(rules: list[dict[str, Any]] | None, env: dict[str, str], changes: bool) -> str | None:
    """The ``when`` of the first matching rule (None: not in the pipeline)."""
    if rules is None:
        return "on_success"
    for rule in rules:
        matches = "if" not in rule or Expr(rule["if"], env).evaluate()
        if matches and ("changes" not in rule or changes):
            when = rule.get("when", "on_success")
            return None if when == "never" else when
    return None


def pipeline(config: dict[str, Any], context: dict[str, str], changes: bool = True) -> dict[str, str]:
    env = {"CI_DEFAULT_BRANCH": "main", **{k: str(v) for k, v in config.get("variables", {}).items()}, **context}
    if rule_outcome(config.get("workflow", {}).get("rules"), env, changes) is None:
        return {}
    included = {}
    for name, job in jobs(config).items():
        when = rule_outcome(job.get("rules"), env, changes)
        if when is not None:
            included[name] = when
    return included


def needs_of(job: dict[str, Any]) -> list[tuple[str, bool]]:
    return [(n, False) if isinstance(n, str) else (n["job"], bool(n.get("optional"))) for n in job.get("needs", [])]


# --- static graph ---------------------------------------------------------------------------------


def test_every_job_has_an_existing_stage_and_needs_existing_earlier_jobs():
    config = load()
    stages, all_jobs = config["stages"], jobs(config)
    assert len(all_jobs) >= 10
    for name, job in all_jobs.items():
        assert job.get("stage") in stages, f"{name}: stage {job.get('stage')!r} is not declared"
        assert job.get("script"), f"{name}: no script"
        for need, _ in needs_of(job):
            assert need in all_jobs, f"{name} needs {need}, which does not exist"
            assert stages.index(all_jobs[need]["stage"]) <= stages.index(job["stage"]), f"{name} needs a later job"


def test_needs_graph_has_no_cycle():
    graph = {name: [n for n, _ in needs_of(job)] for name, job in jobs(load()).items()}
    state: dict[str, int] = {}

    def visit(node: str, path: tuple[str, ...]) -> None:
        assert state.get(node) != 1, f"cycle: {' -> '.join((*path, node))}"
        if state.get(node) == 2:
            return
        state[node] = 1
        for nxt in graph[node]:
            visit(nxt, (*path, node))
        state[node] = 2

    for node in graph:
        visit(node, ())


def test_every_environment_has_a_deploy_job_and_protected_ones_are_gated():
    deploys = {job["environment"]["name"]: (name, job) for name, job in jobs(load()).items()
               if job.get("environment", {}).get("action", "start") == "start" and "environment" in job}
    assert set(deploys) == {"dev", "staging", "prod"}
    for env in PROTECTED:
        name, job = deploys[env]
        assert job.get("rules") or job.get("when") == "manual", f"{name} deploys {env} ungated"
        assert job.get("resource_group") == env, f"{name}: deployments to {env} must not overlap"
    prod_rules = deploys["prod"][1]["rules"]
    assert all(r.get("when") == "manual" and r.get("allow_failure") is False for r in prod_rules)
    assert all("CI_COMMIT_TAG" in r["if"] for r in prod_rules)


def test_evidence_jobs_run_after_their_deployment():
    all_jobs = jobs(load())
    deploy_of = {job["environment"]["name"]: name for name, job in all_jobs.items()
                 if "environment" in job and job["environment"].get("action", "start") == "start"}
    evidence = {name: job for name, job in all_jobs.items() if "release evidence" in " ".join(job["script"])}
    assert {job["environment"]["name"] for job in evidence.values()} == PROTECTED
    for name, job in evidence.items():
        env = job["environment"]["name"]
        assert job["environment"]["action"] == "verify", f"{name} must not count as a deployment"
        assert deploy_of[env] in [n for n, _ in needs_of(job)], f"{name} must need {deploy_of[env]}"
        script = " ".join(job["script"])
        assert "release verify" in script and "--closeout" in script
        assert {"evidence.json", "closeout.md"} <= set(job["artifacts"]["paths"])


# --- per pipeline type -----------------------------------------------------------------------------


@pytest.mark.parametrize("context", CONTEXTS)
@pytest.mark.parametrize("changes", [True, False])
def test_needs_are_satisfiable_in_every_pipeline(context, changes):
    config = load()
    present, all_jobs = pipeline(config, CONTEXTS[context], changes), jobs(config)
    for name in present:
        for need, optional in needs_of(all_jobs[name]):
            assert optional or need in present, f"{context}: {name} needs {need}, which this pipeline leaves out"


def test_which_environments_each_pipeline_deploys():
    config = load()

    def deploys(context: str) -> dict[str, str]:
        return {n: w for n, w in pipeline(config, CONTEXTS[context]).items() if n.startswith(("deploy-", "evidence-"))}

    assert pipeline(config, CONTEXTS["branch_with_open_mr"]) == {}  # the MR pipeline runs instead
    assert deploys("merge_request") == {"deploy-dev": "manual"}
    assert deploys("branch") == {}
    assert deploys("main") == {"deploy-dev": "on_success", "deploy-staging": "on_success",
                               "evidence-staging": "on_success"}
    assert deploys("release_tag") == {"deploy-prod": "manual", "evidence-prod": "on_success"}
    assert deploys("other_tag") == {}


def test_expression_evaluator():
    env = {"A": "main", "B": "main", "T": "v1.2.3", "P": r"/^v\d+\.\d+\.\d+$/"}
    assert Expr('$A == $B && $T =~ /^v\\d+/', env).evaluate()
    assert Expr("$T =~ $P", env).evaluate() and not Expr("$T !~ $P", env).evaluate()
    assert Expr('$MISSING || ($A != "dev" && $T)', env).evaluate()
    assert not Expr('$MISSING && $A', env).evaluate()
    with pytest.raises(ValueError, match="unsupported"):
        Expr("$A = main", env)
