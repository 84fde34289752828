"""Reading and checking the JSON files a console script is given: config, state, catalog.

Every problem becomes one ``AFASConfigError`` sentence that names the file or the setting (its
path inside the file), says what is wrong and what to do. A secret setting's value is never
quoted, whatever its type; other values are quoted short. JSON Schema errors are described
here from the validator's error objects, never with jsonschema's own message text (which
prints the failing value, a token included).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from jsonschema.exceptions import best_match  # type: ignore[import-untyped]

from afas_profit.errors import AFASConfigError

MAX_SHOWN_CHARS = 60
JSON_TYPE_WORDS = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "an object",
    "null": "null",
}


def config_hint(name: str) -> str:
    return f"Fix it in the config file ('{name} --about' describes every setting)."


def read_config_files(paths: Sequence[str], name: str) -> dict[str, Any]:
    """The merged config files (later files win), each a JSON object."""
    config: dict[str, Any] = {}
    for path in paths:
        config.update(read_json_object(path, "--config file", config_hint(name)))
    return config


def read_json_object(path: str, what: str, hint: str) -> dict[str, Any]:
    file = Path(path)
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise AFASConfigError(f"The {what} {path!r} does not exist: check its path.") from None
    except IsADirectoryError:
        raise AFASConfigError(
            f"The {what} {path!r} is a folder: name the JSON file in it."
        ) from None
    except OSError as error:
        raise AFASConfigError(
            f"The {what} {path!r} cannot be read ({error.strerror}): check its permissions."
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise AFASConfigError(
            f"The {what} {file.name!r} is not UTF-8 text (byte {error.start}): save it as UTF-8 "
            "JSON."
        ) from None
    return parse_json_object(text, f"{what} {file.name!r}", hint)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_json_object(text: str, what: str, hint: str) -> dict[str, Any]:
    """``text`` as a JSON object (numbers with a fraction as ``Decimal``, like singer-sdk)."""
    try:
        value = json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise AFASConfigError(
            f"The {what} is not JSON ({error.msg}: line {error.lineno}, column {error.colno}). "
            f"{hint}"
        ) from None
    except ValueError as error:
        raise AFASConfigError(f"The {what} is not JSON ({error}). {hint}") from None
    if not isinstance(value, dict):
        raise AFASConfigError(
            f"The {what} holds {type_word(value)}, not a JSON object ({{...}}). {hint}"
        )
    return value


def unwritable_reason(path: Path, *, folder: bool) -> str | None:
    """Why ``path`` (a file, or a folder when ``folder``) cannot be created or written; None
    when it can. Nothing is created: a refused run leaves no trace."""
    if path.exists():
        if folder != path.is_dir():
            return "it is a folder, not a file" if path.is_dir() else "it is a file, not a folder"
        if not os.access(path, os.W_OK | (os.X_OK if folder else 0)):
            return "this user may not write it"
        return None
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        return f"{str(parent)!r} is a file, so no folder can be made in it"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"this user may not create anything in {str(parent)!r}"
    return None


# --------------------------------------------------------------------------- JSON Schema


def check_config(config: Mapping[str, Any], schema: Mapping[str, Any], hint: str) -> None:
    """Refuse a config that its JSON Schema does not allow, naming the setting."""
    secrets = {k for k, v in schema.get("properties", {}).items() if _is_secret(v)}
    check_against(config, schema, "Setting", hint, secrets)


def _is_secret(spec: Any) -> bool:
    return isinstance(spec, Mapping) and bool(spec.get("secret") or spec.get("writeOnly"))


def check_against(
    value: Any,
    schema: Mapping[str, Any],
    subject: str,
    hint: str,
    secrets: Iterable[str] = (),
) -> None:
    """Raise ``AFASConfigError`` for the most relevant way ``value`` breaks ``schema``.

    ``subject`` starts the sentence ("Setting", "--state file: "); ``secrets`` are top-level
    keys whose values must never be shown.
    """
    error = best_match(Draft202012Validator(dict(schema)).iter_errors(value))
    if error is None:
        return
    path = list(error.absolute_path)
    secret = bool(path) and path[0] in set(secrets)
    raise AFASConfigError(f"{_sentence(error, subject, path, secret)} {hint}".strip())


def where(path: Sequence[Any]) -> str:
    """``['filters', 'Profit_X', 0, 'field']`` → ``filters.Profit_X[0].field``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _sentence(error: Any, subject: str, path: list[Any], secret: bool) -> str:
    kind = error.validator
    rule = error.validator_value
    instance = error.instance
    name = f"{subject} {where(path)!r}" if path else subject
    shown = "(not shown: it is secret)" if secret else _shown(instance)
    if kind == "required":
        missing = next((k for k in rule if k not in instance), rule[0])
        if not path:
            return f"{subject} {missing!r} is required."
        return f"{name} needs {missing!r}."
    if kind == "type":
        kinds = [rule] if isinstance(rule, str) else list(rule)
        wanted = " or ".join(JSON_TYPE_WORDS.get(k, k) for k in kinds)
        got = type_word(instance)
        if secret:
            return f"{name} must be {wanted}, not {got} (the value is not shown: it is secret)."
        return f"{name} must be {wanted}, not {got} ({shown})."
    if kind == "enum":
        choices = ", ".join(str(c) for c in rule if c is not None)
        return f"{name} is {shown}; use one of: {choices}."
    if kind in ("minimum", "exclusiveMinimum"):
        return f"{name} is {shown}, below its minimum of {rule}."
    if kind in ("maximum", "exclusiveMaximum"):
        return f"{name} is {shown}, above its maximum of {rule}."
    if kind == "minLength":
        return f"{name} is empty." if rule == 1 else f"{name} is shorter than {rule} characters."
    if kind == "pattern":
        return f"{name} is {shown}, which is not in the expected form."
    if kind == "additionalProperties":
        extra = sorted(k for k in instance if k not in error.schema.get("properties", {}))
        return f"{name} has unknown key(s): {', '.join(extra)}."
    return f"{name} is {shown}, which its schema does not allow ({kind})."


def type_word(value: Any) -> str:
    """A JSON value's type in words: 'a string', 'a list', 'null', ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, (float, Decimal)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _shown(value: Any) -> str:
    if isinstance(value, str):
        text = repr(value)
    elif isinstance(value, Decimal):
        text = str(value)
    else:
        text = json.dumps(value, default=str)
    return text if len(text) <= MAX_SHOWN_CHARS else text[: MAX_SHOWN_CHARS - 1] + "…"
