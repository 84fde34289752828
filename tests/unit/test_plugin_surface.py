"""Unit layer: the plugins' public surface agrees with itself.

``--about``, the sample configs, meltano.yml (settings with their kinds, capabilities, settings
groups), the Meltano plugin definitions in plugins/, and the packaging (extras, upper bounds,
Python versions, constraints.txt) say the same thing.
"""

from __future__ import annotations

import json
import runpy
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from afas_sandbox.datasets import load_dataset
from tap_afas.settings import tap_config_schema
from target_afas.settings import target_config_schema
from target_duckdb_afas.target import TargetDuckDB

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest brings tomli on Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = [  # meltano.yml plugin -> the module whose --about describes it
    ("extractors", "tap-afas", "tap_afas"),
    ("loaders", "target-afas", "target_afas"),
    ("loaders", "target-duckdb", "target_duckdb_afas"),
]
SUPPORTED_PYTHONS = ["3.10", "3.11", "3.12", "3.13"]


def _project() -> dict[str, Any]:
    project: dict[str, Any] = yaml.safe_load((ROOT / "meltano.yml").read_text())
    return project


def _plugin(plugin_type: str, name: str) -> dict[str, Any]:
    plugin: dict[str, Any] = next(
        p for p in _project()["plugins"][plugin_type] if p["name"] == name
    )
    return plugin


def _pyproject() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)


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
    # As singer-sdk validates a config (Draft 7, the schema itself not re-checked: once a target
    # ran, the SDK's built-in settings in the class schema do not pass the 2020-12 metaschema).
    jsonschema.Draft7Validator(schema()).validate(config)


def _kind(schema: dict[str, Any]) -> str:
    """The Meltano setting kind for a JSON schema property."""
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else [t for t in types if t != "null"]
    if schema.get("enum"):
        return "options"
    if types == ["string"] and schema.get("format") in ("date-time", "date"):
        return "date_iso8601"
    return {"number": "decimal"}.get(types[0], types[0])


