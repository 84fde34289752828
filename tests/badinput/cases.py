"""Bad-input layer: run a console script on one bad input and check how it refused it.

A ``Case`` is one bad input: a config file (a patch on the module's good config, or a whole
file's content), ``--state`` / ``--catalog`` files, command-line arguments, and for the targets
the Singer input. ``run_cases`` runs the selected cases of a test module as subprocesses of the
venv's console scripts, a few at a time in threads (each case in its own folder, against one
sandbox per module: a refused input changes nothing there). ``check_refused`` asserts what every
refusal must look like: exit status 1, every stderr line a log line, exactly one ERROR line that
names the problem, no traceback (except at DEBUG), nothing on stdout, no form of the token in
any output, and no file left behind.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from afas_sandbox import RunningSandbox
from tests.support.cli import cli_env, console_script, run_cli
from tests.support.singer_messages import singer_bytes

PARALLEL_RUNS = 4
RUN_TIMEOUT_SECONDS = 60
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \| (?P<level>[A-Z]+) *\| .*?\| ")
BLOCKER = "blocker.txt"  # a regular file in every case folder: a path under it cannot exist


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


MISSING = _Marker("MISSING")  # the file named on the command line does not exist
DROP = _Marker("DROP")  # in a Patch: remove this setting from the good config
A_FOLDER = _Marker("A_FOLDER")  # the file named on the command line is a folder
NOT_GIVEN = _Marker("NOT_GIVEN")  # the option is left off the command line


@dataclass(frozen=True)
class Raw:
    """A file's exact bytes (not JSON-encoded)."""

    data: bytes


@dataclass(frozen=True)
class Patch:
    """Settings merged into the module's good config (``DROP`` removes one)."""

    values: Mapping[str, Any]


@dataclass(frozen=True)
class Ctx:
    """What a case's dynamic values are computed from."""

    sandbox: RunningSandbox
    folder: Path

    @property
    def xml(self) -> str:
        return self.sandbox.tokens.full.xml

    @property
    def data(self) -> str:
        return self.sandbox.tokens.full.data

    @property
    def base64(self) -> str:
        return base64.b64encode(self.xml.encode("ascii")).decode("ascii")

    @property
    def under_file(self) -> str:
        """A path whose parent is a regular file: it can never be created."""
        return str(self.folder / BLOCKER / "sub" / "file")


Dynamic = Callable[[Ctx], Any]


def xml(ctx: Ctx) -> str:
    return ctx.xml


def data(ctx: Ctx) -> str:
    return ctx.data


def b64(ctx: Ctx) -> str:
    return ctx.base64


def under_file(ctx: Ctx) -> str:
    return ctx.under_file


def in_folder(name: str) -> Dynamic:
    return lambda ctx: str(ctx.folder / name)


@dataclass(frozen=True)
class Case:
    """One bad input. ``expect``: text the ERROR line must contain (case-insensitive)."""

    id: str
    expect: str
    config: Any = None  # None: the good config; Patch; or the config file's content
    args: tuple[str, ...] = ()
    state: Any = None  # None: no --state; else the file's content (MISSING: no such file)
    catalog: Any = None
    input: Any = None  # target input: None = the good input; a list of messages/lines; Raw
    level: str | None = None  # the log level variable (None: the default level)
    stage: str = "config"  # "config": refused before anything is opened; "input": while reading

    def __str__(self) -> str:
        return self.id


def params(cases: Sequence[Case]) -> list[Any]:
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    return [pytest.param(c, id=c.id) for c in cases]


