"""The Terragrunt decision gate of ADR 0016: measure the Terraform tree, compare with thresholds.

Terragrunt earns its cost (another binary, another config language, another failure mode in
every pipeline) only when plain Terraform demonstrably repeats itself: many root modules, the
same backend/provider blocks copied into each, many operator steps for one cross-cutting
change, many cross-stack state reads. A root module whose plan is too large is a different
problem (split the stack), and Terragrunt would hide it rather than fix it, so it blocks an
adopt verdict instead of supporting one.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tenantkit_local.release.backend import Targets
from tenantkit_local.release.hcl import module_blocks

# ADR 0016, "Thresholds". Changing one is an ADR change: the test pins the ADR table to these.
THRESHOLDS = {
    "root_modules": 8,
    "duplicated_blocks": 10,
    "operator_steps_per_change": 60,
    "cross_stack_dependencies": 5,
}
MAX_PLAN_SCOPE = 150  # resource/data declarations in one root module, local modules included
ADOPT_WHEN_EXCEEDED = 2
DEFAULT_ENVIRONMENTS = 3
STEPS_PER_TARGET = 3  # init, plan, apply


@dataclass(frozen=True, slots=True)
class RootModule:
    path: str
    backend: str | None
    providers: tuple[str, ...]
    plan_scope: int
    remote_state_reads: int


@dataclass(slots=True)
class Measurements:
    root_modules: int
    backend_blocks: int
    provider_blocks: int
    duplicated_backend_blocks: int
    duplicated_provider_blocks: int
    deployment_targets: int
    operator_steps_per_change: int
    cross_stack_dependencies: int
    max_plan_scope: int
    modules: list[RootModule] = field(default_factory=list)

    @property
    def duplicated_blocks(self) -> int:
        return self.duplicated_backend_blocks + self.duplicated_provider_blocks


@dataclass(frozen=True, slots=True)
class Verdict:
    decision: str  # "adopt" | "defer"
    reasons: tuple[str, ...]
    exceeded: tuple[str, ...]


def _scope(directory: Path, seen: frozenset[Path] = frozenset()) -> int:
    """Resource and data declarations, following local module sources (a lower bound: no count/for_each)."""
    directory = directory.resolve()
    if directory in seen or not directory.is_dir():
        return 0
    total = 0
    for block in module_blocks(directory):
        if block.type in ("resource", "data"):
            total += 1
        elif block.type == "module":
            source = block.literal("source")
            if source and source.startswith(("./", "../")):
                total += _scope(directory / source, seen | {directory})
    return total


def measure(terraform_dir: Path, targets: Targets | None = None) -> Measurements:
    """Count what ADR 0016 measures, on the ``*.tf`` files under ``terraform_dir``."""
    roots: list[RootModule] = []
    dirs = sorted({p.parent for p in terraform_dir.rglob("*.tf") if ".terraform" not in p.parts})
    for directory in dirs:
        found = module_blocks(directory)
        backends = [b.labels[0] for t in found if t.type == "terraform" for b in t.find("backend") if b.labels]
        providers = tuple(b.labels[0] for b in found if b.type == "provider" and b.labels)
        if not backends and not providers:
            continue  # a reusable module, not a root module
        remote = sum(1 for b in found if b.type == "data" and b.labels[:1] == ("terraform_remote_state",))
        roots.append(RootModule(str(directory.relative_to(terraform_dir)), backends[0] if backends else None,
                                providers, _scope(directory), remote))
    backend_types = Counter(r.backend for r in roots if r.backend)
    provider_types = Counter(p for r in roots for p in r.providers)
    if targets is not None:
        present = {r.path.rsplit("/", 1)[-1] for r in roots}
        n_targets = sum(1 for t in targets.targets if t.stack in present) * len(targets.environments)
    else:
        n_targets = len(roots) * DEFAULT_ENVIRONMENTS
    pinning = sum(1 for r in roots if r.providers)  # files a provider bump edits
    return Measurements(
        root_modules=len(roots),
        backend_blocks=sum(backend_types.values()),
        provider_blocks=sum(provider_types.values()),
        duplicated_backend_blocks=sum(n - 1 for n in backend_types.values()),
        duplicated_provider_blocks=sum(n - 1 for n in provider_types.values()),
        deployment_targets=n_targets,
        operator_steps_per_change=pinning + n_targets * STEPS_PER_TARGET,
        cross_stack_dependencies=sum(r.remote_state_reads for r in roots),
        max_plan_scope=max((r.plan_scope for r in roots), default=0),
        modules=roots,
    )


def decide(m: Measurements) -> Verdict:
    values = {name: getattr(m, name) for name in THRESHOLDS}
    exceeded = tuple(name for name, limit in THRESHOLDS.items() if values[name] >= limit)
    reasons = [f"{name} = {values[name]} {'>=' if name in exceeded else '<'} {THRESHOLDS[name]}" for name in THRESHOLDS]
    if m.max_plan_scope > MAX_PLAN_SCOPE:
        big = max(m.modules, key=lambda r: r.plan_scope)
        brake = (f"{big.path} plans {big.plan_scope} declarations > {MAX_PLAN_SCOPE}: split that stack first; "
                 "Terragrunt would only orchestrate an oversized plan")
        return Verdict("defer", (brake, *reasons), exceeded)
    if len(exceeded) >= ADOPT_WHEN_EXCEEDED:
        return Verdict("adopt", (f"{len(exceeded)} thresholds reached (adopt at {ADOPT_WHEN_EXCEEDED})", *reasons),
                       exceeded)
    return Verdict("defer", (f"{len(exceeded)} of {len(THRESHOLDS)} thresholds reached (adopt at "
                             f"{ADOPT_WHEN_EXCEEDED}): plain Terraform with rendered backend config is enough",
                             *reasons), exceeded)


def report(m: Measurements, v: Verdict) -> str:
    lines = ["Terragrunt decision gate (ADR 0016)", "", f"{'measurement':<28}{'value':>7}  threshold"]
    for name in ("root_modules", "backend_blocks", "provider_blocks", "duplicated_backend_blocks",
                 "duplicated_provider_blocks", "duplicated_blocks", "deployment_targets",
                 "operator_steps_per_change", "cross_stack_dependencies", "max_plan_scope"):
        limit = THRESHOLDS.get(name, MAX_PLAN_SCOPE if name == "max_plan_scope" else None)
        mark = "" if limit is None else f">= {limit}" if name in THRESHOLDS else f"> {limit} blocks adoption"
        lines.append(f"{name:<28}{getattr(m, name):>7}  {mark}")
    lines += ["", "root modules:"]
    lines += [f"  {r.path:<24} backend={r.backend or '-':<5} providers={','.join(r.providers) or '-':<8} "
              f"plan_scope={r.plan_scope} remote_state_reads={r.remote_state_reads}" for r in m.modules]
    lines += ["", f"verdict: {v.decision.upper()}", *(f"  - {r}" for r in v.reasons)]
    return "\n".join(lines)


def as_json(m: Measurements, v: Verdict) -> str:
    return json.dumps({"measurements": {**asdict(m), "duplicated_blocks": m.duplicated_blocks},
                       "thresholds": THRESHOLDS, "max_plan_scope": MAX_PLAN_SCOPE, "verdict": asdict(v)}, indent=2)
