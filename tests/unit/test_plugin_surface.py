"""Unit layer: the plugins' public surface (``--about``, sample configs, meltano.yml) agrees."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from afas_sandbox.datasets import load_dataset
from tap_afas.settings import tap_config_schema
from target_afas.settings import target_config_schema
from target_duckdb_afas.target import TargetDuckDB

ROOT = Path(__file__).resolve().parents[2]


def _about(module: str) -> dict[str, Any]:
    output = subprocess.run(
        [sys.executable, "-m", module, "--about", "--format=json"],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    about: dict[str, Any] = json.loads(output)
    return about


@pytest.mark.parametrize(
    ("module", "name"), [("tap_afas", "tap-afas"), ("target_afas", "target-afas")]
)
def test_about_lists_settings_and_marks_the_token_secret(module: str, name: str) -> None:
    about = _about(module)
    assert about["name"] == name
    properties = about["settings"]["properties"]
    assert {"environment_id", "environment_type", "api_url", "token", "integration_id"} <= set(
        properties
    )
    assert properties["token"].get("secret") is True
    assert "token" in about["settings"]["required"]


def test_sandbox_sample_config_is_valid_and_holds_the_full_demo_token() -> None:
    config = json.loads((ROOT / "sample_config" / "tap.sandbox.json").read_text())
    jsonschema.validate(config, tap_config_schema())
    full = next(t for t in load_dataset("demo").tokens if t.name == "full")
    assert config["token"] == full.xml
    assert config["api_url"] == "http://127.0.0.1:8765/ProfitRestServices"


@pytest.mark.parametrize(
    ("name", "schema"),
    [
        ("tap.example.json", tap_config_schema),
        ("tap.sandbox.json", tap_config_schema),
        ("target.example.json", target_config_schema),
        ("target.sandbox.json", target_config_schema),
        ("duckdb.json", lambda: TargetDuckDB.config_jsonschema),
    ],
)
def test_sample_configs_are_valid(name: str, schema: Callable[[], dict[str, Any]]) -> None:
    config = json.loads((ROOT / "sample_config" / name).read_text())
    jsonschema.validate(config, schema())


@pytest.mark.parametrize(
    ("plugin_type", "name", "schema"),
    [
        ("extractors", "tap-afas", tap_config_schema),
        ("loaders", "target-afas", target_config_schema),
    ],
)
def test_meltano_settings_match_the_plugin(
    plugin_type: str, name: str, schema: Callable[[], dict[str, Any]]
) -> None:
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    plugin = next(p for p in project["plugins"][plugin_type] if p["name"] == name)
    declared = {s["name"]: bool(s.get("sensitive", False)) for s in plugin["settings"]}
    properties = schema()["properties"]
    assert set(declared) == set(properties)
    for setting, sensitive in declared.items():
        assert sensitive == bool(properties[setting].get("secret", False)), setting


def test_meltano_declares_the_duckdb_loader_as_it_is() -> None:
    """The embedded warehouse plugin is this repository's target-duckdb-afas, every setting
    its --about lists declared (SDK built-ins included), nothing more."""
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    plugin = next(p for p in project["plugins"]["loaders"] if p["name"] == "target-duckdb")
    about = _about("target_duckdb_afas")
    assert (plugin["executable"], plugin["pip_url"]) == ("target-duckdb-afas", "-e .[duckdb]")
    assert {s["name"] for s in plugin["settings"]} == set(about["settings"]["properties"])
    assert set(plugin["capabilities"]) == set(about["capabilities"]) - {"structured-logging"}


def test_readme_settings_tables_match_about() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "update_readme_settings.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
