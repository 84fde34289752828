"""tap_afas.early_metainfo: discovery's metainfo requests sent before singer-sdk loads.

Against the sandbox over HTTP: the requests leave when ``start`` is called (before any claim),
discovery takes them over without asking again, and nothing is sent for a command line or a
file the console would refuse (config, state and catalog are still checked before the first
request). Log lines of the early requests are held until discovery claims them.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from afas_sandbox import RunningSandbox
from tap_afas import early_metainfo
from tap_afas.settings import TapSettings
from tap_afas.tap import TapAFAS
from tests.support.recorders import RequestRecorder
from tests.support.tap_runs import run_tap_cli, tap_config

CONNECTOR = "Profit_Transactions"
METAINFO = {"/metainfo", f"/metainfo/get/{CONNECTOR}"}


@pytest.fixture
def config(afas_sandbox: RunningSandbox) -> dict[str, Any]:
    return tap_config(afas_sandbox, connectors=[CONNECTOR])


@pytest.fixture(autouse=True)
def nothing_left_over() -> Iterator[None]:
    """Each test claims what it started; a leftover would be taken by a later test's tap."""
    yield
    leftover = early_metainfo.claim(_settings({}), logging.getLogger("test"))
    assert leftover is None, "a test left early requests unclaimed"


def _settings(config: dict[str, Any]) -> TapSettings:
    base = {"api_url": "https://1.rest.afas.online/ProfitRestServices", "token": "AB" * 32}
    return TapSettings.from_config({**base, **config} if config else base)


def _write(folder: Path, name: str, value: Any) -> str:
    path = folder / name
    path.write_text(value if isinstance(value, str) else json.dumps(value), encoding="utf-8")
    return str(path)


def _paths(recorder: RequestRecorder) -> list[str]:
    return sorted(seen.relative for seen in recorder.snapshot())


def _wait_for(recorder: RequestRecorder, count: int) -> None:
    deadline = time.monotonic() + 10
    while len(recorder.snapshot()) < count:
        assert time.monotonic() < deadline, f"only {_paths(recorder)} arrived"
        time.sleep(0.01)


def test_sent_at_start_and_claimed_once(
    recorder: RequestRecorder, config: dict[str, Any], tmp_path: Path
) -> None:
    assert early_metainfo.start(["--config", _write(tmp_path, "config.json", config)])
    _wait_for(recorder, 2)  # both leave without anyone asking for the answers
    assert set(_paths(recorder)) == METAINFO
    requests = early_metainfo.claim(TapSettings.from_config(config), logging.getLogger("t"))
    assert requests is not None
    environment, infos = requests.answers()
    assert CONNECTOR in [c.id for c in environment.get_connectors]
    assert [info.id for info in infos] == [CONNECTOR]
    assert infos[0].fields, "the connector's fields came with its metainfo"
    assert len(recorder.snapshot()) == 2, "nothing was asked twice"
    assert early_metainfo.claim(TapSettings.from_config(config), logging.getLogger("t")) is None


def test_discovery_takes_them_over(
    recorder: RequestRecorder, config: dict[str, Any], tmp_path: Path
) -> None:
    argv = ["--discover", f"--config={_write(tmp_path, 'config.json', config)}"]
    assert early_metainfo.start(argv)
    streams = TapAFAS(config=config, parse_env_config=False).streams  # discovered on init
    assert list(streams) == ["profit_transactions"]
    assert sorted(_paths(recorder)) == sorted(METAINFO), "discovery asked nothing again"


def test_other_settings_ask_again(
    recorder: RequestRecorder, config: dict[str, Any], tmp_path: Path
) -> None:
    assert early_metainfo.start(["--config", _write(tmp_path, "config.json", config)])
    _wait_for(recorder, 2)
    other = {**config, "connectors": ["Profit_Persons"]}
    assert early_metainfo.claim(TapSettings.from_config(other), logging.getLogger("t")) is None
    streams = TapAFAS(config=other, parse_env_config=False).streams
    assert list(streams) == ["profit_persons"]
    assert _paths(recorder).count("/metainfo") == 2  # the early answers were not used


def test_files_from_several_options_are_merged(
    recorder: RequestRecorder, config: dict[str, Any], tmp_path: Path
) -> None:
    first = _write(tmp_path, "a.json", {k: v for k, v in config.items() if k != "connectors"})
    second = _write(tmp_path, "b.json", {"connectors": [CONNECTOR]})
    state = _write(tmp_path, "state.json", {"bookmarks": {}})
    catalog = _write(tmp_path, "catalog.json", {"streams": []})
    argv = ["--config", first, "--config", second, "--state", state, f"--catalog={catalog}"]
    assert early_metainfo.start(argv)
    requests = early_metainfo.claim(TapSettings.from_config(config), logging.getLogger("t"))
    assert requests is not None
    assert [info.id for info in requests.answers()[1]] == [CONNECTOR]


