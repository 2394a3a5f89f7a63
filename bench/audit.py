"""The audit pipeline's figures in one run: sink records/s per invocation, then local
compaction of 1M records (time, Parquet vs JSON size). Each part is its own script too.

Usage: .venv/bin/python bench/audit.py [--records N]   (N for the compaction part, default 1M)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def main() -> None:
    records = sys.argv[sys.argv.index("--records") + 1] if "--records" in sys.argv else "1000000"
    subprocess.run([sys.executable, str(BENCH / "audit_sink.py")], check=True)
    print()
    subprocess.run([sys.executable, str(BENCH / "audit_compaction.py"), "--records", records], check=True)


if __name__ == "__main__":
    main()
