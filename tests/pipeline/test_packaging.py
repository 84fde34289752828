"""Pipeline layer: the wheel as ``pip install tap-afas`` (no extras) gets it, in a fresh venv.

The tap and target-afas work; afas-sandbox and target-duckdb-afas, whose packages come with the
``[sandbox]`` and ``[duckdb]`` extras, end with one line naming the extra to install; the
sandbox-only packages are not installed; pytest still starts (the package's pytest plugin
registers the sandbox fixtures only with ``[sandbox]``). Versions come from constraints.txt.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.pipeline.conftest import ROOT

pytestmark = [pytest.mark.pipeline, pytest.mark.slow]

PACKAGES = ["afas_profit", "tap_afas", "target_afas", "afas_sandbox", "target_duckdb_afas"]


def _run(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "VIRTUAL_ENV"))}
    env["PIP_CONSTRAINT"] = str(ROOT / "constraints.txt")
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return subprocess.run(
        args, env=env, capture_output=True, text=True, timeout=600, check=False, **kwargs
    )


def _source_copy(target: Path) -> Path:
    """The files a wheel is built from, so the build writes nothing into the checkout."""
    target.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, target / name)
    packages = [p.parent.name for p in ROOT.glob("*/__init__.py")]
    assert set(PACKAGES) <= set(packages)
    for package in packages:
        if package in ("tests", "benchmarks"):
            continue
        shutil.copytree(
            ROOT / package, target / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    return target


def test_wheel_without_extras_says_which_extra_each_part_needs(tmp_path: Path) -> None:
    source = _source_copy(tmp_path / "src")
    built = _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", "dist", str(source)], cwd=tmp_path
    )
    assert built.returncode == 0, built.stderr[-2000:]
    [wheel] = (tmp_path / "dist").glob("tap_afas-*.whl")

    venv = tmp_path / "venv"
    created = _run([sys.executable, "-m", "venv", str(venv)])
    assert created.returncode == 0, created.stderr
    bin_dir = venv / "bin"
    installed = _run(
        [str(bin_dir / "python"), "-m", "pip", "install", "--quiet", str(wheel), "pytest"]
    )
    assert installed.returncode == 0, installed.stderr[-2000:]

    about = _run([str(bin_dir / "tap-afas"), "--about", "--format=json"])
    assert about.returncode == 0, about.stderr
    assert '"name": "tap-afas"' in about.stdout
    target = _run([str(bin_dir / "target-afas"), "--about", "--format=json"])
    assert target.returncode == 0, target.stderr

    for command, extra, args in (
        ("target-duckdb-afas", "duckdb", ["--about"]),
        ("afas-sandbox", "sandbox", ["serve", "--port", "0"]),
    ):
        done = _run([str(bin_dir / command), *args])
        assert done.returncode == 1, (command, done.stdout, done.stderr)
        assert done.stdout == ""
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, (command, done.stderr)
        assert lines[0].startswith(f"{command}: ERROR: {command} needs the [{extra}] extra")
        assert lines[0].endswith(f"install it with: pip install 'tap-afas[{extra}]'")

    missing = _run(
        [
            str(bin_dir / "python"),
            "-c",
            "import importlib.util as u; print(sorted(m for m in "
            "('werkzeug', 'faker', 'cheroot', 'duckdb', 'duckdb_engine') if u.find_spec(m)))",
        ]
    )
    assert missing.stdout.strip() == "[]"
    pytest_start = _run([str(bin_dir / "python"), "-m", "pytest", "--fixtures", "-q"], cwd=tmp_path)
    assert pytest_start.returncode in (0, 5), pytest_start.stdout + pytest_start.stderr
    assert "afas_sandbox_factory" not in pytest_start.stdout
