"""The console scripts' runner: every failure ends with one ERROR line and exit status 1.

``run_console(plugin, checks)`` runs a plugin's click command (tap-afas, target-afas and
target-duckdb-afas all use it: they ship in one distribution and should fail alike). Before the
SDK sees them it reads and checks the ``--config`` files, and the tap's ``--state`` and
``--catalog`` files (``tap_afas.input_files``), so a bad value is refused before discovery, the
first request, or the first file written. Whatever then stops the run is reported here, once:
a message that says what is wrong and what to do (``AFASError`` messages are written that way;
singer-sdk's and click's errors are described here), the traceback only at DEBUG.

While the plugin runs, a filter on the console log handlers (installed by ``main()`` only, never
on import or in-process use):

- drops singer-sdk's own ERROR records, unless the level is DEBUG: each one comes just before
  the exception that ends the run (it is raised right after), which is reported here instead,
  so the error is not told twice (or with a whole input line, which may hold a record);
- removes tracebacks from records below DEBUG level;
- replaces every form of the token (as found in the config, whatever its type) with
  ``<redacted>``, at every level.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import io
import logging
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, NoReturn

import click
import singer_sdk
from singer_sdk.exceptions import (
    FatalAPIError,
    InvalidRecord,
    RecordsWithoutSchemaException,
    RetriableAPIError,
)
from singer_sdk.plugin_base import PluginBase

from afas_profit.errors import AFASConfigError, AFASError, redact
from afas_profit.token import parse_token
from tap_afas.input_files import check_config, config_hint, read_config_files
from tap_afas.singer_input import SingerInputError, input_explanation

SDK_FOLDER = os.path.dirname(singer_sdk.__file__) + os.sep
MAX_QUOTED_CHARS = 300
MIN_SECRET_CHARS = 8


@dataclass(frozen=True)
class ConsoleChecks:
    """What a plugin checks before it starts, each raising ``AFASConfigError``.

    ``settings`` gets the schema-valid config (typically ``XSettings.from_config`` plus checks
    of the paths it names); ``state`` / ``catalog`` get the text of the ``--state`` /
    ``--catalog`` file.
    """

    settings: Callable[[Mapping[str, Any]], object]
    state: Callable[[str], None] | None = None
    catalog: Callable[[str], None] | None = None


class ConsolePolicy(logging.Filter):
    """The console handlers' filter (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: tuple[str, ...] = ()

    def add_secrets(self, value: object) -> None:
        """Remember every string in ``value`` (any JSON shape) and its token encodings."""
        found = set(self.secrets)
        for text in _strings(value):
            found.add(text)
            found.add(text.strip())
            with contextlib.suppress(AFASConfigError):
                found.update(parse_token(text).secrets)
        found.update({s.lower() for s in found} | {s.upper() for s in found})
        kept = (s for s in found if len(s) >= MIN_SECRET_CHARS)
        self.secrets = tuple(sorted(kept, key=len, reverse=True))

    def filter(self, record: logging.LogRecord) -> bool:
        debug = logging.getLogger().isEnabledFor(logging.DEBUG)
        if not debug:
            if record.levelno >= logging.ERROR and record.pathname.startswith(SDK_FOLDER):
                return False
            record.exc_info = None
            record.exc_text = None
            record.stack_info = None
        if self.secrets:
            try:
                message = record.getMessage()
            except Exception:  # a broken log call: let the handler report it as usual
                return True
            clean = redact(message, self.secrets)
            if clean != message:
                record.msg, record.args = clean, None
            if record.exc_info:
                text = logging.Formatter().formatException(record.exc_info)
                record.exc_text = redact(text, self.secrets)
        return True


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)
    elif value is not None and not isinstance(value, bool):
        yield str(value)


def run_console(
    plugin: type[PluginBase],
    checks: ConsoleChecks,
    known: tuple[type[BaseException], ...] = (),
) -> None:
    """Run ``plugin``'s command line; any failure ends with one ERROR line and exit status 1.

    ``known``: the plugin's own errors whose message already says what is wrong and what to do.

    The objects of the modules imported so far (tens of thousands: singer-sdk, SQLAlchemy,
    ...) are moved out of the garbage collector's reach (``gc.freeze``): they live until the
    process ends anyway, and every full collection, the last one at exit included, would walk
    them again (about 0.1 s per run).
    """
    gc.freeze()
    command = plugin.cli  # also sets up the SDK's console logging
    policy = ConsolePolicy()
    for handler in logging.getLogger().handlers:
        handler.addFilter(policy)
    policy.add_secrets(os.environ.get(f"{plugin.name.upper().replace('-', '_')}_TOKEN"))
    files = _check_before_start(command, plugin, checks, policy)
    logger = logging.getLogger(plugin.name)
    try:
        result = command.main(standalone_mode=False)
    except click.ClickException as error:
        text = error.format_message().strip()
        end = "" if text.endswith((".", "?", "!")) else "."
        _stop(logger, f"{text}{end} Run '{plugin.name} --help' for the options.")
    except click.Abort:
        _stop(logger, f"{plugin.name} was interrupted; run it again to finish.")
    except Exception as error:  # every failure ends with one line (traceback at DEBUG)
        _stop(logger, describe(error, plugin.name, known))
    if result == 1:
        # singer-sdk's own config check failed: without --config, or with --config ENV (the
        # SDK merges the variables after the checks here); its details are at DEBUG.
        if not files.given:
            _stop(logger, f"No --config file given: {plugin.name} needs one. {_about(plugin)}")
        _stop(
            logger,
            f"The configuration does not match {plugin.name}'s settings: run again with "
            f"{_level_variable(plugin.name)}=DEBUG to see which setting, and fix it. "
            f"{_about(plugin)}",
        )
    if isinstance(result, int) and result != 0:
        raise SystemExit(result)


