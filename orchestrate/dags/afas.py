"""Airflow DAG factory: one DAG per AFAS environment, one task per GetConnector.

Each task runs one stream of ``tap-afas`` into the environment's loader through Meltano::

    cd $MELTANO_PROJECT_ROOT && meltano --environment=<env> run <extractor> <loader> \\
        --state-id-suffix=<stream>

with ``TAP_AFAS_CONNECTORS='["<connector id>"]'`` (discovery reads only that connector's
metainfo) and ``TAP_AFAS__SELECT='["<stream>.*"]'`` (Meltano's select extra) in the task's
environment. ``--state-id-suffix`` gives every stream its own Meltano state ID, e.g.
``sandbox:tap-afas-to-target-duckdb:profit_employees``, so tasks never share bookmarks; a retry
resumes from the stream's last STATE (tap-afas writes one every 1000 records).

``meltano run`` (4.4.1) writes the extractor's catalog and config files to
``.meltano/run/<plugin>/``, shared by every run of the project: two runs at once overwrite each
other's catalog (seen as "Cannot start plugin tap-afas: Invalid catalog"). So each task runs
Meltano with a private, temporary ``MELTANO_SYS_DIR_ROOT`` that links the project's installed
plugins (``.meltano/extractors``, ``loaders``, ...) and the project's system DB, i.e. its state
(see ``TASK_PRELUDE``). Tasks of one DAG, and of several DAGs on one machine, can then run in
parallel.

Configuration (nothing here touches the network or runs Meltano at parse time):

- Built in: the ``sandbox`` environment (a local afas-sandbox, see meltano.yml) with the demo
  dataset's GetConnectors, loading into the embedded DuckDB warehouse (``target-duckdb``).
- ``AFAS_AIRFLOW_CONFIG``: path of a YAML (or JSON) file that replaces the built-in table; same
  shape as ``BUILTIN_CONFIG`` below (``defaults`` plus ``environments``, each keyed by a DAG
  name; an entry's Meltano environment is its ``environment`` or else its key).
- ``AFAS_AIRFLOW_ENVIRONMENTS``: comma-separated entry names to build DAGs for (default: all).
- ``MELTANO_PROJECT_ROOT``: the Meltano project (default: the repository this file is in).
- ``MELTANO_BIN``: the meltano executable (default: ``$MELTANO_PROJECT_ROOT/.meltano-venv/bin/
  meltano`` when it exists, else ``meltano`` on PATH).

Per entry: ``connectors`` (GetConnector ids), ``loader``, ``extractor`` (``tap-afas`` or a
plugin inheriting from it, e.g. ``tap-afas--deletes``), ``schedule`` (cron or preset, null for
manual), ``max_active_tasks``, ``retries``, ``retry_delay_minutes``,
``execution_timeout_minutes``, ``env`` (extra variables for every task), ``tags``.
DAG defaults: ``catchup=False``, ``max_active_runs=1``, one retry after 5 minutes.

Scale-out path. This file is executor-agnostic: with the LocalExecutor, tasks run as
subprocesses of one machine; with the CeleryExecutor a pool of workers, or with the
KubernetesExecutor one pod per task, runs them, and each task is one stream, so a slow
connector never holds up the others. Two things must then be shared rather than local:

1. Meltano state. By default it lives in the project's SQLite system DB
   (``.meltano/meltano.db``), which a second worker or a fresh pod does not see. Point every
   worker at one shared store: ``MELTANO_DATABASE_URI=postgresql+psycopg://...`` (the system DB,
   state included, on PostgreSQL; ``meltano[postgres]``), or
   ``MELTANO_STATE_BACKEND_URI=s3://bucket/prefix`` (also ``gs://``, ``azure://``; the
   ``meltano[s3]``/``[gcs]``/``[azure]`` extras). Both pass through the tasks unchanged.
2. The warehouse. DuckDB is one file with one writer (hence ``max_active_tasks: 1`` for the
   sandbox); run real environments into ``target-postgres`` (or another server warehouse),
   where streams load in parallel.

Workers need the Meltano project with its plugins installed (``meltano install``, usually baked
into an image) and the secrets of meltano.yml's environments (``AFAS_ENVIRONMENT_ID``,
``AFAS_TOKEN``, ``TARGET_POSTGRES_PASSWORD``, ...) in their environment, for instance from an
Airflow secrets backend. See orchestrate/README.md.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shlex
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

try:  # Airflow 3
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.sdk import DAG
except ImportError:  # Airflow 2.x
    from airflow import DAG  # type: ignore[no-redef,attr-defined,unused-ignore]
    from airflow.operators.bash import BashOperator  # type: ignore[no-redef,unused-ignore]

# The GetConnectors of afas-sandbox's demo dataset (afas_sandbox/datasets/demo/getconnectors.py
# and files.py; tests/airflow checks the two lists agree).
DEMO_CONNECTORS = [
    "Profit_Administrations",
    "Profit_Persons",
    "Profit_Organisations",
    "Profit_Contacts",
    "Profit_Employees",
    "Profit_Debtors",
    "Profit_Subjects",
    "Profit_Subject_Attachments",
    "Profit_Transactions",
    "Profit_FreeTable_K01",
    "Profit_Deleted_Records",
    "Profit_Subject_Files",
    "Profit_Images",
]

BUILTIN_CONFIG: dict[str, Any] = {
    "defaults": {
        "extractor": "tap-afas",
        "loader": "target-duckdb",
        "schedule": "*/15 * * * *",
        "max_active_tasks": 1,
        "retries": 1,
        "retry_delay_minutes": 5,
    },
    "environments": {
        "sandbox": {"connectors": DEMO_CONNECTORS},
        # A real environment, for example (its token etc. come from meltano.yml's `prod`):
        # "prod": {"connectors": ["Profit_Employees", ...], "loader": "target-postgres",
        #          "max_active_tasks": 4},
        # "prod_deletes": {"environment": "prod", "extractor": "tap-afas--deletes",
        #                  "loader": "target-postgres", "schedule": "30 2 * * *", ...},
    },
}

ENTRY_KEYS = frozenset(
    {
        "environment",
        "connectors",
        "extractor",
        "loader",
        "schedule",
        "max_active_tasks",
        "retries",
        "retry_delay_minutes",
        "execution_timeout_minutes",
        "env",
        "tags",
    }
)
START_DATE = datetime(2024, 1, 1, tzinfo=timezone.utc)
_NON_NAME = re.compile(r"[^a-z0-9]+")


def stream_name_for(connector_id: str) -> str:
    """tap-afas's stream name for a GetConnector (afas_profit.conventions.stream_name_for)."""
    return _NON_NAME.sub("_", connector_id.lower()).strip("_") or "connector"


