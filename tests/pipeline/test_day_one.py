"""Pipeline layer: a new user's first hour, as the README shows it.

- ``scripts/demo`` keeps to itself: its own Meltano system database, run files and DuckDB file
  under AFAS_DEMO_DIR; the user's state (even when MELTANO_DATABASE_URI points elsewhere) and
  warehouse file are left exactly as they were, and the user's TAP_AFAS_* variables are ignored.
- The README's Meltano commands work without ``--environment``: scripts/meltano_setup writes
  ``MELTANO_ENVIRONMENT=sandbox`` to .env, which (unlike ``default_environment``) also holds
  for ``config``, ``select`` and ``state``.
- ``scripts/postgres_local`` is the PostgreSQL of the ``afas-to-postgres`` job; an unreachable
  server ends the job with the loader's error line.
- The plugin definitions in plugins/ add the plugins to another Meltano project
  (``meltano add --from-ref``); the third-party plugins' capabilities are what their ``--about``
  reports.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.pipeline.conftest import (
    MELTANO,
    ROOT,
    Pipeline,
    PostgresServer,
    SandboxTruth,
    query,
    read_warehouse,
    reset_schema,
    stream_name,
)

pytestmark = pytest.mark.pipeline

STATE_ID = "sandbox:tap-afas-to-target-duckdb"
USER_STATE = {
    "singer_state": {
        "bookmarks": {
            "profit_persons": {
                "replication_key": "ModifiedDate",
                "replication_key_value": "2099-01-01T00:00:00+00:00",
            }
        }
    }
}


def _json_out(text: str) -> Any:
    """The JSON document in meltano's output (log lines go to stderr, mixed in here)."""
    start = min(i for i in (text.find("{"), text.find("[")) if i >= 0)
    decoded, _ = json.JSONDecoder().raw_decode(text[start:])
    return decoded


def _fingerprint(path: Path) -> tuple[int, int] | None:
    return (path.stat().st_size, path.stat().st_mtime_ns) if path.exists() else None


def _project_state(state_id: str) -> str | None:
    """The project's own system DB (.meltano/meltano.db): the state of ``state_id``."""
    database = ROOT / ".meltano" / "meltano.db"
    if not database.exists():
        return None
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        if "state" not in tables:
            return None
        row = conn.execute(
            "SELECT completed_state, partial_state FROM state WHERE state_id = ?", [state_id]
        ).fetchone()
    return None if row is None else json.dumps(row)


