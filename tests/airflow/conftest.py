"""Fixtures for the Airflow tests: they drive a real Apache Airflow in its own venv.

The project's pytest runs in .venv, which has no Airflow (it pins other versions of SQLAlchemy,
FastAPI, ...). These tests therefore run ``.airflow-venv/bin/python`` and ``airflow`` as
subprocesses, with a throwaway AIRFLOW_HOME and SQLite metadata DB per session, and Meltano from
``.meltano-venv`` with a throwaway system DB (state). A missing venv fails the tests, with the
command that creates it; nothing is skipped.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW_VENV = ROOT / ".airflow-venv"
AIRFLOW_PYTHON = AIRFLOW_VENV / "bin" / "python"
AIRFLOW_BIN = AIRFLOW_VENV / "bin" / "airflow"
MELTANO_BIN = ROOT / ".meltano-venv" / "bin" / "meltano"
DUCKDB_PYTHON = ROOT / ".meltano" / "loaders" / "target-duckdb" / "venv" / "bin" / "python"
DAGS_FOLDER = ROOT / "orchestrate" / "dags"
# Variables of the calling shell that would change what Airflow, Meltano or the plugins do.
_FOREIGN_PREFIXES = ("AIRFLOW", "MELTANO_", "TAP_", "TARGET_", "AFAS_")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "airflow: runs the DAGs in a real Apache Airflow (.airflow-venv, scripts/airflow_setup)",
    )


def clean_environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(_FOREIGN_PREFIXES)}


@dataclass
class AirflowRunner:
    """Runs code and commands in the Airflow venv against one AIRFLOW_HOME."""

    home: Path
    env: dict[str, str]

    def run(
        self, args: list[str], *, extra_env: dict[str, str] | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        return run_group(args, env={**self.env, **(extra_env or {})}, cwd=ROOT, timeout=timeout)

    def airflow(
        self, *args: str, extra_env: dict[str, str] | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        return self.run([str(AIRFLOW_BIN), *args], extra_env=extra_env, timeout=timeout)

    def python_json(self, code: str, *, extra_env: dict[str, str] | None = None) -> Any:
        """Run ``code`` in the Airflow venv; it prints one JSON document as its last line."""
        done = self.run([str(AIRFLOW_PYTHON), "-c", code], extra_env=extra_env, timeout=120)
        assert done.returncode == 0, f"airflow venv python failed:\n{tail(done)}"
        return json.loads(done.stdout.strip().splitlines()[-1])


def run_group(
    args: list[str], *, env: dict[str, str], cwd: Path, timeout: float
) -> subprocess.CompletedProcess[str]:
    """Run a command in a process group of its own; on timeout stop the whole group (Airflow's
    task runners and the Meltano plugins below them too) and fail with the output so far."""
    with subprocess.Popen(
        args,
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
            done = subprocess.CompletedProcess(args, -9, stdout, stderr)
            pytest.fail(f"{args[:4]} did not finish in {timeout:.0f} s:\n{tail(done)}")
    return subprocess.CompletedProcess(args, process.returncode, stdout, stderr)


def tail(done: subprocess.CompletedProcess[str], lines: int = 60) -> str:
    out = (done.stdout + "\n" + done.stderr).strip().splitlines()
    return "\n".join(out[-lines:])


def require_airflow() -> None:
    if not AIRFLOW_BIN.exists():
        pytest.fail(
            f"{AIRFLOW_BIN.relative_to(ROOT)} is missing: run scripts/airflow_setup "
            "(creates .airflow-venv with Apache Airflow and .airflow/)",
            pytrace=False,
        )


def require_meltano() -> None:
    missing = [p for p in (MELTANO_BIN, DUCKDB_PYTHON) if not p.exists()]
    if missing:
        names = ", ".join(str(p.relative_to(ROOT)) for p in missing)
        pytest.fail(
            f"{names} missing: run scripts/meltano_setup (Meltano and `meltano install`)",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def airflow_runner(tmp_path_factory: pytest.TempPathFactory) -> AirflowRunner:
    """A real Airflow with a throwaway home and metadata DB; dags_folder = orchestrate/dags."""
    require_airflow()
    home = tmp_path_factory.mktemp("airflow-home")
    env = {
        **clean_environ(),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    return AirflowRunner(home=home, env=env)


@pytest.fixture(scope="session")
def airflow_db(airflow_runner: AirflowRunner) -> AirflowRunner:
    """The runner with its metadata DB migrated (needed to run DAGs, not to parse them)."""
    done = airflow_runner.airflow("db", "migrate")
    assert done.returncode == 0, f"airflow db migrate failed:\n{tail(done)}"
    return airflow_runner