def project_root() -> Path:
    """The Meltano project: $MELTANO_PROJECT_ROOT, else the repository holding this file."""
    configured = os.environ.get("MELTANO_PROJECT_ROOT")
    return Path(configured) if configured else Path(__file__).resolve().parents[2]


def meltano_executable(root: Path) -> str:
    configured = os.environ.get("MELTANO_BIN")
    if configured:
        return configured
    local = root / ".meltano-venv" / "bin" / "meltano"
    return str(local) if local.exists() else "meltano"


def load_config() -> dict[str, Any]:
    """The DAG table: AFAS_AIRFLOW_CONFIG's file, else the built-in one."""
    path = os.environ.get("AFAS_AIRFLOW_CONFIG")
    if not path:
        return copy.deepcopy(BUILTIN_CONFIG)
    text = Path(path).read_text(encoding="utf-8")
    if path.endswith(".json"):
        loaded = json.loads(text)
    else:
        import yaml  # an Airflow dependency

        loaded = yaml.safe_load(text)
    if not isinstance(loaded, dict) or not isinstance(loaded.get("environments"), dict):
        raise ValueError(f"{path}: expected a mapping with an 'environments' mapping")
    return loaded


def selected_entries(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each DAG's settings (defaults + its entry), as AFAS_AIRFLOW_ENVIRONMENTS picks them."""
    defaults = config.get("defaults") or {}
    entries: dict[str, dict[str, Any]] = {}
    for name, entry in config["environments"].items():
        merged = {**BUILTIN_CONFIG["defaults"], **defaults, **(entry or {}), "name": name}
        merged.setdefault("environment", name)
        unknown = set(merged) - ENTRY_KEYS - {"name"}
        if unknown:
            raise ValueError(f"AFAS DAG config {name!r}: unknown keys {sorted(unknown)}")
        if not merged.get("connectors"):
            raise ValueError(f"AFAS DAG config {name!r}: list its GetConnector ids in 'connectors'")
        entries[name] = merged
    wanted = os.environ.get("AFAS_AIRFLOW_ENVIRONMENTS")
    if wanted:
        names = [n.strip() for n in wanted.split(",") if n.strip()]
        missing = [n for n in names if n not in entries]
        if missing:
            raise ValueError(
                f"AFAS_AIRFLOW_ENVIRONMENTS names {missing}, not in the config "
                f"(has {sorted(entries)}; set AFAS_AIRFLOW_CONFIG to add them)"
            )
        entries = {n: entries[n] for n in names}
    return entries


def dag_id_for(name: str) -> str:
    return "afas_" + stream_name_for(name)


# `meltano run` writes the extractor's catalog and config files to <sys dir>/run/<plugin>/, one
# directory for every run of the project (measured in Meltano 4.4.1: two runs at once overwrite
# each other's catalog). Each task therefore runs Meltano with a private sys dir holding links to
# everything in the project's .meltano but run/: the installed plugins, logs and the system DB
# (state; SQLite follows the link, its journal stays beside the real file). Settings such as
# MELTANO_DATABASE_URI or a state backend pass through unchanged.
TASK_PRELUDE = """\
set -euo pipefail
shopt -s nullglob
sys_dir="${MELTANO_SYS_DIR_ROOT:-$MELTANO_PROJECT_ROOT/.meltano}"
task_dir="$(mktemp -d "${TMPDIR:-/tmp}/meltano-task.XXXXXX")"
trap 'rm -rf "$task_dir"' EXIT
for entry in "$sys_dir"/*; do
  case "${entry##*/}" in run | meltano.db*) ;; *) ln -s "$entry" "$task_dir/" ;; esac
done
ln -s "$sys_dir/meltano.db" "$task_dir/meltano.db"
export MELTANO_SYS_DIR_ROOT="$task_dir"
"""


def meltano_command(
    meltano: str, environment: str, extractor: str, loader: str, stream: str
) -> str:
    """The task's bash script: the prelude, then one `meltano run` (its last line)."""
    args = [
        meltano,
        f"--environment={environment}",
        "run",
        extractor,
        loader,
        f"--state-id-suffix={stream}",
    ]
    return TASK_PRELUDE + " ".join(shlex.quote(a) for a in args)


def build_dag(entry: dict[str, Any], root: Path, meltano: str) -> DAG:
    environment = str(entry["environment"])
    extractor = str(entry["extractor"])
    loader = str(entry["loader"])
    default_args: dict[str, Any] = {
        "owner": "afas",
        "retries": int(entry["retries"]),
        "retry_delay": timedelta(minutes=float(entry["retry_delay_minutes"])),
    }
    if entry.get("execution_timeout_minutes"):
        default_args["execution_timeout"] = timedelta(
            minutes=float(entry["execution_timeout_minutes"])
        )
    connectors = [str(c) for c in entry["connectors"]]
    streams = [stream_name_for(c) for c in connectors]
    doubled = {s for s in streams if streams.count(s) > 1}
    if doubled:
        raise ValueError(f"AFAS DAG config {entry['name']!r}: connectors share streams {doubled}")
    dag = DAG(
        dag_id=dag_id_for(entry["name"]),
        description=f"AFAS Profit ({environment}) -> {loader}, one Meltano run per GetConnector",
        schedule=entry["schedule"],
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        max_active_tasks=int(entry["max_active_tasks"]),
        default_args=default_args,
        tags=["afas", "meltano", environment, *entry.get("tags", [])],
        doc_md=(
            f"`meltano --environment={environment} run {extractor} {loader}` split per "
            f"GetConnector: {len(connectors)} tasks, each with its own Meltano state ID "
            f"(`{environment}:{extractor}-to-{loader}:<stream>`). "
            "Built by orchestrate/dags/afas.py."
        ),
    )
    for connector, stream in zip(connectors, streams, strict=True):
        env = {
            **{str(k): str(v) for k, v in (entry.get("env") or {}).items()},
            "MELTANO_PROJECT_ROOT": str(root),
            "TAP_AFAS_CONNECTORS": json.dumps([connector]),
            "TAP_AFAS__SELECT": json.dumps([f"{stream}.*"]),
        }
        BashOperator(
            dag=dag,
            task_id=stream,
            bash_command=meltano_command(meltano, environment, extractor, loader, stream),
            env=env,
            append_env=True,
            cwd=str(root),
            doc_md=f"GetConnector `{connector}` -> stream `{stream}` -> `{loader}`.",
        )
    return dag


def build_dags(config: dict[str, Any] | None = None) -> dict[str, DAG]:
    root = project_root()
    meltano = meltano_executable(root)
    entries = selected_entries(load_config() if config is None else config)
    return {dag_id_for(name): build_dag(entry, root, meltano) for name, entry in entries.items()}


for _dag_id, _dag in build_dags().items():
    globals()[_dag_id] = _dag