@pytest.mark.slow
def test_demo_leaves_the_users_state_and_warehouse_alone(pipeline: Pipeline) -> None:
    user_db = pipeline.workdir / "user-meltano.db"
    user_duckdb = pipeline.workdir / "user-afas.duckdb"
    as_user = {"MELTANO_DATABASE_URI": f"sqlite:///{user_db}"}
    pipeline.meltano("state", "set", "--force", STATE_ID, json.dumps(USER_STATE), **as_user)
    project_duckdb = ROOT / "output" / "afas.duckdb"
    project_before = (_project_state(STATE_ID), _fingerprint(project_duckdb))

    demo_dir = pipeline.workdir / "demo"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TAP_", "TARGET_", "MELTANO"))}
    env.update(
        as_user,
        TARGET_DUCKDB_PATH=str(user_duckdb),
        TAP_AFAS_TOKEN="not-a-token",  # a user's own setting: the demo must not use it
        AFAS_DEMO_DIR=str(demo_dir),
    )
    done = subprocess.run(
        [str(ROOT / "scripts" / "demo")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert re.search(
        r"demo: meltano run tap-afas target-duckdb: the first load.* done \(\d+ s\)", done.stdout
    )
    assert "incremental, only what changed ... done" in done.stdout

    # The user's state, warehouse file and the project's defaults are as they were.
    got = pipeline.meltano("state", "get", STATE_ID, **as_user)
    assert _json_out(got.output) == USER_STATE
    assert not user_duckdb.exists()
    assert (_project_state(STATE_ID), _fingerprint(project_duckdb)) == project_before

    # The demo's own: its state, and a warehouse with the sandbox's persons after its changes.
    with sqlite3.connect(demo_dir / "meltano.db") as conn:
        demo_states = [r[0] for r in conn.execute("SELECT state_id FROM state")]
    assert demo_states == [STATE_ID]
    [[persons]] = query(
        "duckdb", str(demo_dir / "afas.duckdb"), "SELECT count(*) FROM afas.profit_persons"
    )
    assert persons == 601 + 2 - 1  # the demo dataset, 2 inserted, 1 deleted by the demo


def _as_user(pipeline: Pipeline) -> Pipeline:
    """meltano as the README shows it: no --environment and no MELTANO_ENVIRONMENT variable."""
    env = {k: v for k, v in pipeline.env.items() if k != "MELTANO_ENVIRONMENT"}
    return Pipeline(pipeline.sandbox, pipeline.workdir, env)


def test_readme_meltano_commands_need_no_environment_flag(pipeline: Pipeline) -> None:
    dotenv = (ROOT / ".env").read_text(encoding="utf-8")
    assert re.search(r"^MELTANO_ENVIRONMENT=sandbox$", dotenv, flags=re.MULTILINE), (
        ".env should name the sandbox environment (scripts/meltano_setup writes it)"
    )
    user = _as_user(pipeline)
    sandbox = pipeline.sandbox
    connectors = SandboxTruth(sandbox).connectors()

    listed = user.meltano("select", "tap-afas", "--list")
    assert "Environment 'sandbox' is active" in listed.output
    assert "[automatic  ] profit_persons.PersonId" in listed.output

    config = user.meltano("config", "list", "tap-afas")
    assert f"current value: '{sandbox.base_url}'" in config.output
    assert "Group 2: api_url, token" in config.output
    assert "token (required) [env: TAP_AFAS_TOKEN] current value: (redacted)" in config.output

    catalog = _json_out(user.meltano("invoke", "tap-afas", "--discover").output)
    assert sorted(s["tap_stream_id"] for s in catalog["streams"]) == sorted(
        stream_name(c) for c in connectors
    )

    # Stream selection with the select extra, then the state the run leaves.
    select = json.dumps(["profit_persons.*"])
    first = user.run("tap-afas", "target-duckdb", TAP_AFAS__SELECT=select)
    warehouse = read_warehouse("duckdb", str(pipeline.duckdb_path))
    assert sorted(warehouse.tables) == ["profit_persons"]
    assert len(warehouse.tables["profit_persons"].rows) == len(sandbox.rows("Profit_Persons"))
    listed_states = user.meltano("state", "list")
    assert STATE_ID in listed_states.output
    assert "[info" in listed_states.output
    assert "[info" not in user.meltano("--log-level=warning", "state", "list").output

    # --full-refresh with the SDK's metrics logger at warning (TAP_AFAS_LOGLEVEL): the tap's
    # METRIC lines are gone, its other info lines stay.
    def tap_lines(output: str) -> list[str]:
        return [line for line in output.splitlines() if "] tap-afas " in line]

    assert [line for line in tap_lines(first.output) if "METRIC" in line]
    quiet = user.run(
        "--full-refresh",
        "tap-afas",
        "target-duckdb",
        TAP_AFAS__SELECT=select,
        TAP_AFAS_LOGLEVEL="warning",
    )
    assert "sync of 'profit_persons' with bookmark value: None" in quiet.output  # refreshed
    assert tap_lines(quiet.output)
    assert not [line for line in tap_lines(quiet.output) if "METRIC" in line]

    user.meltano("state", "clear", "--force", STATE_ID)
    assert STATE_ID not in user.meltano("state", "list").output


def test_a_plugin_error_is_an_error_line(pipeline: Pipeline) -> None:
    """structured-logging: Meltano shows the tap's one ERROR line as [error], not [info]."""
    run = _as_user(pipeline).meltano(
        "run", "tap-afas", "target-duckdb", check=False, TAP_AFAS_TOKEN="no-token-4711"
    )
    assert run.returncode != 0
    errors = [line for line in run.output.splitlines() if "[error    ] tap-afas" in line]
    assert len(errors) == 1, run.tail()
    assert "is not an AFAS token" in errors[0]
    assert "4711" not in run.output  # the token is never shown


def test_postgres_job_runs_on_postgres_local_and_says_when_it_is_unreachable(
    pipeline: Pipeline, postgres_server: PostgresServer
) -> None:
    reset_schema(postgres_server)
    selected = {"TAP_AFAS__SELECT": json.dumps(["profit_persons.*"])}
    pipeline.run("afas-to-postgres", **postgres_server.loader_env(), **selected)
    [[persons]] = query("postgres", postgres_server.dsn, "SELECT count(*) FROM afas.profit_persons")
    assert persons == len(pipeline.sandbox.rows("Profit_Persons"))

    closed = {**postgres_server.loader_env(), "TARGET_POSTGRES_PORT": "1"}
    run = pipeline.meltano("run", "afas-to-postgres", check=False, **closed, **selected)
    assert run.returncode != 0
    errors = [line for line in run.output.splitlines() if "[error    ] target-postgres" in line]
    assert errors, run.tail()
    assert "connection failed" in errors[0]
    assert "Connection refused" in run.output


@pytest.mark.parametrize(
    ("plugin_type", "name", "executable"),
    [("loaders", "target-postgres", "target-postgres"), ("extractors", "tap-jsonl", "tap-jsonl")],
)
def test_third_party_capabilities_are_what_about_reports(
    meltano_project: Path, plugin_type: str, name: str, executable: str
) -> None:
    project = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
    plugin = next(p for p in project["plugins"][plugin_type] if p["name"] == name)
    binary = ROOT / ".meltano" / plugin_type / name / "venv" / "bin" / executable
    about = subprocess.run(
        [str(binary), "--about", "--format=json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert sorted(plugin["capabilities"]) == sorted(json.loads(about.stdout)["capabilities"])


def test_plugin_definitions_add_the_plugins_to_another_project(
    meltano_project: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other-project"
    other.mkdir()
    (other / "meltano.yml").write_text(
        "project_id: someone-else\nsend_anonymous_usage_stats: false\n", encoding="utf-8"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TAP_", "TARGET_", "MELTANO"))}
    env["MELTANO_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    definitions = sorted((ROOT / "plugins").glob("*/*.yml"))
    assert [p.relative_to(ROOT).as_posix() for p in definitions] == [
        "plugins/extractors/tap-afas.yml",
        "plugins/loaders/target-afas.yml",
        "plugins/loaders/target-duckdb-afas.yml",
    ]
    for path in definitions:
        plugin_type = path.parent.name[:-1]
        done = subprocess.run(
            [
                str(MELTANO),
                "add",
                "--plugin-type",
                plugin_type,
                path.stem,
                "--from-ref",
                str(path),
                "--no-install",
            ],
            cwd=other,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"Added {plugin_type} '{path.stem}' to your project" in done.stdout
    added = yaml.safe_load((other / "meltano.yml").read_text(encoding="utf-8"))["plugins"]
    assert set(added) == {"extractors", "loaders"}
    for path in definitions:
        definition = yaml.safe_load(path.read_text(encoding="utf-8"))
        [plugin] = [p for p in added[path.parent.name] if p["name"] == path.stem]
        for key in (
            "pip_url",
            "namespace",
            "executable",
            "capabilities",
            "settings_group_validation",
        ):
            assert plugin.get(key) == definition.get(key), (path.stem, key)
        assert [s["name"] for s in plugin["settings"]] == [
            s["name"] for s in definition["settings"]
        ]
    listed = subprocess.run(
        [str(MELTANO), "config", "list", "tap-afas"],
        cwd=other,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    assert "Group 1: environment_id, token" in listed.stdout