NOT_SENT: dict[str, Any] = {
    "no arguments": [],
    "--about": ["--about", "--config", "{config}"],
    "--help": ["--help"],
    "--test": ["--config", "{config}", "--test"],
    "--config without a path": ["--config"],
    "--config ENV": ["--config", "ENV"],
    "a missing config file": ["--config", "{folder}/missing.json"],
    "a config that is not JSON": ["--config", "{broken}"],
    "a stream_maps setting (singer-sdk's)": ["--config", "{stream_maps}"],
    "an unknown setting": ["--config", "{unknown}"],
    "a setting of the wrong type": ["--config", "{wrong_type}"],
    "a token that is no token": ["--config", "{bad_token}"],
    "a state file that is not JSON": ["--config", "{config}", "--state", "{broken}"],
    "a state with a broken bookmark": ["--config", "{config}", "--state", "{bad_state}"],
    "a missing state file": ["--config", "{config}", "--state", "{folder}/missing.json"],
    "a catalog that is not a catalog": ["--config", "{config}", "--catalog", "{bad_catalog}"],
}


@pytest.mark.parametrize("argv", NOT_SENT.values(), ids=NOT_SENT.keys())
def test_nothing_is_sent_for_what_the_console_refuses_or_does_not_discover(
    recorder: RequestRecorder, config: dict[str, Any], tmp_path: Path, argv: list[str]
) -> None:
    files = {
        "config": _write(tmp_path, "config.json", config),
        "broken": _write(tmp_path, "broken.json", '{"api_url": '),
        "stream_maps": _write(tmp_path, "maps.json", {**config, "stream_maps": {}}),
        "unknown": _write(tmp_path, "unknown.json", {**config, "connectorz": ["x"]}),
        "wrong_type": _write(tmp_path, "wrong.json", {**config, "page_size": "many"}),
        "bad_token": _write(tmp_path, "token.json", {**config, "token": "not a token"}),
        "bad_state": _write(
            tmp_path,
            "state.json",
            {"bookmarks": {"profit_transactions": {"replication_key_value": "yesterday"}}},
        ),
        "bad_catalog": _write(tmp_path, "catalog.json", {"streams": "all"}),
        "folder": str(tmp_path),
    }
    assert not early_metainfo.start([arg.format(**files) for arg in argv])
    time.sleep(0.3)
    assert recorder.snapshot() == []


def test_log_lines_of_early_requests_wait_for_the_tap_logger(
    afas_sandbox: RunningSandbox,
    recorder: RequestRecorder,
    config: dict[str, Any],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    afas_sandbox.faults.add(status=503, retry_after=0, times=1)  # one answer is retried
    caplog.set_level(logging.INFO)
    assert early_metainfo.start(["--config", _write(tmp_path, "config.json", config)])
    _wait_for(recorder, 3)
    time.sleep(0.1)
    assert [r for r in caplog.records if "retrying" in r.getMessage()] == []
    tap_logger = logging.getLogger("tap-afas")
    requests = early_metainfo.claim(TapSettings.from_config(config), tap_logger)
    assert requests is not None
    retries = [r for r in caplog.records if "retrying" in r.getMessage()]
    assert len(retries) == 1, caplog.text
    assert "attempt 1 of 6 failed" in retries[0].getMessage()
    assert requests.client.logger is tap_logger
    requests.answers()


def test_console_checks_the_state_before_any_request(
    recorder: RequestRecorder, config: dict[str, Any], tmp_path: Path
) -> None:
    """The console script (early requests included) refuses a broken state with nothing sent."""
    state = {"bookmarks": {"profit_transactions": {"replication_key_value": "yesterday"}}}
    run = run_tap_cli(tmp_path, config, state=state)
    assert run.returncode == 1
    assert "replication_key_value" in run.stderr
    assert recorder.snapshot() == []


def test_console_discovery_asks_each_metainfo_once(
    recorder: RequestRecorder, config: dict[str, Any], tmp_path: Path
) -> None:
    run = run_tap_cli(tmp_path, config, "--discover")
    assert run.returncode == 0, run.stderr
    assert [s["tap_stream_id"] for s in json.loads(run.stdout)["streams"]] == [
        "profit_transactions"
    ]
    assert sorted(_paths(recorder)) == sorted(METAINFO)
