"""Parse an UpdateConnector body into validated Elements, checking it against the metainfo.

Accepted shapes (afas-rest-api.md section 6.2): ``Element`` as an object or an array;
``Objects`` as a map or a list of single-key maps; ``@Action`` inside ``Fields`` (or, as an
older AFAS document had it, on the Element); ``@``-prefixed key attributes. Checks: unknown
fields and objects, mandatory fields on insert, types, lengths, code-table values, ``notzero``.
Numbers arrive as ``Decimal`` (numbers.py): a decimal is kept exactly, or refused when it has
more digits or places than its field's metainfo allows; it is never rounded.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from afas_sandbox.messages import message
from afas_sandbox.model import CONTROL_DATETIME, UpdateConnectorDef, UpdateField, UpdateObjectDef
from afas_sandbox.responses import ERROR_VALUE_DOES_NOT_EXIST
from afas_sandbox.updates.numbers import (
    INT64_MAX,
    INT64_MIN,
    MAX_DECIMAL_DIGITS,
    MAX_INT_DIGITS,
    decimal_text,
    size_of,
)
from afas_sandbox.updates.writer import Element, UpdateRejectedError

ACTIONS = ("insert", "update", "delete")
_INT = re.compile(r"-?[0-9]+")
_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?|-?\.[0-9]+")
MAX_SHOWN_CHARS = 50
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?Z?)?")
_KINDS = {
    "int": ("integer", "geheel getal"),
    "decimal": ("number", "getal"),
    "boolean": ("boolean", "ja/nee-waarde"),
    "date": ("date", "datum"),
    "blob": ("base64 file", "base64-bestand"),
    "string": ("text", "tekst"),
}


class Validator:
    """Validates one request body in one language."""

    def __init__(self, language: str) -> None:
        self.language = language

    def reject(
        self, message_key: str, number: int | None = None, /, **values: Any
    ) -> UpdateRejectedError:
        return UpdateRejectedError(message(message_key, self.language, **values), number)

    def parse_body(
        self,
        connector: UpdateConnectorDef,
        body: Any,
        action: str,
        *,
        insert_into: str | None = None,
    ) -> list[Element]:
        """The body's root elements with ``action`` (unless ``@Action`` says otherwise).

        ``insert_into`` names the root's sub-object of a sub-object URL: its elements are
        inserted (each root element must hold at least one), the rest inherits ``action``.
        """
        root = connector.root
        if not isinstance(body, dict) or root.name not in body:
            found = ", ".join(f"'{k}'" for k in body) if isinstance(body, dict) else "no object"
            raise self.reject("wrong_root", expected=root.name, found=found or "nothing")
        if insert_into is not None and root.object(insert_into) is None:
            raise self.reject("unknown_object", name=insert_into, object=root.name)
        elements = self._elements(root, body[root.name], action, insert_into)
        if insert_into is not None and not all(e.objects.get(insert_into) for e in elements):
            raise self.reject("no_element", object=insert_into)
        return elements

    def _elements(
        self, obj: UpdateObjectDef, container: Any, action: str, insert_into: str | None = None
    ) -> list[Element]:
        if not isinstance(container, dict) or "Element" not in container:
            raise self.reject("no_element", object=obj.name)
        raw = container["Element"]
        raws = raw if isinstance(raw, list) else [raw]
        if not raws:
            raise self.reject("no_element", object=obj.name)
        return [self._element(obj, item, action, insert_into) for item in raws]

    def _element(
        self, obj: UpdateObjectDef, raw: Any, inherited: str, insert_into: str | None = None
    ) -> Element:
        if not isinstance(raw, dict):
            raise self.reject("no_element", object=obj.name)
        element = Element(obj=obj)
        action: Any = None
        for name, value in raw.items():
            if name in ("Fields", "Objects"):
                continue
            if name == "@Action":
                action = value
                continue
            field = obj.field(name[1:]) if name.startswith("@") else None
            if field is None:
                raise self.reject("unknown_field", field=name, object=obj.name)
            element.keys[field.field_id] = self.coerce(obj, field, value)
        fields = raw.get("Fields") or {}
        if not isinstance(fields, dict):
            raise self.reject("unknown_field", field="Fields", object=obj.name)
        for name, value in fields.items():
            if name == "@Action":
                action = value
                continue
            field = obj.field(name)
            if field is None:
                raise self.reject("unknown_field", field=name, object=obj.name)
            element.fields[name] = self.coerce(obj, field, value)
        element.action = self._action(obj, action, inherited)
        for sub_name, container in self._object_items(obj, raw.get("Objects")):
            sub = obj.object(sub_name)
            if sub is None:
                raise self.reject("unknown_object", name=sub_name, object=obj.name)
            sub_action = "insert" if sub_name == insert_into else element.action
            nested = self._elements(sub, container, sub_action)
            element.objects.setdefault(sub_name, []).extend(nested)
        for field in obj.fields:
            if not field.mandatory or element.value(field.field_id) is not None:
                continue
            # Missing on insert, or cleared with "" on any action.
            if element.action == "insert" or element.has(field.field_id):
                raise self.reject(
                    "mandatory", label=field.label, field=field.field_id, object=obj.name
                )
        return element

    def _action(self, obj: UpdateObjectDef, action: Any, inherited: str) -> str:
        if action is None:
            return inherited
        if not isinstance(action, str) or action.lower() not in ACTIONS:
            raise self.reject("bad_action", action=action, object=obj.name)
        return action.lower()

    def _object_items(self, obj: UpdateObjectDef, objects: Any) -> list[tuple[str, Any]]:
        if objects is None:
            return []
        if isinstance(objects, dict):
            return list(objects.items())
        if isinstance(objects, list) and all(isinstance(o, dict) for o in objects):
            return [item for o in objects for item in o.items()]
        raise self.reject("unknown_object", name="Objects", object=obj.name)

    def coerce(self, obj: UpdateObjectDef, field: UpdateField, value: Any) -> Any:
        """Check one value against its field and return it in the stored representation."""
        if value is None or value == "":
            return None  # an explicit clear
        stored = self._typed(obj, field, value)
        if field.values is not None:
            code = str(stored)
            if code not in {c for c, _ in field.values}:
                raise self.reject("not_exist", ERROR_VALUE_DOES_NOT_EXIST, label=field.label)
        numeric = field.data_type in ("int", "decimal")
        if field.notzero and numeric and Decimal(stored) == 0:
            raise self.reject("not_zero", label=field.label, field=field.field_id, object=obj.name)
        return stored

    def _typed(self, obj: UpdateObjectDef, field: UpdateField, value: Any) -> Any:
        kind = field.data_type
        text = value if isinstance(value, str) else None
        if kind == "int":
            number = _number(value, _INT)
            if number is not None and number == number.to_integral_value():
                return self._integer(obj, field, number)
        elif kind == "decimal":
            number = _number(value, _DECIMAL)
            if number is not None:
                return self._decimal(obj, field, number)
        elif kind == "boolean":
            if isinstance(value, bool):
                return int(value)
            if isinstance(value, Decimal) and value in (0, 1):
                return int(value == 1)
            if text is not None and text.lower() in ("true", "false", "1", "0"):
                return int(text.lower() in ("true", "1"))
        elif kind == "date":
            stored = _date(text, field) if text is not None else None
            if stored is not None:
                return stored
        elif kind == "blob":
            if text is not None and _is_base64(text):
                return text
        else:
            if (
                isinstance(value, (str, int, Decimal))
                and not isinstance(value, bool)
                and (not isinstance(value, Decimal) or value.is_finite())
            ):
                result = str(value)
                if field.length and len(result) > field.length:
                    raise self.reject(
                        "too_long",
                        label=field.label,
                        field=field.field_id,
                        object=obj.name,
                        length=field.length,
                    )
                return result
        english, dutch = _KINDS[kind]
        raise self.reject(
            "bad_type",
            value=_shown(value),
            kind=dutch if self.language == "nl" else english,
            label=field.label,
            field=field.field_id,
            object=obj.name,
        )

    def _integer(self, obj: UpdateObjectDef, field: UpdateField, number: Decimal) -> int:
        """A whole number of at most ``length`` digits that fits SQLite's INTEGER."""
        limit = min(field.length or MAX_INT_DIGITS, MAX_INT_DIGITS + 1)
        if size_of(number).integer_digits > limit or not INT64_MIN <= int(number) <= INT64_MAX:
            raise self._too_large(obj, field, number, limit)
        return int(number)

    def _decimal(self, obj: UpdateObjectDef, field: UpdateField, number: Decimal) -> str:
        """The exact text of ``number`` with the field's places, or a refusal (never rounded)."""
        decimals = max(field.decimals, 0)
        length = field.length or MAX_DECIMAL_DIGITS
        size = size_of(number)
        if size.places > decimals:
            raise self.reject(
                "too_many_places",
                value=_shown(number),
                decimals=decimals,
                label=field.label,
                field=field.field_id,
                object=obj.name,
            )
        if size.integer_digits > length - decimals:
            raise self._too_large(obj, field, number, max(length - decimals, 0))
        return decimal_text(number, decimals)

    def _too_large(
        self, obj: UpdateObjectDef, field: UpdateField, number: Decimal, digits: int
    ) -> UpdateRejectedError:
        return self.reject(
            "too_many_digits",
            value=_shown(number),
            digits=digits,
            label=field.label,
            field=field.field_id,
            object=obj.name,
        )


def _number(value: Any, pattern: re.Pattern[str]) -> Decimal | None:
    """A finite number from a JSON number (a ``Decimal``, see numbers.py) or a numeric text."""
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, (int, float)):
        number = Decimal(value) if isinstance(value, int) else Decimal(str(value))
    elif isinstance(value, str) and pattern.fullmatch(value.strip()):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
    else:
        return None
    return number if number.is_finite() else None


def _shown(value: Any) -> str:
    """A value for a message: at most ``MAX_SHOWN_CHARS`` characters."""
    text = str(value)
    return text if len(text) <= MAX_SHOWN_CHARS else text[: MAX_SHOWN_CHARS - 3] + "..."


def _date(text: str, field: UpdateField) -> str | None:
    match = _DATE.fullmatch(text.strip())
    if match is None:
        return None
    year, month, day, hh, mm, ss = match.groups()
    try:
        date(int(year), int(month), int(day))
    except ValueError:
        return None
    if field.control_type == CONTROL_DATETIME:
        return f"{year}-{month}-{day}T{hh or '00'}:{mm or '00'}:{ss or '00'}"
    return f"{year}-{month}-{day}T00:00:00"


def _is_base64(text: str) -> bool:
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True