def _about(plugin: type[PluginBase]) -> str:
    return f"('{plugin.name} --about' describes every setting.)"


def _stop(logger: logging.Logger, message: str) -> NoReturn:
    logger.error("%s", " ".join(message.split()))
    if sys.exc_info()[0] is not None:
        logger.debug("Traceback of the error above", exc_info=True)
    raise SystemExit(1)


def _level_variable(name: str) -> str:
    return f"{name.upper().replace('-', '_')}_LOGLEVEL"


def describe(error: BaseException, name: str, known: tuple[type[BaseException], ...] = ()) -> str:
    """One line for an error that stopped the run: what is wrong and what to do."""
    explained = input_explanation(error)
    if explained is not None:
        return explained
    if isinstance(error, (AFASError, SingerInputError, FatalAPIError, RetriableAPIError, *known)):
        return str(error)
    if isinstance(error, RecordsWithoutSchemaException):
        return f"{error} Send each stream's SCHEMA message before its records."
    if isinstance(error, InvalidRecord):
        return (
            f"A record does not match its stream's schema: {_quoted(error.error_message)}. "
            "Fix the record or the SCHEMA message the tap sends."
        )
    if isinstance(error, OSError) and error.errno == errno.EPIPE:
        return (
            f"{name} could not write its output: the program reading it stopped first; "
            "see that program's log."
        )
    return (
        f"{name} stopped on an unexpected error ({type(error).__name__}: {_quoted(str(error))}). "
        f"Run again with {_level_variable(name)}=DEBUG to see where, and report it."
    )


def _quoted(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_QUOTED_CHARS else text[:MAX_QUOTED_CHARS] + "…"


# --------------------------------------------------------------------------- checks first


@dataclass
class _ConfigFiles:
    given: bool = False


def _check_before_start(
    command: click.Command, plugin: type[PluginBase], checks: ConsoleChecks, policy: ConsolePolicy
) -> _ConfigFiles:
    """Wrap the ``--config`` (and ``--state`` / ``--catalog``) option callbacks: each file is
    read and checked (or the run refused) before the SDK uses it."""
    files = _ConfigFiles()
    for param in command.params:
        if param.name == "config":
            param.callback = _config_callback(param.callback, plugin, checks, policy, files)
        elif param.name == "state" and checks.state is not None:
            param.callback = _stream_file_callback(param.callback, "--state", checks.state)
        elif param.name == "catalog" and checks.catalog is not None:
            param.callback = _stream_file_callback(param.callback, "--catalog", checks.catalog)
    return files


ParamCallback = Callable[[click.Context, click.Parameter, Any], Any]


def _config_callback(
    original: ParamCallback | None,
    plugin: type[PluginBase],
    checks: ConsoleChecks,
    policy: ConsolePolicy,
    files: _ConfigFiles,
) -> ParamCallback:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        paths = [str(v) for v in value or ()]
        files.given = bool(paths)
        config = read_config_files([p for p in paths if p != "ENV"], plugin.name)
        policy.add_secrets(config.get("token"))
        # Without files there is nothing to check (--about, --help); with ENV the SDK merges
        # the variables, and checks them, later.
        if paths and "ENV" not in paths:
            schema = dict(plugin.config_jsonschema)
            plugin.append_builtin_config(schema)
            check_config(config, schema, config_hint(plugin.name))
            checks.settings(config)
        return original(ctx, param, value) if original is not None else value

    return callback


def _stream_file_callback(
    original: ParamCallback | None, option: str, check: Callable[[str], None]
) -> ParamCallback:
    def callback(ctx: click.Context, param: click.Parameter, value: IO[str] | None) -> Any:
        if value is not None:
            text = _read(value, option, str(getattr(value, "name", option)))
            check(text)
            value = io.StringIO(text)
        return original(ctx, param, value) if original is not None else value

    return callback


def _read(file: IO[str], option: str, name: str) -> str:
    try:
        return file.read()
    except UnicodeDecodeError as error:
        raise AFASConfigError(
            f"The {option} file {Path(name).name!r} is not UTF-8 text (byte {error.start}): "
            "save it as UTF-8 JSON."
        ) from None
