"""The file layout a Lambda function imports from, rebuilt from this checkout's real layer build.

Lambda puts the function's code first on ``sys.path`` (``/var/task``), then the layers, extracted
into ``/opt/python``, then the runtime's packages (boto3 and botocore, which no layer ships). The
layers are read-only: a module without a usable ``.pyc`` is compiled from source at every cold
start, while the runtime's own packages come compiled. A cold-start figure taken from a developer
venv (third-party bytecode cached, the tenantkit sources compiled or not depending on
``PYTHONDONTWRITEBYTECODE``) is neither.

``layer_layouts`` builds the three layers with their Makefiles, as ``sam build`` does, from their
lock files for this interpreter (which stands in for the target runtime: the build compiles
``layers/*/cold_start.txt`` with it, unchecked-hash), merges them into one ``opt/python`` as Lambda
extracts them, and derives two more layouts from that build for comparison: ``no bytecode`` (the
build before it compiled anything, or ``LAYER_BYTECODE=none``) and ``all compiled`` (every module,
which does not fit the shared layer's budget). The venv's site-packages stay behind them on the
path in the runtime's place.
"""

from __future__ import annotations

import compileall
import os
import py_compile
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "local") not in sys.path:  # this checkout's build tooling, not another install's
    sys.path.insert(0, str(ROOT / "local"))

LAYOUTS = ("no bytecode", "as built", "all compiled")


def layer_layouts(scratch: Path) -> dict[str, Path]:
    """Per layout (``LAYOUTS``), ``<scratch>/<layout>/opt/python``."""
    from tenantkit_local.release.layer_bytecode import LAYER_RESOURCES, build_layer

    sites = {layout: scratch / layout.replace(" ", "-") / "opt" / "python" for layout in LAYOUTS}
    for folder, resource in LAYER_RESOURCES.items():
        out = build_layer(folder, scratch / "build" / resource)
        shutil.copytree(out / "python", sites["as built"], dirs_exist_ok=True)
    shutil.copytree(sites["as built"], sites["no bytecode"], ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(sites["as built"], sites["all compiled"])
    compileall.compile_dir(sites["all compiled"], quiet=1, workers=0,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    return sites


def lambda_environment(function: str, site: Path) -> dict[str, str]:
    """``PYTHONPATH`` as Lambda orders it, and no bytecode written into the (read-only) layer."""
    return {"PYTHONPATH": os.pathsep.join([str(ROOT / "functions" / function), str(site)]),
            "PYTHONDONTWRITEBYTECODE": "1"}
