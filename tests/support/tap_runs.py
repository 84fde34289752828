"""tap-afas run by a test against a sandbox: in-process, or as a command.

- ``run_tap``: ``TapAFAS`` in-process (stdout captured), returning the Singer messages, the
  records per stream, the last STATE and the log lines (``TapRun``); ``discover`` /
  ``discovery_error``: discovery only.
- ``run_tap_cli`` / ``start_tap_cli``: ``python -m tap_afas`` as a subprocess with config and
  state files in a folder.
- ``tap_config``: the config for a sandbox with its full demo token.
"""

from __future__ import annotations

import contextlib
import io
import json
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from afas_sandbox import RunningSandbox
from tap_afas.tap import TapAFAS
from tests.support.cli import CliRun, cli_env, run_cli, start_cli, write_json
from tests.support.plugin_runs import collect_logs, keep_signal_handlers
from tests.support.singer_messages import Message, parse_messages

TAP_COMMAND = (sys.executable, "-m", "tap_afas")

Row = dict[str, Any]


def tap_config(sandbox: RunningSandbox, **extra: Any) -> dict[str, Any]:
    """Tap config for ``sandbox`` with the full demo token, plus ``extra`` settings."""
    return {"api_url": sandbox.base_url, "token": sandbox.tokens.full.xml, **extra}


@dataclass(repr=False)
class TapRun:
    """What one tap run produced."""

    messages: list[Message]
    log: str = ""
    error: BaseException | None = None
    stdout: str = ""  # the output as written (the messages, as a target would read them)

    def __repr__(self) -> str:
        counts = Counter(m.get("stream") for m in self.messages if m.get("type") == "RECORD")
        return f"TapRun(records={dict(counts)}, error={self.error_text!r})"

    def records(self, stream: str) -> list[Row]:
        return [
            m["record"]
            for m in self.messages
            if m.get("type") == "RECORD" and m.get("stream") == stream
        ]

    @property
    def by_stream(self) -> dict[str, list[Row]]:
        out: dict[str, list[Row]] = {}
        for m in self.messages:
            if m.get("type") == "RECORD":
                out.setdefault(m["stream"], []).append(m["record"])
        return out

    @property
    def states(self) -> list[dict[str, Any]]:
        return [m["value"] for m in self.messages if m.get("type") == "STATE"]

    @property
    def state(self) -> dict[str, Any] | None:
        """The last STATE value (None without one)."""
        states = self.states
        return states[-1] if states else None

    @property
    def schemas(self) -> dict[str, Message]:
        return {m["stream"]: m for m in self.messages if m.get("type") == "SCHEMA"}

    @property
    def error_text(self) -> str:
        return "" if self.error is None else f"{type(self.error).__name__}: {self.error}"


def _plain(value: Any) -> Any:
    """State as plain JSON (a ``Decimal`` as text), the way a state file would hold it."""
    return json.loads(json.dumps(value, default=str))


def run_tap(
    config: Mapping[str, Any],
    state: Mapping[str, Any] | None = None,
    *,
    catalog: Mapping[str, Any] | None = None,
    before_sync: Callable[[TapAFAS], None] | None = None,
    expect_error: bool = False,
    clock: Callable[[], datetime] | None = None,
) -> TapRun:
    """Run ``TapAFAS`` in-process; discovery, then ``sync_all``.

    ``before_sync`` runs after discovery (the tap's constructor) and before the sync, e.g. to
    add sandbox faults that must hit the GetConnector pages and not the metainfo calls.
    ``clock`` is the tap's time now (default: the real time; see ``tests.support.clock``).
    With ``expect_error`` the exception is returned in ``TapRun.error`` (and one is required).
    """
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="utf-8", write_through=True)
    error: BaseException | None = None
    with collect_logs() as logs, keep_signal_handlers(), contextlib.redirect_stdout(out):
        try:
            tap = TapAFAS(
                config=dict(config),
                state=_plain(dict(state)) if state is not None else None,
                catalog=dict(catalog) if catalog is not None else None,
                parse_env_config=False,
                clock=clock,
            )
            if before_sync is not None:
                before_sync(tap)
            tap.sync_all()
        except Exception as exc:
            if not expect_error:
                raise
            error = exc
        finally:
            out.flush()
    text = raw.getvalue().decode("utf-8")
    run = TapRun(parse_messages(text), "\n".join(logs.lines), error, text)
    if expect_error:
        assert error is not None, "the tap was expected to fail but succeeded"
    return run


