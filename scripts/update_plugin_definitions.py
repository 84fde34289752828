"""Regenerate plugins/<type>/<name>.yml, Meltano plugin definitions, from meltano.yml.

.venv/bin/python scripts/update_plugin_definitions.py          # rewrite the files
.venv/bin/python scripts/update_plugin_definitions.py --check  # exit 1 if one is stale

Each file holds one of this repository's plugins as another Meltano project adds it:
``meltano add --plugin-type extractor tap-afas --from-ref plugins/extractors/tap-afas.yml``
(a path or the file's raw URL). meltano.yml is the source of the capabilities, settings and
settings groups; the pip_url installs this repository from git with the extra the plugin needs,
in the PEP 508 form ``name[extra]@git+https://...`` (no spaces: Meltano splits pip_url on
whitespace).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
# Where this repository is published: users replace it with their host, fork or tag.
GIT_URL = "git+https://github.com/your-org/tap-afas.git"
# plugin in meltano.yml -> (plugin type, name in the definition, extra, label, description)
PLUGINS: dict[str, tuple[str, str, str | None, str, str]] = {
    "tap-afas": (
        "extractors",
        "tap-afas",
        None,
        "AFAS Profit",
        "Reads AFAS Profit GetConnectors incrementally (UTC, deletes, resumable).",
    ),
    "target-afas": (
        "loaders",
        "target-afas",
        None,
        "AFAS Profit",
        "Writes records into AFAS Profit through UpdateConnectors (idempotent re-runs).",
    ),
    "target-duckdb": (
        "loaders",
        "target-duckdb-afas",
        "duckdb",
        "DuckDB (exact types)",
        "Loads into one DuckDB file with DECIMAL, DATE and TIMESTAMP (UTC) columns.",
    ),
}
KEYS = ("namespace", "executable", "capabilities", "settings_group_validation", "settings")


def definition(project: dict[str, Any], source: str) -> tuple[Path, str]:
    """The file path and text of one plugin's definition."""
    plugin_type, name, extra, label, description = PLUGINS[source]
    plugin = next(p for p in project["plugins"][plugin_type] if p["name"] == source)
    package = f"tap-afas[{extra}]" if extra else "tap-afas"
    body: dict[str, Any] = {
        "name": name,
        "label": label,
        "description": description,
        "pip_url": f"{package}@{GIT_URL}",
    }
    body.update({key: plugin[key] for key in KEYS if key in plugin})
    header = (
        f"# Meltano plugin definition of {name}, generated from meltano.yml by\n"
        "# scripts/update_plugin_definitions.py. Add it to your Meltano project with\n"
        f"#   meltano add --plugin-type {plugin_type[:-1]} {name} \\\n"
        "#     --from-ref <this file or its raw URL>\n"
        "# and set pip_url to where you get this repository: your host or fork instead of\n"
        "# your-org, a tag or commit after '.git@' to pin it.\n"
    )
    text = header + yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=100)
    return ROOT / "plugins" / plugin_type / f"{name}.yml", text


def main(check: bool) -> int:
    project = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
    stale = []
    for source in PLUGINS:
        path, text = definition(project, source)
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(str(path.relative_to(ROOT)))
        if not check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if check and stale:
        print(
            f"stale: {', '.join(stale)}; run .venv/bin/python scripts/update_plugin_definitions.py",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(check="--check" in sys.argv[1:]))
