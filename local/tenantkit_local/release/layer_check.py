"""Check built layers against the Lambda target they were built for.

``python -m tenantkit_local.release.layer_check .aws-sam/build --runtime python3.13 --arch arm64``
(run by ``make sam-build``) fails when a layer:

* is larger than its unzipped budget (the shared layer: 30 MB, leaving room for what is added);
* ships boto3, botocore or their dependencies (the runtime's SDK must be the only one);
* holds a wheel whose tags do not fit the runtime's Python (cpXY, abi3, py3) or glibc
  (manylinux_2_X <= 2.26 on python3.11 / Amazon Linux 2, <= 2.34 on 3.12+ / AL2023);
* holds a native extension for another CPU (ELF e_machine);
* has Python code importing a stdlib module removed in 3.12 or 3.13 (outside an
  ``except ImportError`` fallback);
* ships a distribution or a file another layer ships too (Lambda extracts every layer into the
  same ``/opt``: one copy would silently overwrite the other);
* holds a ``.pyc`` the runtime would not use as it is: compiled by another Python (magic number,
  or a ``__pycache__`` name of another interpreter), or not an unchecked-hash one (PEP 552; a
  timestamp ``.pyc`` is stale once Lambda extracts the zip and is recompiled at every cold start).
"""

from __future__ import annotations

import argparse
import ast
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tenantkit_local.release.layer_lock import RUNTIME_PROVIDED, canonical, glibc_minors

MB = 1_000_000
BUDGETS = {"TenantkitLayer": 30 * MB, "AbacLayer": 15 * MB, "TracingLayer": 10 * MB}
# PEP 594 (3.13) and PEP 632 / the 3.12 removals.
REMOVED_STDLIB = frozenset({
    "distutils", "imp", "asynchat", "asyncore", "smtpd",  # 3.12
    "aifc", "audioop", "cgi", "cgitb", "chunk", "crypt", "imghdr", "mailcap", "msilib", "nis", "nntplib",
    "ossaudiodev", "pipes", "sndhdr", "spwd", "sunau", "telnetlib", "uu", "xdrlib", "lib2to3",  # 3.13
})
ELF_MACHINES = {0x3E: "x86_64", 0xB7: "arm64"}
# importlib.util.MAGIC_NUMBER of each runtime (fixed within a minor version once it is released).
PYC_MAGIC = {"python3.11": 3495, "python3.12": 3531, "python3.13": 3571}
PYC_UNCHECKED_HASH = 0b01  # PEP 552 flags: bit 0 hash-based, bit 1 check_source


@dataclass(slots=True)
class LayerReport:
    name: str
    size_bytes: int
    budget_bytes: int
    wheels: dict[str, list[str]] = field(default_factory=dict)
    bytecode_files: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def tag_fits(tag: str, runtime: str, arch: str) -> bool:
    """Whether one wheel tag (``cp313-cp313-manylinux_2_17_aarch64``) runs on the Lambda target."""
    python, abi, platform = tag.split("-")
    minor = int(runtime.removeprefix("python3."))
    if python.startswith("cp"):
        version = int(python[3:]) if python[:3] == "cp3" else -1
        fits_python = version == minor if abi.startswith("cp") else (abi == "abi3" and version <= minor)
    else:
        fits_python = python in ("py3", "py2.py3") or python.startswith("py3")
    if platform == "any":
        return fits_python
    machine = "aarch64" if arch == "arm64" else "x86_64"
    platforms = {f"manylinux_2_{m}_{machine}" for m in glibc_minors(runtime)} | {f"manylinux2014_{machine}"}
    if machine == "x86_64":
        platforms |= {"manylinux1_x86_64", "manylinux2010_x86_64"}
    return fits_python and platform in platforms


def _wheel_tags(dist_info: Path) -> list[str]:
    wheel = dist_info / "WHEEL"
    if not wheel.exists():
        return []
    return [line.split(":", 1)[1].strip() for line in wheel.read_text().splitlines() if line.startswith("Tag:")]


def removed_imports(source: str, python: tuple[int, int] = (3, 13)) -> list[str]:
    """Removed stdlib modules ``source`` imports on ``python``.

    Not counted: imports inside ``try: ... except ImportError`` (a fallback), and branches of an
    ``if sys.version_info ...`` that are dead on ``python`` (e.g. ``else: import imp`` under
    ``if sys.version_info >= (3, 3)``).
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(_catches_import_error(h) for h in node.handlers):
            skipped |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
        elif isinstance(node, ast.If):
            taken = _version_test(node.test, python)
            if taken is not None:
                dead = node.orelse if taken else node.body
                skipped |= {id(n) for stmt in dead for n in ast.walk(stmt)}
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
            [node.module] if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 else [])
        found += [n for n in names if n.split(".")[0] in REMOVED_STDLIB]
    return found


def _version_test(test: ast.expr, python: tuple[int, int]) -> bool | None:
    """The value of ``sys.version_info <op> (3, x)`` on ``python``; None for any other test."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and ast.unparse(test.left) == "sys.version_info"):
        return None
    try:
        bound = ast.literal_eval(test.comparators[0])
    except ValueError:
        return None
    if not isinstance(bound, tuple):
        return None
    ops = {ast.GtE: lambda a, b: a >= b, ast.Gt: lambda a, b: a > b, ast.Lt: lambda a, b: a < b,
           ast.LtE: lambda a, b: a <= b}
    op = ops.get(type(test.ops[0]))
    return None if op is None else bool(op(python[:len(bound)], bound))


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return handler.type is None or any(
        isinstance(k, ast.Name) and k.id in ("ImportError", "ModuleNotFoundError", "Exception") for k in kinds)


