"""``RecordCheck``: what the fast lane (``lane.py``) checks of one stream's RECORD lines.

Built from the stream's JSON Schema and its table's column types, or ``None`` when a property
is not one the lane knows exactly: a plain type (``integer``, ``number``, ``string``,
``boolean``, with or without ``null``) in the column this loader makes of it,
``maxLength``/``minLength``, ``multipleOf`` (the column's places), ``format`` ``date`` and
``date-time``; no ``default`` (the validator fills it in) and no ``required`` property the
schema does not declare; singer-sdk's ``_sdc`` columns when the sink adds them (``METADATA``:
computed by the load; ``_sdc_deleted_at``: the record's). Per line (one msgspec decode, for
whole runs of lines at once): each value of the JSON type its schema allows (an integer is no
1.0, a number no "1.5", true no 1), each required and key property present and set, each number
property present, lengths, dates and date-times that are real days and times. Per batch
(``LaneFile``, DuckDB): number places, key spelling, the text form of dates and date-times.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import msgspec

from target_duckdb_afas.types import TIMESTAMPTZ, decimal_scale

ANNOTATIONS = frozenset(
    {
        "title",
        "description",
        "examples",
        "$comment",
        "readOnly",
        "writeOnly",
        "deprecated",
        "x-sql-datatype-properties",
        "multipleOf",
    }
)  # keywords that check nothing (multipleOf: the DECIMAL column's places, checked below); not
# "default": the validator fills it in
TOP_LEVEL = frozenset(
    {"type", "properties", "required", "additionalProperties", "$schema", "title", "description"}
)
# The text of a date or date-time the lane loads as it is: a value the decode took as a date
# or date-time (a real day and time, as singer-sdk would parse it) in the form every parser
# reads alike; DuckDB checks the form as it reads the batch (a value in another form, such as
# "2021-01-01t10:00:00z", sends the batch the SDK's way).
TEXT_FORMS = {
    "date": r"[0-9]{4}-[0-9]{2}-[0-9]{2}",
    "date-time": r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})?",
}

# After a key and its colon: a number with a digit other than 0 beyond the first %d places, or
# with an exponent.
MORE_PLACES = rb":\s*-?(?:[0-9]+\.[0-9]{%d}[0-9]*[1-9]|[0-9.]+[eE])"


# The _sdc columns singer-sdk fills in for every record (add_record_metadata, hard_delete): the
# load computes them (from the envelope, or one value for the batch), never from the record.
METADATA = (
    "_sdc_extracted_at",
    "_sdc_received_at",
    "_sdc_batched_at",
    "_sdc_sequence",
    "_sdc_table_version",
    "_sdc_sync_started_at",
)
DELETED_AT = "_sdc_deleted_at"  # a record's own: read from the record like any property


@dataclass(frozen=True)
class LaneBatch:
    """What DuckDB checks and computes as it loads a file of lane lines (``LaneFile.close``)."""

    texts: Mapping[str, str]  # property → the form its text must have
    # _sdc column → its value for the whole batch (SQL text), or, for _sdc_extracted_at and
    # _sdc_table_version, the envelope's time_extracted and version (None here)
    metadata: Mapping[str, str | None] = field(default_factory=dict)


class RecordCheck:
    """The typed decode of one stream's RECORD lines; ``build`` gives ``None`` when a property
    is not one the lane knows exactly.

    The decode checks the JSON types, required and key properties (and that every number
    property is there, null or not), lengths; the rest is checked per batch, where it costs
    nothing per line: a number must have no more places than its DECIMAL column keeps (a
    regular expression over the batch's text finds any value with more, or with an exponent,
    by its key as written: ``"AmountDebit":1.255``), and a date or date-time must be in
    ``TEXT_FORMS`` (DuckDB checks it as it reads the batch). So that no value escapes the
    places check, each number key must appear as written once per line (``key_counts``):
    unknown properties and envelope keys are refused by the decode, and a key cannot appear
    unescaped inside a string, so it can appear nowhere else.
    """

    def __init__(
        self,
        envelope: type,
        column_types: Mapping[str, str],
        texts: Mapping[str, str],
        decimals: Mapping[str, int],
        metadata: Sequence[str] = (),
        sync_started_at: int = 0,
    ) -> None:
        decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(envelope)
        # Decode a line (or whole lines): raise msgspec.ValidationError (or DecodeError) when
        # the lane may not take it (the batch checks follow in LaneFile).
        self.decode: Callable[[bytes], Any] = decoder.decode
        self.decode_lines: Callable[[bytes], Any] = decoder.decode_lines
        self.column_types = dict(column_types)  # the table's, when the check was built
        self.texts = dict(texts)
        self.decimals = dict(decimals)  # number property → its column's places
        self.metadata = tuple(metadata)  # the _sdc columns the load computes (METADATA)
        self.sync_started_at = sync_started_at  # the sink's (_sdc_sync_started_at)
        self._keys = {name: json.dumps(name, ensure_ascii=False).encode() for name in decimals}
        self._places = (
            re.compile(
                b"|".join(
                    re.escape(self._keys[name]) + MORE_PLACES % scale
                    for name, scale in decimals.items()
                )
            )
            if decimals
            else None
        )

    @classmethod
    def build(
        cls,
        stream: str,
        schema: Mapping[str, Any],
        column_types: Mapping[str, str],
        keys: Sequence[str],
        *,
        metadata: bool = False,
        sync_started_at: int = 0,
    ) -> RecordCheck | None:
        """The check for ``stream``'s records, whose table has ``column_types`` (by property);
        ``keys`` must be present and set. With ``metadata`` (the sink adds singer-sdk's _sdc
        columns) the METADATA properties are computed by the load and ``_sdc_deleted_at``
        is read from the record (``_sdc_sync_started_at`` is ``sync_started_at``); without
        it, or for any other _sdc property, ``None``."""
        if set(schema) - TOP_LEVEL or schema.get("type", "object") not in ("object", ["object"]):
            return None
        if schema.get("additionalProperties", True) not in (True, False):
            return None
        properties = schema.get("properties")
        if not isinstance(properties, Mapping) or not properties:
            return None
        required = set(schema.get("required") or ()) | set(keys)
        if required - set(properties):  # the validator refuses every record then
            return None
        fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
        rename: dict[str, str] = {}
        texts: dict[str, str] = {}
        decimals: dict[str, int] = {}
        computed: list[str] = []
        for n, (name, spec) in enumerate(properties.items()):
            if name not in column_types:
                return None
            if name.startswith("_sdc_"):
                if not metadata or (name not in METADATA and name != DELETED_AT):
                    return None
                if name in METADATA:
                    computed.append(name)
                    continue
            typed = _value_type(spec, column_types[name], nullable=name not in keys)
            if typed is None:
                return None
            value_type, check = typed
            if isinstance(check, int):
                decimals[name] = check
            elif check is not None:
                texts[name] = check
            field = f"f{n}"
            rename[field] = name
            present = name in required or isinstance(check, int)  # a number: see key_counts
            fields.append((field, value_type) if present else (field, value_type, None))
        fields.sort(key=len)  # required fields (no default) first, as a Struct needs
        # gc=False: no cycles, and a block of thousands of them sets off no collection.
        record = msgspec.defstruct(
            "Record", fields, rename=rename, forbid_unknown_fields=True, gc=False
        )
        envelope = msgspec.defstruct(
            "Envelope",
            [
                ("type", Literal["RECORD"]),
                ("stream", Literal[stream]),
                ("record", record),
                ("version", int | None, None),
                # a real time when it becomes _sdc_extracted_at (DuckDB checks its form)
                ("time_extracted", (dt.datetime if computed else str) | None, None),
            ],
            forbid_unknown_fields=True,
            gc=False,
        )
        columns = {n: column_types[n] for n in properties}
        return cls(envelope, columns, texts, decimals, computed, sync_started_at)

    def more_places(self, text: bytes) -> bool:
        """Whether whole lines ``text`` hold a number with more places than its column keeps,
        or with an exponent (the SDK's path loads their batch then)."""
        return self._places is not None and self._places.search(text) is not None

    def key_counts(self, text: bytes) -> dict[str, int]:
        """Per number property, how often whole lines ``text`` write its key as
        ``"<key>":``. Each line the decode took has each number property once, so a count
        below the number of lines means a key written otherwise (an escape, a space before
        the colon), which the places check would miss: the batch then takes the SDK's path."""
        return {name: text.count(key + b":") for name, key in self._keys.items()}


def _value_type(
    spec: Any, column_type: str, *, nullable: bool
) -> tuple[Any, int | str | None] | None:
    """The msgspec type that accepts exactly the values of ``spec`` the lane may load into a
    ``column_type`` column, with what the batch checks: the column's places (a number) or the
    text's form (a date or date-time); ``None``: not known."""
    if not isinstance(spec, Mapping):
        return None
    if set(spec) - ANNOTATIONS - {"type", "format", "maxLength", "minLength"}:
        return None
    kinds = spec.get("type")
    kinds = [kinds] if isinstance(kinds, str) else kinds
    if not isinstance(kinds, list):
        return None
    allowed = set(kinds)
    may_be_null = "null" in allowed and nullable
    allowed.discard("null")
    text_format = spec.get("format")
    if ("maxLength" in spec or "minLength" in spec or text_format) and allowed != {"string"}:
        return None
    value: Any
    check: int | str | None = None
    if allowed == {"integer"} and column_type == "BIGINT":
        value = int
    elif (
        allowed in ({"number"}, {"integer", "number"})
        and (scale := decimal_scale(column_type)) is not None
    ):
        value, check = int | float, scale
    elif allowed == {"boolean"} and column_type == "BOOLEAN":
        value = bool
    elif allowed == {"string"}:
        if text_format is None and column_type == "VARCHAR":
            lengths = {"max_length": spec.get("maxLength"), "min_length": spec.get("minLength")}
            given = {k: v for k, v in lengths.items() if v is not None}
            if any(not isinstance(v, int) or isinstance(v, bool) for v in given.values()):
                return None
            value = Annotated[str, msgspec.Meta(**given)] if given else str
        elif text_format == "date" and column_type == "DATE":
            value, check = dt.date, TEXT_FORMS[text_format]
        elif text_format == "date-time" and column_type in (TIMESTAMPTZ, "TIMESTAMP"):
            value, check = dt.datetime, TEXT_FORMS[text_format]
        else:
            return None
    else:
        return None
    return (value | None if may_be_null else value), check
