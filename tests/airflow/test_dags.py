"""orchestrate/dags/afas.py in a real Apache Airflow: it imports, builds the expected DAGs, and a
DAG run loads sandbox rows into the embedded DuckDB warehouse through Meltano, one state ID per
stream.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from afas_profit.conventions import stream_name_for
from afas_sandbox.datasets import load_dataset
from afas_sandbox.server import RunningSandbox
from tests.airflow.conftest import (
    DAGS_FOLDER,
    DUCKDB_PYTHON,
    MELTANO_BIN,
    ROOT,
    AirflowRunner,
    clean_environ,
    require_meltano,
    run_group,
    tail,
)

pytestmark = pytest.mark.airflow

DEMO_CONNECTORS = [c.id for c in load_dataset("demo").get_connectors]
STATE_ID = "sandbox:tap-afas-to-target-duckdb:{}"

# Runs in the Airflow venv: parse the dags folder as the scheduler does, describe what it built.
DESCRIBE = r"""
import json, warnings
warnings.simplefilter("ignore")
try:
    from airflow.dag_processing.dagbag import DagBag  # Airflow 3
except ImportError:
    from airflow.models.dagbag import DagBag  # Airflow 2
bag = DagBag()
dags = {}
for dag_id, dag in sorted(bag.dags.items()):
    dags[dag_id] = {
        "fileloc": dag.fileloc,
        "schedule": None if dag.schedule is None else str(dag.schedule),
        "catchup": dag.catchup,
        "max_active_runs": dag.max_active_runs,
        "max_active_tasks": dag.max_active_tasks,
        "tags": sorted(dag.tags),
        "tasks": {
            t.task_id: {
                "type": type(t).__name__,
                "bash_command": t.bash_command,
                "env": t.env,
                "append_env": t.append_env,
                "cwd": t.cwd,
                "retries": t.retries,
                "retry_delay": t.retry_delay.total_seconds(),
                "upstream": sorted(t.upstream_task_ids),
                "downstream": sorted(t.downstream_task_ids),
            }
            for t in dag.tasks
        },
    }