def _elf_machine(path: Path) -> str | None:
    header = path.read_bytes()[:20]
    if header[:4] != b"\x7fELF":
        return None
    return ELF_MACHINES.get(int.from_bytes(header[18:20], "little"), f"e_machine {header[18:20].hex()}")


def pyc_problem(path: Path, runtime: str) -> str | None:
    """Why the runtime would not use ``path`` as shipped, or None."""
    header = path.read_bytes()[:16]
    tag = f"cpython-3{runtime.removeprefix('python3.')}"
    if len(header) < 16 or header[2:4] != b"\r\n":
        return "is not a .pyc file"
    magic = int.from_bytes(header[:2], "little")
    if magic != PYC_MAGIC[runtime]:
        found = {v: k for k, v in PYC_MAGIC.items()}.get(magic, f"magic {magic}")
        return f"is bytecode of {found}, not {runtime}"
    if path.parent.name == "__pycache__" and path.name.split(".")[-2] != tag:
        return f"is named for another interpreter than {runtime} ({tag})"
    flags = int.from_bytes(header[4:8], "little")
    if flags != PYC_UNCHECKED_HASH:
        kind = "a timestamp" if flags == 0 else "a checked-hash" if flags == 0b11 else f"flags {flags:#x}"
        return f"is {kind} .pyc, not unchecked-hash (recompiled or rehashed at every cold start)"
    return None


def check_layer(name: str, root: Path, runtime: str, arch: str) -> LayerReport:
    site = root / "python"
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    report = LayerReport(name, size, BUDGETS.get(name, 30 * MB))
    if size > report.budget_bytes:
        report.problems.append(f"{size / MB:.1f} MB unzipped, budget {report.budget_bytes / MB:.0f} MB")
    if not site.is_dir():
        report.problems.append("no python/ folder (Lambda puts /opt/python on sys.path)")
        return report
    for dist_info in sorted(site.glob("*.dist-info")):
        project = canonical(dist_info.name.removesuffix(".dist-info").rsplit("-", 1)[0])  # <name>-<version>
        tags = _wheel_tags(dist_info)
        report.wheels[project] = tags
        if project in RUNTIME_PROVIDED:
            report.problems.append(f"{project} is bundled: the Lambda runtime provides it")
        if not any(tag_fits(t, runtime, arch) for t in tags):
            report.problems.append(f"{dist_info.name}: tags {tags} do not fit {runtime}/{arch}")
    for top in ("boto3", "botocore", "s3transfer"):
        if (site / top).exists():
            report.problems.append(f"{top}/ is bundled: the Lambda runtime provides it")
    for so in site.rglob("*.so"):
        machine = _elf_machine(so)
        if machine is not None and machine != arch:
            report.problems.append(f"{so.relative_to(site)} is built for {machine}, not {arch}")
    for pyc in site.rglob("*.pyc"):
        report.bytecode_files += 1
        problem = pyc_problem(pyc, runtime)
        if problem is not None:
            report.problems.append(f"{pyc.relative_to(site)} {problem}")
    for py in site.rglob("*.py"):
        for module in removed_imports(py.read_text(errors="replace"), (3, int(runtime.removeprefix("python3.")))):
            report.problems.append(f"{py.relative_to(site)} imports {module} (removed from the stdlib in 3.12/3.13)")
    return report


def check_build(build_dir: Path, runtime: str, arch: str) -> list[LayerReport]:
    reports = [check_layer(name, build_dir / name, runtime, arch) for name in BUDGETS if (build_dir / name).is_dir()]
    check_overlaps(reports, build_dir)
    return reports


def layer_files(root: Path) -> set[str]:
    """Paths of the files a layer puts under ``/opt`` (relative to it)."""
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def check_overlaps(reports: list[LayerReport], build_dir: Path) -> None:
    """Add a problem to both layers of every pair that ships the same distribution or file."""
    files = {r.name: layer_files(build_dir / r.name) for r in reports}
    for i, first in enumerate(reports):
        for second in reports[i + 1:]:
            common = sorted(set(first.wheels) & set(second.wheels))
            paths = sorted(files[first.name] & files[second.name])
            for problem in ([f"{d} is shipped by both {first.name} and {second.name}" for d in common]
                            + [f"{p} is in both {first.name} and {second.name}" for p in paths[:5]]):
                first.problems.append(problem)
                second.problems.append(problem)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="layer_check")
    parser.add_argument("build_dir", type=Path)
    parser.add_argument("--runtime", required=True, choices=["python3.11", "python3.12", "python3.13"])
    parser.add_argument("--arch", required=True, choices=["x86_64", "arm64"])
    args = parser.parse_args(argv)
    reports = check_build(args.build_dir, args.runtime, args.arch)
    for report in reports:
        verdict = "ok" if report.ok else "FAIL"
        print(f"{report.name}: {verdict}, {report.size_bytes / MB:.1f} MB unzipped (budget "
              f"{report.budget_bytes / MB:.0f} MB), {len(report.wheels)} wheels for {args.runtime}/{args.arch}, "
              f"{report.bytecode_files} .pyc")
        for problem in report.problems:
            print(f"  - {problem}")
    return 0 if reports and all(r.ok for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