def _expected_settings(properties: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Setting name -> its schema; an object with declared parts is declared by its parts."""
    expected = {}
    for name, schema in properties.items():
        if schema.get("properties"):
            for part, part_schema in schema["properties"].items():
                expected[f"{name}.{part}"] = part_schema
        else:
            expected[name] = schema
    return expected


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
    """Every setting is declared, objects by their parts (so Meltano sends no {part: null}),
    each with the kind of its schema type, and the secret ones as sensitive."""
    plugin = _plugin(plugin_type, name)
    declared = {s["name"]: s for s in plugin["settings"]}
    expected = _expected_settings(schema()["properties"])
    assert set(declared) == set(expected)
    for setting, schema_part in expected.items():
        assert declared[setting]["kind"] == _kind(schema_part), setting
        secret = bool(schema_part.get("secret", False))
        assert bool(declared[setting].get("sensitive", False)) == secret, setting


@pytest.mark.parametrize(("plugin_type", "name", "module"), PLUGINS)
def test_meltano_capabilities_are_what_about_reports(
    plugin_type: str, name: str, module: str
) -> None:
    """structured-logging included: without it Meltano shows a plugin's errors as [info]."""
    plugin = _plugin(plugin_type, name)
    assert sorted(plugin["capabilities"]) == sorted(_about(module)["capabilities"])


def test_meltano_settings_groups_are_the_ways_to_connect() -> None:
    """A token with an environment number (AFAS) or an API URL (afas-sandbox, a proxy)."""
    tap = _plugin("extractors", "tap-afas")
    target = _plugin("loaders", "target-afas")
    assert tap["settings_group_validation"] == [
        ["token", "environment_id"],
        ["token", "api_url"],
    ]
    assert target["settings_group_validation"] == [
        ["token", "environment_id", "mappings"],
        ["token", "api_url", "mappings"],
    ]
    for plugin, required in ((tap, tap_config_schema), (target, target_config_schema)):
        for group in plugin["settings_group_validation"]:
            assert set(required()["required"]) <= set(group)


def test_plugin_definitions_are_generated_from_meltano_yml() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "update_plugin_definitions.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for path in sorted((ROOT / "plugins").glob("*/*.yml")):
        definition = yaml.safe_load(path.read_text())
        requirement = Requirement(definition["pip_url"])  # PEP 508, one word for Meltano
        assert " " not in definition["pip_url"]
        assert requirement.name == "tap-afas"
        assert requirement.url is not None
        assert requirement.url.startswith("git+https://")


def test_sandbox_target_postgres_is_the_postgres_local_cluster() -> None:
    """`scripts/postgres_local start`, then `meltano run afas-to-postgres` as written."""
    script = runpy.run_path(str(ROOT / "scripts" / "postgres_local"), run_name="postgres_local")
    sandbox = next(e for e in _project()["environments"] if e["name"] == "sandbox")
    config = next(
        p["config"]
        for p in sandbox["config"]["plugins"]["loaders"]
        if p["name"] == "target-postgres"
    )
    assert config == {
        "host": "127.0.0.1",
        "port": script["DEFAULT_PORT"],
        "user": script["USER"],
        "password": script["PASSWORD"],
        "database": script["DATABASE"],
    }


def test_extras_hold_the_parts_that_need_them() -> None:
    """A plain `pip install tap-afas` gets the tap and target-afas only; the sandbox and the
    DuckDB loader come with their extra, and their console scripts check for it first."""
    project = _pyproject()["project"]
    core = {Requirement(r).name.lower() for r in project["dependencies"]}
    extras = {
        name: {Requirement(r).name.lower() for r in requirements}
        for name, requirements in project["optional-dependencies"].items()
    }
    assert not core & {"werkzeug", "cheroot", "faker", "pyyaml", "duckdb", "duckdb-engine"}
    assert {"werkzeug", "cheroot", "faker", "pyyaml"} <= extras["sandbox"]
    assert {"duckdb", "duckdb-engine", "sqlalchemy"} <= extras["duckdb"]
    assert project["scripts"]["afas-sandbox"] == "afas_extras:afas_sandbox"
    assert project["scripts"]["target-duckdb-afas"] == "afas_extras:target_duckdb_afas"


def test_fast_moving_dependencies_have_upper_bounds() -> None:
    project = _pyproject()["project"]
    requirements = [Requirement(r) for r in project["dependencies"]] + [
        Requirement(r)
        for name, group in project["optional-dependencies"].items()
        if name != "dev"
        for r in group
    ]
    unbounded = [
        str(r)
        for r in requirements
        if r.name != "tzdata"  # time zone data: newer is always right
        and not any(s.operator in ("<", "<=", "~=", "==") for s in r.specifier)
    ]
    assert unbounded == []
    singer_sdk = next(r for r in requirements if r.name == "singer-sdk")
    assert "0.55.0" not in singer_sdk.specifier  # the next minor is a deliberate upgrade


def test_classifiers_name_every_supported_python() -> None:
    project = _pyproject()["project"]
    listed = {
        c.rsplit(" :: ", 1)[1]
        for c in project["classifiers"]
        if c.startswith("Programming Language :: Python :: 3.")
    }
    assert sorted(listed) == SUPPORTED_PYTHONS
    assert SpecifierSet(project["requires-python"]).contains("3.10")


@pytest.mark.parametrize("python", SUPPORTED_PYTHONS)
def test_constraints_pin_what_pyproject_allows(python: str) -> None:
    """constraints.txt pins one version of every requirement of pyproject.toml for each
    supported Python, inside its range (else: run scripts/update_constraints)."""
    environment = {"python_version": python, "python_full_version": f"{python}.0"}
    pins: dict[str, str] = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if not line or line.startswith((" ", "#")):
            continue
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate(environment):
            pins[requirement.name.lower()] = next(iter(requirement.specifier)).version
    project = _pyproject()["project"]
    wanted = [Requirement(r) for r in project["dependencies"]] + [
        Requirement(r) for group in project["optional-dependencies"].values() for r in group
    ]
    stale = [
        f"{r} (pinned: {pins.get(r.name.lower())})"
        for r in wanted
        if r.name != "tap-afas"
        and (r.marker is None or Marker(str(r.marker)).evaluate(environment))
        and not (r.name.lower() in pins and r.specifier.contains(pins[r.name.lower()]))
    ]
    assert stale == [], "constraints.txt is stale: run scripts/update_constraints"


def test_meltano_declares_the_duckdb_loader_as_it_is() -> None:
    """The embedded warehouse plugin is this repository's target-duckdb-afas, every setting
    its --about lists declared (SDK built-ins included), nothing more."""
    plugin = _plugin("loaders", "target-duckdb")
    about = _about("target_duckdb_afas")
    assert (plugin["executable"], plugin["pip_url"]) == (
        "target-duckdb-afas",
        "-e .[duckdb] -c constraints.txt",
    )
    assert {s["name"] for s in plugin["settings"]} == set(about["settings"]["properties"])


def test_readme_settings_tables_match_about() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "update_readme_settings.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