errors = {str(k): str(v) for k, v in bag.import_errors.items()}
print(json.dumps({"import_errors": errors, "dags": dags}))
"""


def describe(runner: AirflowRunner, **extra_env: str) -> dict[str, Any]:
    result: dict[str, Any] = runner.python_json(DESCRIBE, extra_env=extra_env)
    return result


def test_setup_configures_airflow_home(airflow_runner: AirflowRunner) -> None:
    """scripts/airflow_setup's AIRFLOW_HOME: dags_folder, no examples, SQLite DB, migrated."""
    home = ROOT / ".airflow"
    if not (home / "airflow.cfg").exists():
        pytest.fail(".airflow/airflow.cfg is missing: run scripts/airflow_setup", pytrace=False)
    code = (
        "import json, warnings; warnings.simplefilter('ignore');"
        "from airflow.configuration import conf;"
        "print(json.dumps({'dags_folder': conf.get('core', 'dags_folder'),"
        " 'load_examples': conf.getboolean('core', 'load_examples'),"
        " 'db': conf.get('database', 'sql_alchemy_conn')}))"
    )
    env = {k: v for k, v in airflow_runner.env.items() if not k.startswith("AIRFLOW")}
    done = subprocess.run(
        [str(ROOT / ".airflow-venv" / "bin" / "python"), "-c", code],
        env={**env, "AIRFLOW_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, tail(done)
    settings = json.loads(done.stdout.strip().splitlines()[-1])
    assert settings == {
        "dags_folder": str(DAGS_FOLDER),
        "load_examples": False,
        "db": f"sqlite:///{home / 'airflow.db'}",
    }
    assert (home / "airflow.db").stat().st_size > 0
    assert (home / ".gitignore").read_text() == "*\n"
    assert (ROOT / ".airflow-venv" / ".gitignore").read_text() == "*\n"


def test_readme_commands_list_the_dags_without_a_warning(airflow_runner: AirflowRunner) -> None:
    """orchestrate/README.md after scripts/airflow_setup: `eval "$(scripts/airflow_env)"`,
    then `airflow dags list` shows afas_sandbox (no scheduler ran) and warns about nothing."""
    if not (ROOT / ".airflow" / "airflow.db").exists():
        pytest.fail(".airflow/airflow.db is missing: run scripts/airflow_setup", pytrace=False)
    env = {k: v for k, v in airflow_runner.env.items() if not k.startswith("AIRFLOW")}
    done = subprocess.run(
        ["bash", "-c", 'eval "$(scripts/airflow_env)" && airflow dags list --output json'],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, tail(done)
    assert done.stderr == ""
    listed = json.loads(done.stdout)
    assert [d["dag_id"] for d in listed] == ["afas_sandbox"]
    assert listed[0]["fileloc"] == str(DAGS_FOLDER / "afas.py")


def test_dags_import_with_expected_tasks(airflow_runner: AirflowRunner) -> None:
    described = describe(airflow_runner)
    assert described["import_errors"] == {}
    assert list(described["dags"]) == ["afas_sandbox"]
    dag = described["dags"]["afas_sandbox"]
    assert dag["fileloc"] == str(DAGS_FOLDER / "afas.py")
    assert dag["schedule"] == "*/15 * * * *"
    assert dag["catchup"] is False
    assert dag["max_active_runs"] == 1
    assert dag["max_active_tasks"] == 1  # one DuckDB file, one writer at a time
    assert dag["tags"] == ["afas", "meltano", "sandbox"]

    # One task per demo GetConnector, named like tap-afas names the stream.
    streams = [stream_name_for(c) for c in DEMO_CONNECTORS]
    assert sorted(dag["tasks"]) == sorted(streams)
    meltano = str(MELTANO_BIN) if MELTANO_BIN.exists() else "meltano"
    for connector, stream in zip(DEMO_CONNECTORS, streams, strict=True):
        task = dag["tasks"][stream]
        assert task["type"] == "BashOperator"
        script = task["bash_command"]
        assert script.splitlines()[-1] == (
            f"{meltano} --environment=sandbox run tap-afas target-duckdb --state-id-suffix={stream}"
        )
        assert 'export MELTANO_SYS_DIR_ROOT="$task_dir"' in script  # a run dir of its own
        assert task["env"] == {
            "MELTANO_PROJECT_ROOT": str(ROOT),
            "TAP_AFAS_CONNECTORS": json.dumps([connector]),
            "TAP_AFAS__SELECT": json.dumps([f"{stream}.*"]),
        }
        assert task["append_env"] is True
        assert task["cwd"] == str(ROOT)
        assert task["retries"] == 1
        assert task["retry_delay"] == 300
        # Streams are independent: no task waits for another.
        assert task["upstream"] == []
        assert task["downstream"] == []


def test_config_file_builds_one_dag_per_environment(
    airflow_runner: AirflowRunner, tmp_path: Path
) -> None:
    config = tmp_path / "afas-dags.yml"
    config.write_text(
        """
defaults:
  loader: target-postgres
  max_active_tasks: 4
environments:
  sandbox:
    loader: target-duckdb
    max_active_tasks: 1
    connectors: [Profit_Persons]
  prod:
    connectors: [Profit_Employees, Profit_FreeTable_K01]
    env: {TARGET_POSTGRES_HOST: warehouse.internal}
  prod_deletes:
    environment: prod
    extractor: tap-afas--deletes
    schedule: "30 2 * * *"
    connectors: [Profit_Employees]
""",
        encoding="utf-8",
    )
    described = describe(
        airflow_runner,
        AFAS_AIRFLOW_CONFIG=str(config),
        AFAS_AIRFLOW_ENVIRONMENTS="prod,prod_deletes",
        MELTANO_PROJECT_ROOT="/srv/meltano",
        MELTANO_BIN="/opt/meltano/bin/meltano",
    )
    assert described["import_errors"] == {}
    assert list(described["dags"]) == ["afas_prod", "afas_prod_deletes"]
    prod, deletes = described["dags"]["afas_prod"], described["dags"]["afas_prod_deletes"]
    assert prod["max_active_tasks"] == 4
    assert prod["schedule"] == "*/15 * * * *"
    assert sorted(prod["tasks"]) == ["profit_employees", "profit_freetable_k01"]
    task = prod["tasks"]["profit_freetable_k01"]
    assert task["bash_command"].splitlines()[-1] == (
        "/opt/meltano/bin/meltano --environment=prod run tap-afas target-postgres "
        "--state-id-suffix=profit_freetable_k01"
    )
    assert task["env"]["TARGET_POSTGRES_HOST"] == "warehouse.internal"
    assert task["env"]["MELTANO_PROJECT_ROOT"] == "/srv/meltano"
    assert task["cwd"] == "/srv/meltano"
    assert deletes["schedule"] == "30 2 * * *"
    assert deletes["tags"] == ["afas", "meltano", "prod"]
    assert deletes["tasks"]["profit_employees"]["bash_command"].splitlines()[-1] == (
        "/opt/meltano/bin/meltano --environment=prod run tap-afas--deletes "
        "target-postgres --state-id-suffix=profit_employees"
    )


def test_config_mistake_is_an_import_error(airflow_runner: AirflowRunner) -> None:
    described = describe(airflow_runner, AFAS_AIRFLOW_ENVIRONMENTS="sandbox,prod")
    assert described["dags"] == {}
    [(path, error)] = described["import_errors"].items()
    assert path.endswith("afas.py")
    assert "AFAS_AIRFLOW_ENVIRONMENTS names ['prod'], not in the config" in error


def duckdb_query(database: Path, sql: str) -> list[list[Any]]:
    """Rows of a query on the warehouse file, read with target-duckdb's own duckdb."""
    code = (
        "import duckdb, json, sys\n"
        "c = duckdb.connect(sys.argv[1], read_only=True)\n"
        "print(json.dumps([list(r) for r in c.execute(sys.argv[2]).fetchall()], default=str))\n"
    )
    done = run_group(
        [str(DUCKDB_PYTHON), "-c", code, str(database), sql],
        env=clean_environ(),
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 0, tail(done)
    rows: list[list[Any]] = json.loads(done.stdout)
    return rows


def duckdb_counts(database: Path) -> dict[str, int]:
    tables = duckdb_query(
        database, "SELECT table_catalog, table_schema, table_name FROM information_schema.tables"
    )
    counts: dict[str, int] = {}
    for catalog, schema, table in tables:
        [[count]] = duckdb_query(database, f'SELECT count(*) FROM "{catalog}"."{schema}"."{table}"')
        counts[f"{schema}.{table}"] = count
    return counts


def meltano_states(system_db: Path) -> dict[str, dict[str, Any]]:
    with sqlite3.connect(system_db) as conn:
        rows = conn.execute("SELECT state_id, completed_state FROM state").fetchall()
    return {state_id: json.loads(state) for state_id, state in rows}


def dag_test(
    runner: AirflowRunner, run_env: dict[str, str], streams: list[str], date: str
) -> subprocess.CompletedProcess[str]:
    """``airflow dags test`` running only ``streams`` for real (others are marked success).

    ``dags test`` exits non-zero when a task fails (``tasks test`` in Airflow 3.3 exits 0). A
    failing task waits for its retry (5 minutes), so the timeout ends such a run sooner.
    """
    others = "(?!(" + "|".join(streams) + ")$).*"
    return runner.airflow(
        "dags",
        "test",
        "afas_sandbox",
        date,
        "--mark-success-pattern",
        others,
        extra_env=run_env,
        timeout=240,
    )


@pytest.mark.slow
def test_dag_run_loads_sandbox_rows_with_a_state_id_per_stream(
    airflow_db: AirflowRunner, afas_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    require_meltano()
    warehouse = tmp_path / "afas.duckdb"
    system_db = tmp_path / "meltano.db"
    run_env = {
        "TAP_AFAS_API_URL": afas_sandbox.base_url,  # the sandbox of this test, on a free port
        "TARGET_DUCKDB_PATH": str(warehouse),
        "MELTANO_DATABASE_URI": f"sqlite:///{system_db}",  # state apart from the project's
    }
    streams = ["profit_persons", "profit_employees"]

    done = dag_test(airflow_db, run_env, streams, "2024-01-02")
    assert done.returncode == 0, f"airflow dags test failed:\n{tail(done)}"
    persons = len(afas_sandbox.rows("Profit_Persons"))
    assert persons > 0
    assert duckdb_counts(warehouse) == {  # afas.duckdb: schema "afas" is its main schema
        "main.profit_persons": persons,
        "main.profit_employees": len(afas_sandbox.rows("Profit_Employees")),
    }
    states = meltano_states(system_db)
    assert sorted(states) == sorted(STATE_ID.format(s) for s in streams)
    for stream in streams:
        # Each state ID holds its own stream's bookmark and nothing else.
        bookmarks = states[STATE_ID.format(stream)]["singer_state"]["bookmarks"]
        assert list(bookmarks) == [stream]
        assert bookmarks[stream]["replication_key_value"]

    # The next run of one task reads only what changed since that stream's bookmark.
    [[loaded_before]] = duckdb_query(
        warehouse, "SELECT max(_sdc_batched_at) FROM afas.profit_persons"
    )
    changed = afas_sandbox.mutate("Profit_Persons", inserts=5, updates=3)
    done = dag_test(airflow_db, run_env, ["profit_persons"], "2024-01-03")
    assert done.returncode == 0, f"airflow dags test failed:\n{tail(done)}"
    assert duckdb_counts(warehouse)["main.profit_persons"] == persons + 5
    loaded_now = duckdb_query(
        warehouse,
        "SELECT personid FROM afas.profit_persons"
        f" WHERE _sdc_batched_at > TIMESTAMPTZ '{loaded_before}'",
    )
    assert sorted(str(r[0]) for r in loaded_now) == sorted(changed.inserted + changed.updated)


@pytest.mark.slow
def test_tasks_run_in_parallel_without_sharing_run_files(
    airflow_runner: AirflowRunner, afas_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    """Three tasks' commands at once, as BashOperator runs them (bash -c, task env on top of the
    worker's): every stream lands whole, with its own state, and nothing is written to the
    project's shared .meltano/run (where `meltano run` would put every run's catalog)."""
    require_meltano()
    connectors = ["Profit_Persons", "Profit_Employees", "Profit_Transactions"]
    config = tmp_path / "afas-dags.yml"
    config.write_text(
        "environments:\n"
        "  sandbox:\n"
        "    loader: target-jsonl\n"
        "    max_active_tasks: 3\n"
        f"    connectors: {json.dumps(connectors)}\n",
        encoding="utf-8",
    )
    tasks = describe(airflow_runner, AFAS_AIRFLOW_CONFIG=str(config))["dags"]["afas_sandbox"][
        "tasks"
    ]
    assert len(tasks) == 3
    # The project's .meltano as the workers see it, through a folder of this test, so that any
    # write to its shared run/ folder shows.
    sys_dir = tmp_path / "sys"
    sys_dir.mkdir()
    for kind in ("extractors", "loaders"):
        (sys_dir / kind).symlink_to(ROOT / ".meltano" / kind)
    output, task_tmp = tmp_path / "jsonl", tmp_path / "tmp"
    output.mkdir()
    task_tmp.mkdir()
    worker_env = {
        **clean_environ(),
        "MELTANO_SYS_DIR_ROOT": str(sys_dir),
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "TAP_AFAS_API_URL": afas_sandbox.base_url,
        "TARGET_JSONL_DESTINATION_PATH": str(output),
        "TMPDIR": str(task_tmp),
    }
    # Create the system DB once, as `meltano install` does for a deployment.
    done = run_group([str(MELTANO_BIN), "state", "list"], env=worker_env, cwd=ROOT, timeout=120)
    assert done.returncode == 0, tail(done)
    run_files_before = sorted((sys_dir / "run").rglob("*"))

    processes = {
        stream: subprocess.Popen(
            ["bash", "-c", task["bash_command"]],
            env={**worker_env, **task["env"]},
            cwd=task["cwd"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        for stream, task in tasks.items()
    }
    for stream, process in processes.items():
        try:
            out, _ = process.communicate(timeout=180)
        except subprocess.TimeoutExpired:
            for other in processes.values():
                os.killpg(other.pid, signal.SIGKILL)
            pytest.fail(f"task {stream} did not finish in 180 s")
        assert process.returncode == 0, f"task {stream} failed:\n{out[-4000:]}"

    for connector in connectors:
        stream = stream_name_for(connector)
        lines = (output / f"{stream}.jsonl").read_text(encoding="utf-8").splitlines()
        assert len(lines) == len(afas_sandbox.rows(connector)) > 0
    states = meltano_states(sys_dir / "meltano.db")
    assert sorted(states) == sorted(
        f"sandbox:tap-afas-to-target-jsonl:{stream_name_for(c)}" for c in connectors
    )
    # No catalog or config file went to the shared run folder (.meltano/run/tap-afas/...).
    assert sorted((sys_dir / "run").rglob("*")) == run_files_before
    assert list(task_tmp.iterdir()) == []  # the private run folders are gone
