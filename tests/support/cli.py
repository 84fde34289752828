"""Running a console script of this project as a subprocess, the way a user runs it.

- ``cli_env``: this process's environment without the plugins' own settings (``TAP_AFAS_*``,
  ``TARGET_AFAS_*``, ``TARGET_DUCKDB_AFAS_*``, ``LOGLEVEL``, ``SINGER_SDK_LOG_CONFIG``), so
  only what a test passes configures a run; output unbuffered.
- ``run_cli``: a command run to its end in a folder, stdin given, stdout/stderr kept
  (``CliRun``); ``start_cli``: the same started (``Popen``), for tests that pipe or kill.
- ``write_json``: a config / state file in the run's folder.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.singer_messages import Message, json_lines, parse_messages
from tests.support.target_outputs import summary_counts

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
PLUGIN_ENV_PREFIXES = ("TAP_AFAS_", "TARGET_AFAS_", "TARGET_DUCKDB_AFAS_")
DROPPED_VARIABLES = ("LOGLEVEL", "SINGER_SDK_LOG_CONFIG")


def console_script(name: str) -> list[str]:
    """The venv's console script ``name`` (``target-afas``, ...) as a command."""
    return [str(BIN / name)]


def cli_env(**variables: str) -> dict[str, str]:
    """The environment for a run: no plugin settings but ``variables``; unbuffered output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(PLUGIN_ENV_PREFIXES)}
    for name in DROPPED_VARIABLES:
        env.pop(name, None)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(variables)
    return env


def write_json(folder: Path, name: str, value: Any) -> Path:
    path = folder / name
    path.write_text(json.dumps(value, default=str), encoding="utf-8")
    return path


@dataclass
class CliRun:
    """What a finished command left: its exit status, stdout and stderr."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def messages(self) -> list[Message]:
        """A tap's output: the Singer messages (numbers as ``Decimal``)."""
        return parse_messages(self.stdout)

    def records(self, stream: str) -> list[dict[str, Any]]:
        """A tap's output: the records of ``stream``."""
        return [
            m["record"]
            for m in self.messages
            if m.get("type") == "RECORD" and m.get("stream") == stream
        ]

    @property
    def states(self) -> list[Any]:
        """A target's output: the STATE values it wrote."""
        return json_lines(self.stdout)

    def summary(self, stream: str) -> dict[str, int]:
        """target-afas's ``Summary <stream>: ...`` counts on stderr (fails when absent)."""
        return summary_counts(self.stderr.splitlines(), stream)


def run_cli(
    command: Sequence[str],
    *,
    cwd: Path,
    stdin: str | bytes = b"",
    env: Mapping[str, str] | None = None,
    timeout: float = 60,
) -> CliRun:
    """``command`` in ``cwd`` with ``stdin`` (text is sent as UTF-8), in ``cli_env()`` unless
    ``env`` is given; its output read as UTF-8 (a byte that is not: U+FFFD)."""
    done = subprocess.run(
        list(command),
        input=stdin.encode("utf-8") if isinstance(stdin, str) else stdin,
        capture_output=True,
        timeout=timeout,
        env=dict(env) if env is not None else cli_env(),
        cwd=cwd,
        check=False,
    )
    return CliRun(
        done.returncode,
        done.stdout.decode("utf-8", "replace"),
        done.stderr.decode("utf-8", "replace"),
    )


def start_cli(command: Sequence[str], *, cwd: Path, **streams: Any) -> subprocess.Popen[Any]:
    """``command`` started in ``cwd`` in ``cli_env()``; ``streams``: stdin/stdout/stderr/text."""
    return subprocess.Popen(list(command), env=cli_env(), cwd=cwd, **streams)