def discover(config: Mapping[str, Any]) -> dict[str, Any]:
    """The catalog the tap discovers (in-process)."""
    with keep_signal_handlers():
        tap = TapAFAS(config=dict(config), parse_env_config=False)
        catalog: dict[str, Any] = tap.catalog_dict
    return catalog


def discovery_error(config: Mapping[str, Any]) -> str:
    """The message of the error discovery raises (fails the test when there is none)."""
    with keep_signal_handlers():
        try:
            TapAFAS(config=dict(config), parse_env_config=False).catalog_dict  # noqa: B018
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
    pytest.fail("discovery was expected to fail but succeeded")


def tap_command(
    folder: Path, config: Mapping[str, Any], *args: str, state: Mapping[str, Any] | None = None
) -> list[str]:
    """``python -m tap_afas --config F [--state S] args`` with the files written in ``folder``."""
    command = [*TAP_COMMAND, "--config", str(write_json(folder, "config.json", dict(config)))]
    if state is not None:
        command += ["--state", str(write_json(folder, "state.json", _plain(dict(state))))]
    return [*command, *args]


def run_tap_cli(
    tmp_path: Path,
    config: Mapping[str, Any],
    *args: str,
    state: Mapping[str, Any] | None = None,
    log_level: str | None = None,
    timeout: float = 120,
) -> CliRun:
    """``python -m tap_afas --config ... [--state ...] args`` with files in ``tmp_path``."""
    levels = {"TAP_AFAS_LOGLEVEL": log_level} if log_level is not None else {}
    return run_cli(
        tap_command(tmp_path, config, *args, state=state),
        cwd=tmp_path,
        env=cli_env(**levels),
        timeout=timeout,
    )


def start_tap_cli(
    tmp_path: Path, config: Mapping[str, Any], *, state: Mapping[str, Any] | None = None
) -> subprocess.Popen[bytes]:
    """Start the tap as a subprocess with piped, unbuffered stdout (for kill tests)."""
    process: subprocess.Popen[bytes] = start_cli(
        tap_command(tmp_path, config, state=state),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    return process


@dataclass
class KilledRead:
    """What was read of a tap's stdout before it was killed (or ended)."""

    lines: list[str]
    committed: int  # lines up to and including the last STATE read
    killed: bool  # False: the tap ended before ``kill_at`` said so

    def kept(self) -> list[Message]:
        """The messages up to the last STATE: what a target was told is safe."""
        return parse_messages("".join(self.lines[: self.committed]))


def read_until_killed(
    process: subprocess.Popen[bytes], kill_at: Callable[[str], bool]
) -> KilledRead:
    """Read a tap's stdout line by line and ``kill -9`` it right after the first line for which
    ``kill_at`` is true, if it is still running then."""
    assert process.stdout is not None
    lines: list[str] = []
    committed = 0
    killed = False
    try:
        for raw in iter(process.stdout.readline, b""):
            line = raw.decode("utf-8")
            lines.append(line)
            if line.startswith('{"type":"STATE"'):
                committed = len(lines)
            if kill_at(line) and process.poll() is None:
                process.send_signal(signal.SIGKILL)
                killed = True
                break
    finally:
        if not killed:
            process.kill()
        process.wait(timeout=30)
        process.stdout.close()
    return KilledRead(lines, committed, killed)
