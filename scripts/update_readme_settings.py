"""Regenerate the settings tables in README.md from the plugins' ``--about --format=markdown``.

.venv/bin/python scripts/update_readme_settings.py          # rewrite README.md
.venv/bin/python scripts/update_readme_settings.py --check  # exit 1 if README.md is stale
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = {"tap": "tap_afas", "target": "target_afas", "duckdb": "target_duckdb_afas"}


def settings_table(module: str) -> str:
    about = subprocess.run(
        [sys.executable, "-m", module, "--about", "--format=markdown"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    lines = about.split("## Settings", 1)[1].strip().splitlines()
    table = [line for line in lines if line.startswith("|")]
    return "\n".join(table)


def render(readme: str) -> str:
    for name, module in PLUGINS.items():
        start, end = f"<!-- {name}-settings:start -->", f"<!-- {name}-settings:end -->"
        pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
        if not pattern.search(readme):
            continue
        replacement = f"{start}\n{settings_table(module)}\n{end}"
        readme = pattern.sub(lambda _m, text=replacement: text, readme)
    return readme


def main() -> int:
    path = ROOT / "README.md"
    current = path.read_text(encoding="utf-8")
    fresh = render(current)
    if "--check" in sys.argv:
        if fresh != current:
            print("README.md settings tables are stale: run scripts/update_readme_settings.py")
            return 1
        return 0
    path.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
