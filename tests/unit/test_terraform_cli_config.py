"""terraform/scripts/cli-config.sh: the machine's provider mirror when it exists, the public
registry otherwise, an explicit TFRC always; never a failure because a mirror path is absent."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tenantkit_local import PROJECT_ROOT

TERRAFORM = PROJECT_ROOT / "terraform"


def _copy(tmp_path: Path, mirror: Path) -> Path:
    root = tmp_path / "terraform"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(TERRAFORM / "scripts" / "cli-config.sh", root / "scripts" / "cli-config.sh")
    shutil.copy(TERRAFORM / "registry.tfrc", root / "registry.tfrc")
    text = (TERRAFORM / ".terraformrc").read_text()
    (root / ".terraformrc").write_text(text.replace('"/opt/tf-plugins"', f'"{mirror}"'))
    return root


def _choose(root: Path, **env: str) -> str:
    base = {k: v for k, v in os.environ.items() if k != "TFRC"}
    proc = subprocess.run(["bash", str(root / "scripts" / "cli-config.sh")], capture_output=True, text=True,  # noqa: S603, S607
                          env={**base, **env}, check=True)
    return proc.stdout.strip()


def test_the_mirror_config_when_the_mirror_exists(tmp_path):
    mirror = tmp_path / "mirror"
    (mirror / "registry.terraform.io" / "hashicorp" / "aws").mkdir(parents=True)
    root = _copy(tmp_path, mirror)
    assert _choose(root) == str(root / ".terraformrc")


def test_the_registry_config_when_the_mirror_is_absent(tmp_path):
    root = _copy(tmp_path, tmp_path / "no-such-mirror")
    chosen = _choose(root)
    assert chosen == str(root / "registry.tfrc")
    assert "filesystem_mirror" not in Path(chosen).read_text()


def test_an_explicit_tfrc_wins(tmp_path):
    root = _copy(tmp_path, tmp_path / "no-such-mirror")
    assert _choose(root, TFRC="/somewhere/else.tfrc") == "/somewhere/else.tfrc"


def test_the_repository_mirror_path_is_the_one_the_script_reads():
    assert 'path    = "/opt/tf-plugins"' in (TERRAFORM / ".terraformrc").read_text()
