"""target-afas run by a test against a sandbox: in-process, or as a command.

- ``run_target``: ``TargetAFAS`` in-process; ``listen`` on the input, stdout (STATE lines) and
  every log line captured (``TargetRun``); an error is returned (``expect_error``) instead of
  raised.
- ``run_target_cli`` / ``start_target_cli``: ``.venv/bin/target-afas --config F`` as a
  subprocess, for exit codes, crashes and kills (``target_command`` for other ways to start it).
- ``target_config``: a config for the test's sandbox, with ``ledger_path`` and ``reject_file``
  inside the test's folder.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from afas_sandbox import RunningSandbox
from target_afas.target import TargetAFAS
from tests.support.cli import CliRun, console_script, run_cli, start_cli, write_json
from tests.support.plugin_runs import collect_logs, keep_signal_handlers
from tests.support.singer_messages import Message, json_lines, singer_text
from tests.support.target_outputs import summary_counts


def target_config(
    sandbox: RunningSandbox,
    tmp_path: Path,
    mappings: Mapping[str, Any],
    **extra: Any,
) -> dict[str, Any]:
    """Config for the test's sandbox (full token); ledger and reject file inside ``tmp_path``."""
    config: dict[str, Any] = {
        "api_url": sandbox.base_url,
        "token": sandbox.tokens.full.xml,
        "ledger_path": str(tmp_path / "ledger.sqlite3"),
        "reject_file": str(tmp_path / "rejects.jsonl"),
        "on_reject": "continue",
        "mappings": dict(mappings),
    }
    config.update(extra)
    return config


# --------------------------------------------------------------------------- running in-process


class _Stdout(io.StringIO):
    """stdout that tells ``on_line`` about every complete line the moment it is written."""

    def __init__(self, on_line: Callable[[str], None] | None) -> None:
        super().__init__()
        self.on_line = on_line
        self._partial = ""

    def write(self, text: str) -> int:
        written = super().write(text)
        if self.on_line is not None:
            self._partial += text
            *lines, self._partial = self._partial.split("\n")
            for line in lines:
                if line.strip():
                    self.on_line(line)
        return written


@dataclass(repr=False)
class TargetRun:
    """What one in-process target run produced."""

    stdout: str
    log_lines: list[str]
    error: BaseException | None = None

    def __repr__(self) -> str:
        return f"TargetRun(states={len(self.states)}, error={self.error_text!r})"

    @property
    def states(self) -> list[dict[str, Any]]:
        return json_lines(self.stdout)

    @property
    def log(self) -> str:
        return "\n".join(self.log_lines)

    @property
    def error_text(self) -> str:
        return "" if self.error is None else f"{type(self.error).__name__}: {self.error}"

    def summary(self, stream: str) -> dict[str, int]:
        return summary_counts(self.log_lines, stream)

    def warnings(self) -> list[str]:
        return [line for line in self.log_lines if line.startswith("WARNING")]

    def log_messages(self, level: str) -> list[str]:
        """The messages logged at ``level`` (``INFO``, ...), without the level and logger."""
        found = []
        for line in self.log_lines:
            parts = line.split(" ", 2)  # LEVEL logger message (see LogCollector)
            if len(parts) == 3 and parts[0] == level:
                found.append(parts[2])
        return found


def run_target(
    config: Mapping[str, Any],
    messages: Iterable[Message] | str,
    *,
    expect_error: bool = False,
    on_stdout_line: Callable[[str], None] | None = None,
) -> TargetRun:
    """Run ``TargetAFAS`` in-process on ``messages`` (or Singer text); stdout and logs captured.

    With ``expect_error`` the exception is returned in ``TargetRun.error`` (and one is
    required); otherwise it is raised.
    """
    text = messages if isinstance(messages, str) else singer_text(messages)
    out = _Stdout(on_stdout_line)
    error: BaseException | None = None
    target: TargetAFAS | None = None
    with collect_logs() as logs, keep_signal_handlers(), contextlib.redirect_stdout(out):
        try:
            target = TargetAFAS(config=dict(config), parse_env_config=False)
            target.listen(file_input=io.StringIO(text))
        except Exception as exc:
            if not expect_error:
                raise
            error = exc
        finally:
            if target is not None:
                target.afas.ledger.close()
                target.afas.client.close()
    if expect_error:
        assert error is not None, "the target was expected to fail but succeeded"
    return TargetRun(out.getvalue(), list(logs.lines), error)


# --------------------------------------------------------------------------- running as a command


def target_command(folder: Path, config: Mapping[str, Any]) -> list[str]:
    """``target-afas --config F`` with the config file written in ``folder``."""
    config_file = write_json(folder, "target-config.json", dict(config))
    return [*console_script("target-afas"), "--config", str(config_file)]


def run_target_cli(
    tmp_path: Path, config: Mapping[str, Any], messages: Iterable[Message], timeout: float = 60
) -> CliRun:
    """``target-afas --config F < input`` with the config file in ``tmp_path``."""
    return run_cli(
        target_command(tmp_path, config),
        cwd=tmp_path,
        stdin=singer_text(messages),
        timeout=timeout,
    )


def start_target_cli(tmp_path: Path, config: Mapping[str, Any]) -> subprocess.Popen[str]:
    """The target as a subprocess reading a pipe (the test writes, and may kill it)."""
    process: subprocess.Popen[str] = start_cli(
        target_command(tmp_path, config),
        cwd=tmp_path,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    return process
