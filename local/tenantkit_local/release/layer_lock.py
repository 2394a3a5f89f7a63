"""``make layer-lock``: write ``layers/<layer>/requirements.lock`` from ``requirements.txt``.

The lock pins the whole dependency closure of a layer with one sha256 per wheel for every Lambda
target the template allows (python3.11/3.12/3.13 x x86_64/arm64), resolved by pip exactly as
the layer Makefile installs it (``--only-binary=:all: --platform manylinux_2_X_<machine>
--python-version``), so ``sam build`` installs with ``--require-hashes --no-deps`` and never
resolves. boto3, botocore and their dependencies are left out: the Lambda runtime provides them
(docs/runtime.md). A package whose version differs between targets is an error: the layer
would not be the same layer on every runtime.

Every layer is extracted into the same ``/opt/python``, so a package two layers need is shipped
once: the other layers are resolved against the shared layer's pins (pip constraints) and leave
those packages out of their lock (typing-extensions for the tracing layer). Two copies at
different versions would overwrite each other's files in an order nobody chose.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tenantkit_local import PROJECT_ROOT
from tenantkit_local.release import ReleaseError

RUNTIMES = ("python3.11", "python3.12", "python3.13")
ARCHITECTURES = ("x86_64", "arm64")
LAYERS = ("tenantkit", "abac", "tracing")
# The layer every function carries: the others are locked against its pins and ship none of them.
BASE_LAYER = "tenantkit"
# The Lambda runtime's SDK and everything it brings: never bundled (one botocore per process).
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six"})


class LockError(ReleaseError):
    """The requirements cannot be locked identically for every target."""


def glibc_minors(runtime: str) -> tuple[int, ...]:
    """glibc 2.X versions a target accepts (AL2: 2.26 for python3.11; AL2023: 2.34 for 3.12+)."""
    return (5, 12, 17, 24, 26) if runtime == "python3.11" else (5, 12, 17, 24, 26, 27, 28, 31, 34)


def platform_tags(runtime: str, architecture: str) -> list[str]:
    """Every manylinux tag a Lambda target accepts: pip does not widen ``--platform`` by itself."""
    machine = "aarch64" if architecture == "arm64" else "x86_64"
    return [*(f"manylinux_2_{m}_{machine}" for m in glibc_minors(runtime)), f"manylinux2014_{machine}"]


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(slots=True)
class Pin:
    name: str
    version: str
    hashes: set[str] = field(default_factory=set)
    targets: set[str] = field(default_factory=set)


def resolve(requirements: Path, runtime: str, architecture: str,
            constraints: dict[str, str] | None = None) -> list[tuple[str, str, str]]:
    """(name, version, sha256) of every wheel pip would install for one target.

    ``constraints``: name -> version every package of that name must resolve to.
    """
    with tempfile.TemporaryDirectory() as target:
        pinned = Path(target) / "constraints.txt"
        pinned.write_text("".join(f"{name}=={version}\n" for name, version in sorted((constraints or {}).items())))
        cmd = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
               "--disable-pip-version-check", "--report", "-", "--only-binary=:all:", "--implementation", "cp",
               "--python-version", runtime.removeprefix("python"),
               *(flag for tag in platform_tags(runtime, architecture) for flag in ("--platform", tag)),
               "--target", str(Path(target) / "site"), "-c", str(pinned), "-r", str(requirements)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603
    if proc.returncode != 0:
        raise LockError(f"pip could not resolve {requirements} for {runtime}/{architecture}:\n{proc.stderr[-2000:]}")
    report = json.loads(proc.stdout)
    wheels = []
    for item in report["install"]:
        info = item["download_info"]
        sha = info.get("archive_info", {}).get("hashes", {}).get("sha256")
        if not sha:
            raise LockError(f"{item['metadata']['name']}: pip reported no sha256 for {info.get('url')}")
        wheels.append((canonical(item["metadata"]["name"]), item["metadata"]["version"], sha))
    return wheels


def lock(requirements: Path, provided: dict[str, str] | None = None,
         shared: set[str] | None = None) -> dict[str, Pin]:
    """The pins of ``requirements`` for every target; ``provided`` (name -> version, the shared
    layer's pins) constrains the resolution, and those packages are left out of the lock (their
    names are added to ``shared`` when given)."""
    provided = provided or {}
    pins: dict[str, Pin] = {}
    for runtime in RUNTIMES:
        for architecture in ARCHITECTURES:
            target = f"{runtime}/{architecture}"
            for name, version, sha in resolve(requirements, runtime, architecture, provided):
                if name in provided and shared is not None:
                    shared.add(name)
                if name in RUNTIME_PROVIDED or name in provided:
                    continue
                pin = pins.setdefault(name, Pin(name, version))
                if pin.version != version:
                    raise LockError(f"{name}: {pin.version} on {sorted(pin.targets)} but {version} on {target}")
                pin.hashes.add(sha)
                pin.targets.add(target)
    every = {f"{r}/{a}" for r in RUNTIMES for a in ARCHITECTURES}
    partial = {p.name: sorted(every - p.targets) for p in pins.values() if p.targets != every}
    if partial:
        raise LockError(f"packages missing on some targets (markers would differ): {partial}")
    return pins


def render(layer: str, pins: dict[str, Pin], shared: list[str] | None = None) -> str:
    lines = [f"# Generated by `make layer-lock` from layers/{layer}/requirements.txt: do not edit.",
             f"# Every wheel for {', '.join(RUNTIMES)} x {', '.join(ARCHITECTURES)}; installed by",
             "# layers/*/Makefile with --require-hashes --no-deps --only-binary=:all:.",
             f"# Left to the Lambda runtime: {', '.join(sorted(RUNTIME_PROVIDED))}."]
    if shared:
        lines.append(f"# Shipped by layers/{BASE_LAYER} (resolved to its pins): {', '.join(sorted(shared))}.")
    for pin in sorted(pins.values(), key=lambda p: p.name):
        hashes = " \\\n".join(f"    --hash=sha256:{h}" for h in sorted(pin.hashes))
        lines.append(f"{pin.name}=={pin.version} \\\n{hashes}")
    return "\n".join(lines) + "\n"


def parse_lock(text: str) -> dict[str, tuple[str, set[str]]]:
    """name -> (version, hashes) of a lock file written by :func:`render`."""
    joined = text.replace("\\\n", " ")
    result = {}
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        spec, *hashes = line.split()
        name, version = spec.split("==")
        result[canonical(name)] = (version, {h.removeprefix("--hash=sha256:") for h in hashes})
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="layer-lock", description=__doc__.splitlines()[0])
    parser.add_argument("layers", nargs="*", default=list(LAYERS))
    args = parser.parse_args(argv)
    base_lock = PROJECT_ROOT / "layers" / BASE_LAYER / "requirements.lock"
    # the shared layer first: the others are resolved against the pins just written
    for layer in sorted(args.layers, key=lambda name: name != BASE_LAYER):
        folder = PROJECT_ROOT / "layers" / layer
        provided = {} if layer == BASE_LAYER else {
            name: version for name, (version, _) in parse_lock(base_lock.read_text()).items()}
        shared: set[str] = set()
        pins = lock(folder / "requirements.txt", provided, shared)
        (folder / "requirements.lock").write_text(render(layer, pins, sorted(shared)))
        print(f"layers/{layer}/requirements.lock: {len(pins)} packages, "
              f"{sum(len(p.hashes) for p in pins.values())} hashes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