def resolve(value: Any, ctx: Ctx) -> Any:
    if isinstance(value, (Raw, _Marker)):
        return value
    if callable(value):
        return resolve(value(ctx), ctx)
    if isinstance(value, Mapping):
        return {k: resolve(v, ctx) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [resolve(v, ctx) for v in value]
    return value


def file_bytes(value: Any) -> bytes:
    if isinstance(value, Raw):
        return value.data
    return json.dumps(value).encode("utf-8")


# --------------------------------------------------------------------------- running


@dataclass
class Run:
    case: Case
    returncode: int
    stdout: str
    stderr: str
    created: list[str]
    secrets: tuple[str, ...]
    folder: Path

    @property
    def error_lines(self) -> list[str]:
        return [
            line
            for line in self.stderr.splitlines()
            if (m := LOG_LINE.match(line)) and m.group("level") in ("ERROR", "CRITICAL")
        ]

    def __repr__(self) -> str:
        return f"Run({self.case.id}: exit {self.returncode})\n{self.stderr[-3000:]}"


@dataclass
class Script:
    """One console script and the module's good config and input for it."""

    name: str
    level_variable: str
    good_config: Callable[[Ctx], dict[str, Any]]
    good_input: Callable[[Ctx], list[Any]] | None = None
    extra_args: tuple[str, ...] = ()
    before: Callable[[Ctx], None] | None = field(default=None)


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def run_case(script: Script, case: Case, sandbox: RunningSandbox, folder: Path) -> Run:
    ctx = Ctx(sandbox, folder)
    (folder / BLOCKER).write_text("a regular file, not a folder\n", encoding="utf-8")
    args: list[str] = console_script(script.name)
    if case.config is None or isinstance(case.config, Patch):
        config: Any = script.good_config(ctx)
        for key, value in (case.config.values if case.config else {}).items():
            if value is DROP:
                config.pop(key, None)
            else:
                config[key] = value
    else:
        config = case.config
    for option, content in (
        ("--config", config),
        ("--state", case.state),
        ("--catalog", case.catalog),
    ):
        if content is None and option != "--config":
            continue
        path = folder / f"{option[2:]}.json"
        content = resolve(content, ctx)
        if content is NOT_GIVEN:
            continue
        if content is A_FOLDER:
            path.mkdir()
        elif content is not MISSING:
            path.write_bytes(file_bytes(content))
        args += [option, str(path)]
    args += [*script.extra_args, *case.args]
    stdin = b""
    if script.good_input is not None:
        messages = script.good_input(ctx) if case.input is None else resolve(case.input, ctx)
        stdin = messages.data if isinstance(messages, Raw) else singer_bytes(messages)
    if script.before is not None:
        script.before(ctx)
    before = _files(folder)
    levels = {script.level_variable: case.level} if case.level is not None else {}
    done = run_cli(
        args, cwd=folder, stdin=stdin, env=cli_env(**levels), timeout=RUN_TIMEOUT_SECONDS
    )
    secrets = (ctx.xml, ctx.data, ctx.data.lower(), ctx.base64)
    return Run(
        case,
        done.returncode,
        done.stdout,
        done.stderr,
        sorted(_files(folder) - before),
        secrets,
        folder,
    )


def selected_cases(request: pytest.FixtureRequest) -> list[Case]:
    """The cases of the requesting module that this pytest run selected."""
    chosen = []
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        if item.module is request.module and callspec is not None:
            case = callspec.params.get("case")
            if isinstance(case, Case):
                chosen.append(case)
    return chosen


def run_cases(
    script: Script, cases: Sequence[Case], sandbox: RunningSandbox, root: Path
) -> dict[str, Run]:
    """Run every case (``PARALLEL_RUNS`` at a time), each in its own folder under ``root``."""

    def one(case: Case) -> Run:
        folder = root / case.id
        folder.mkdir(parents=True)
        return run_case(script, case, sandbox, folder)

    with ThreadPoolExecutor(max_workers=PARALLEL_RUNS) as pool:
        return {run.case.id: run for run in pool.map(one, cases)}


# --------------------------------------------------------------------------- the checks


def check_refused(run: Run, allowed_files: Callable[[Run, str], bool] | None = None) -> None:
    """Exit 1, one ERROR line naming the problem, no traceback, no token, nothing written."""
    case = run.case
    output = run.stdout + run.stderr
    leaked = [i for i, secret in enumerate(run.secrets) if secret in output]
    assert not leaked, f"token form(s) {leaked} appear in the output of {run!r}"
    assert run.returncode == 1, run
    assert run.stdout == "", f"stdout of a refused run: {run.stdout[:500]!r}"
    errors = run.error_lines
    assert any(case.expect.lower() in line.lower() for line in errors), (
        f"no ERROR line mentions {case.expect!r}: {run!r}"
    )
    if case.level != "DEBUG":
        assert "Traceback" not in output, run
        assert len(errors) == 1, f"{len(errors)} ERROR lines: {run!r}"
        stray = [line for line in run.stderr.splitlines() if not LOG_LINE.match(line)]
        assert not stray, f"stderr lines that are not log lines: {stray[:5]} in {run!r}"
    left = [f for f in run.created if not (allowed_files and allowed_files(run, f))]
    assert not left, f"files left behind by a refused run: {left}"
