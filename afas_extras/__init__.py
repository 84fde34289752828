"""Entry points of the parts that need an optional extra of the ``tap-afas`` distribution.

``pip install tap-afas`` installs tap-afas and target-afas. The embedded DuckDB loader needs
``tap-afas[duckdb]`` and the local AFAS environment ``tap-afas[sandbox]``, yet every console
script is installed with the distribution. So the console scripts ``target-duckdb-afas`` and
``afas-sandbox`` start here: each checks that its extra's packages are installed and otherwise
ends with one line saying what to install (exit code 1), before anything of the part is
imported. The check reads the distribution's own metadata, so it follows ``pyproject.toml``.
"""

from __future__ import annotations

import importlib.metadata as metadata
import re
import sys

DISTRIBUTION = "tap-afas"
EXIT_MISSING_EXTRA = 1
_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_EXTRA = re.compile(r"""extra\s*==\s*["']([^"']+)["']""")


def missing_packages(extra: str) -> list[str]:
    """The distributions ``extra`` requires that are not installed.

    Empty when tap-afas itself is not installed (code run from a source tree): then there is no
    metadata to check against, and a missing package shows up as the import error it is.
    """
    try:
        requirements = metadata.requires(DISTRIBUTION) or []
    except metadata.PackageNotFoundError:
        return []
    missing = []
    for requirement in requirements:
        spec, _, marker = requirement.partition(";")
        name = _NAME.match(spec)
        if name is None or extra not in _EXTRA.findall(marker):
            continue
        try:
            metadata.version(name.group(1))
        except metadata.PackageNotFoundError:
            missing.append(name.group(1))
    return missing


def require_extra(command: str, extra: str) -> None:
    """Exit with one line naming the pip command when ``extra`` is not installed."""
    missing = missing_packages(extra)
    if missing:
        print(
            f"{command}: ERROR: {command} needs the [{extra}] extra (missing: "
            f"{', '.join(missing)}); install it with: pip install '{DISTRIBUTION}[{extra}]'",
            file=sys.stderr,
        )
        raise SystemExit(EXIT_MISSING_EXTRA)


def target_duckdb_afas() -> None:
    """The ``target-duckdb-afas`` console script."""
    require_extra("target-duckdb-afas", "duckdb")
    from target_duckdb_afas.target import main

    main()


def afas_sandbox() -> int:
    """The ``afas-sandbox`` console script."""
    require_extra("afas-sandbox", "sandbox")
    from afas_sandbox.cli import main

    return main()
