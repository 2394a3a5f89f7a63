"""The file layout a Lambda function imports from, rebuilt from this checkout and the venv.

Lambda puts the function's code first on ``sys.path`` (``/var/task``), then the layers, extracted
into ``/opt/python``, then the runtime's packages (boto3 and botocore, which no layer ships). The
layers are read-only and are built without ``.pyc`` files (``--no-compile``, docs/runtime.md),
so every module they hold is compiled from source at every cold start, while the runtime's own
packages come compiled. A cold-start figure taken from a developer venv (third-party bytecode
cached, the tenantkit sources compiled or not depending on ``PYTHONDONTWRITEBYTECODE``) is
neither. ``layer_layout`` copies what the layers ship (the distributions of every layer's
``requirements.lock``, from this venv, and the ``tenantkit`` package) into ``<dir>/opt/python``
without any bytecode, or with bytecode compiled for this interpreter (``compiled=True``: what a
build that compiles for the target runtime would ship); the venv's site-packages stay behind it
on the path in the runtime's place.
"""

from __future__ import annotations

import compileall
import importlib.metadata
import os
import py_compile
import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYER_LOCKS = ("layers/tenantkit/requirements.lock", "layers/tracing/requirements.lock")
_PIN = re.compile(r"^([A-Za-z0-9_.-]+)==", re.MULTILINE)


def layer_distributions() -> list[str]:
    names: list[str] = []
    for lock in LAYER_LOCKS:
        names += _PIN.findall((ROOT / lock).read_text())
    return sorted(set(names))


def layer_layout(target: Path, *, compiled: bool) -> Path:
    """``target/opt/python`` holding the layers' packages; returns that directory."""
    site = target / "opt" / "python"
    if site.exists():
        shutil.rmtree(site)
    site.mkdir(parents=True)
    for name in layer_distributions():
        distribution = importlib.metadata.distribution(name)
        base = Path(str(distribution.locate_file("")))
        for file in distribution.files or []:
            if file.parts[0] == ".." or "__pycache__" in file.parts or file.suffix == ".pyc":
                continue  # scripts outside site-packages, and bytecode: the layer ships neither
            source = base / file
            if source.is_file():
                destination = site / file
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, destination)
    shutil.copytree(ROOT / "layers/tenantkit/tenantkit", site / "tenantkit",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    if compiled:
        compileall.compile_dir(site, quiet=1, workers=0,
                               invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    return site


def lambda_environment(function: str, site: Path) -> dict[str, str]:
    """``PYTHONPATH`` as Lambda orders it, and no bytecode written into the (read-only) layer."""
    return {"PYTHONPATH": os.pathsep.join([str(ROOT / "functions" / function), str(site)]),
            "PYTHONDONTWRITEBYTECODE": "1"}
