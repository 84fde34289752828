"""target-duckdb-afas's fast lane (lane.py) against singer-sdk's own path, as an oracle.

The lane loads a RECORD line written exactly ``{"type":"RECORD","stream":"<name>",...`` as it
came, when its stream and its record qualify; everything else takes singer-sdk's path. The
promise: for any input, the outcome is exactly the SDK path's. So every test here runs the
same messages twice, each time into a new database file, with a new ``TargetDuckDB``
in-process on the input's bytes (as the console script reads stdin):

- compact: the lines as given (RECORD lines of dict messages as ``singer_bytes`` writes them,
  which the lane takes);
- spaced: every line that starts ``{"type":"RECORD","stream":`` rewritten to start
  ``{"type": "RECORD", "stream": `` (the rest of the line byte for byte the same: numbers,
  escapes, duplicate keys), which never matches the lane's prefix and so takes the SDK path.

and compares what a user sees: every table's rows (every column, ordered), the column types,
the STATE lines written to stdout, and for a failing input the exception's type, message and
one-line explanation (``input_explanation``). It also checks that the lane took part in the
compact run (``target.message_reader.lane.taken``; for valid data, also that batches were
loaded as they are) and none in the spaced one, else an equal outcome proves nothing.

A few cases also run the console script both ways (exit status and ERROR line).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import random
import re
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import duckdb
import msgspec
import pytest

from tap_afas.singer_input import input_explanation
from target_duckdb_afas.connector import DuckDBConnector
from target_duckdb_afas.lane_file import LaneFile
from target_duckdb_afas.reader import LaneReader
from target_duckdb_afas.sink import DuckDBSink
from target_duckdb_afas.target import TargetDuckDB
from tests.support.cli import console_script, run_cli, write_json
from tests.support.plugin_runs import keep_signal_handlers
from tests.support.singer_messages import (
    Line,
    json_lines,
    record_message,
    schema_message,
    singer_bytes,
    state_message,
)

LANE_START = b'{"type":"RECORD","stream":'
SPACED_START = b'{"type": "RECORD", "stream": '
# _sdc columns whose values are the run's own times (compared by their type only)
RUN_DEPENDENT = {"_sdc_received_at", "_sdc_batched_at", "_sdc_sequence", "_sdc_sync_started_at"}
_ENCODE = msgspec.json.Encoder(decimal_format="number").encode

# --------------------------------------------------------------------------- the two runs


@dataclass
class Outcome:
    """What a user sees of one run."""

    tables: dict[str, list[tuple[Any, ...]]]  # table -> rows (ordered by every column)
    column_types: dict[str, dict[str, str]]
    states: list[Any]
    error: tuple[str, str, str | None] | None  # type, message, one-line explanation
    taken: int  # lines the lane took
    as_is: int = 0  # lines loaded by DuckDB as they came (batches not re-processed)

    def seen(self) -> dict[str, Any]:
        """Everything but the lane's own counters."""
        return {
            "tables": self.tables,
            "column_types": self.column_types,
            "states": self.states,
            "error": self.error,
        }


def _normalized(text: str) -> str:
    """An error text without what differs between two runs of the same input (temporary
    file names, the database's file name)."""
    text = re.sub(r"/[^\s'\"]*target-duckdb-afas-[^\s'\"]*", "<temp file>", text)
    return re.sub(r"(compact|spaced)\.duckdb", "<db>.duckdb", text)


def read_database(path: Path) -> tuple[dict[str, list[tuple[Any, ...]]], dict[str, dict[str, str]]]:
    if not path.exists():
        return {}, {}
    con = duckdb.connect(str(path), read_only=True)
    try:
        return read_connection(con)
    finally:
        con.close()


def read_connection(con: Any) -> tuple[dict[str, list[tuple[Any, ...]]], dict[str, dict[str, str]]]:
    tables: dict[str, list[tuple[Any, ...]]] = {}
    types: dict[str, dict[str, str]] = {}
    names = con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() ORDER BY ALL"
    ).fetchall()
    for schema, table in names:
        full = f'"{schema}"."{table}"'
        columns = con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [schema, table],
        ).fetchall()
        types[f"{schema}.{table}"] = {str(n): str(t) for n, t in columns}
        kept = ", ".join(f'"{n}"' for n, _ in columns if str(n) not in RUN_DEPENDENT)
        tables[f"{schema}.{table}"] = con.execute(
            f"SELECT {kept} FROM {full} ORDER BY ALL"
        ).fetchall()
    return tables, types


@contextlib.contextmanager
def lane_spy(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts the lines of every lane batch DuckDB loaded as they came."""
    loaded: list[int] = []
    original = DuckDBSink._load_lines

    def spy(self: DuckDBSink, file: LaneFile, batch: Any) -> bool:
        done = original(self, file, batch)
        if done:
            loaded.append(file.lines_held)
        return done

    with monkeypatch.context() as patch:
        patch.setattr(DuckDBSink, "_load_lines", spy)
        yield loaded


def run_target(
    path: Path,
    data: bytes,
    settings: dict[str, Any],
    *,
    lane: bool = True,
    runs_before: Sequence[bytes] = (),
) -> tuple[Outcome, TargetDuckDB | None]:
    """``TargetDuckDB`` in-process on ``data`` (bytes, as the console script reads stdin),
    after ``runs_before`` (earlier runs into the same file, which must succeed)."""
    for before in runs_before:
        outcome, _ = run_target(path, before, settings, lane=lane)
        assert outcome.error is None, outcome.error
    out = io.StringIO()
    target: TargetDuckDB | None = None
    error: tuple[str, str, str | None] | None = None
    config = {"path": str(path), **settings}
    with keep_signal_handlers(), contextlib.redirect_stdout(out):
        try:
            target = TargetDuckDB(config=config, parse_env_config=False, validate_config=True)
            if not lane:
                cast(LaneReader, target.message_reader).lane = None
            target.listen(file_input=cast(Any, io.BytesIO(data)))
        except Exception as exc:  # the outcome compared
            explanation = input_explanation(exc)
            error = (
                type(exc).__name__,
                _normalized(str(exc)),
                None if explanation is None else _normalized(explanation),
            )
        finally:
            if target is not None:
                cast(DuckDBConnector, target.target_connector).release()
    taken = 0
    if target is not None:
        reader = cast(LaneReader, target.message_reader)
        taken = reader.lane.taken if reader.lane is not None else 0
    tables, types = read_database(path) if str(path) != ":memory:" else ({}, {})
    return Outcome(tables, types, json_lines(out.getvalue()), error, taken), target


def spaced(data: bytes) -> bytes:
    """The input with every lane-looking RECORD line moved off the lane's prefix (the rest
    of each line unchanged)."""
    return b"".join(
        SPACED_START + line[len(LANE_START) :] if line.startswith(LANE_START) else line
        for line in data.splitlines(keepends=True)
    )


def encode(lines: Sequence[Line | bytes]) -> bytes:
    return singer_bytes(lines)


@dataclass
class Pair:
    lane: Outcome
    sdk: Outcome
    lane_target: TargetDuckDB | None = field(default=None, repr=False)


def both_ways(
    tmp_path: Path,
    lines: Sequence[Line | bytes] | bytes,
    settings: dict[str, Any] | None = None,
    *,
    oracle: str = "spaced",
    before: Sequence[Sequence[Line | bytes]] = (),
    monkeypatch: pytest.MonkeyPatch | None = None,
) -> Pair:
    """The input run compact (the lane) and by the SDK path (``oracle``: ``spaced`` lines, or
    ``off``: the same bytes with the lane detached from the reader). ``before``: earlier
    inputs loaded the same way first into each database."""
    settings = dict(settings or {})
    data = lines if isinstance(lines, bytes) else encode(lines)
    earlier = [encode(b) for b in before]
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    spy: contextlib.AbstractContextManager[list[int]] = (
        lane_spy(monkeypatch) if monkeypatch is not None else contextlib.nullcontext([])
    )
    with spy as loaded:
        lane, target = run_target(folder / "compact.duckdb", data, settings, runs_before=earlier)
    lane.as_is = sum(loaded)
    if oracle == "spaced":
        sdk, _ = run_target(
            folder / "spaced.duckdb",
            spaced(data),
            settings,
            runs_before=[spaced(e) for e in earlier],
        )
    else:
        sdk, _ = run_target(
            folder / "spaced.duckdb", data, settings, lane=False, runs_before=earlier
        )
    assert sdk.taken == 0, "the oracle run must not use the lane"
    return Pair(lane, sdk, target)


def assert_same(pair: Pair, *, taken: int | None = None, min_taken: int = 1) -> None:
    """Same outcome both ways, and the lane took ``taken`` lines (or at least ``min_taken``)."""
    assert pair.lane.seen() == pair.sdk.seen()
    if taken is not None:
        assert pair.lane.taken == taken
    else:
        assert pair.lane.taken >= min_taken


# --------------------------------------------------------------------------- streams


MONEY = {"type": ["number", "null"], "multipleOf": 0.01}  # DECIMAL(38,2)
RATE = {"type": ["number", "null"]}  # DECIMAL(38,10) (decimal_scale)
STRICT_MONEY = {"type": "number", "x-sql-datatype-properties": {"scale": 2}}
NAME = {"type": ["string", "null"], "maxLength": 10}
TEXT = {"type": ["string", "null"]}
DAY = {"type": ["string", "null"], "format": "date"}
MOMENT = {"type": ["string", "null"], "format": "date-time"}
FLAG = {"type": ["boolean", "null"]}
COUNT = {"type": ["integer", "null"]}

MUTATIES = "Mutaties"
MUTATIES_PROPERTIES: dict[str, dict[str, Any]] = {
    "Id": {"type": "integer"},
    "AmountDebit": MONEY,
    "Rate": RATE,
    "Total": STRICT_MONEY,
    "Name": NAME,
    "Note": TEXT,
    "Booked": DAY,
    "Changed": MOMENT,
    "Active": FLAG,
    "Count": COUNT,
}
MUTATIES_SCHEMA = schema_message(MUTATIES, MUTATIES_PROPERTIES, ["Id"])

RELATIES = "Relaties"
RELATIES_PROPERTIES: dict[str, dict[str, Any]] = {
    "Code": {"type": "string"},
    "Admin": {"type": "integer"},
    "Omschrijving": TEXT,
    "Saldo": {"type": ["number", "null"], "multipleOf": 0.0001},
    "Sinds": DAY,
    "Actief": FLAG,
}
RELATIES_SCHEMA = schema_message(RELATIES, RELATIES_PROPERTIES, ["Code", "Admin"])

LOG = "Log"  # no key properties: appended
LOG_PROPERTIES: dict[str, dict[str, Any]] = {
    "Seq": {"type": ["integer", "null"]},
    "Message": TEXT,
    "At": MOMENT,
    "Value": {"type": ["number", "null"], "multipleOf": 0.001},
}
LOG_SCHEMA = schema_message(LOG, LOG_PROPERTIES, [])


def raw_record(stream: str, body: str) -> str:
    """A compact RECORD line with the record written as ``body`` (the text inside braces)."""
    return f'{{"type":"RECORD","stream":"{stream}","record":{{{body}}}}}'


def good(n: int, **values: Any) -> dict[str, Any]:
    """A valid Mutaties record the lane takes."""
    record: dict[str, Any] = {
        "Id": n,
        "AmountDebit": Decimal(f"{n}.25"),
        "Rate": Decimal("0.5"),
        "Total": Decimal(f"{n}"),
        "Name": f"n{n}",
        "Note": "tekst",
        "Booked": "2024-02-29",
        "Changed": "2024-02-29T10:11:12+01:00",
        "Active": True,
        "Count": n * 3,
    }
    record.update(values)
    return record


def good_body(n: int) -> str:
    return _ENCODE(good(n)).decode()[1:-1]


def mutaties(*middle: Line | bytes, before: int = 3, after: int = 3) -> list[Line | bytes]:
    """SCHEMA, ``before`` good records, ``middle``, a STATE, ``after`` good records."""
    return [
        MUTATIES_SCHEMA,
        *(record_message(MUTATIES, good(n)) for n in range(1, before + 1)),
        *middle,
        state_message({"bookmarks": {MUTATIES: {"at": 1}}}),
        *(record_message(MUTATIES, good(n)) for n in range(101, 101 + after)),
    ]


# --------------------------------------------------------------------------- lines the lane
# must not load as they are: each must give exactly the SDK path's outcome


def body_with(n: int, name: str, text: str) -> str:
    """Record ``n``'s body with property ``name`` written as JSON text ``text``."""
    record = good(n)
    parts = [f"{json.dumps(k)}:{_ENCODE(v).decode()}" for k, v in record.items() if k != name]
    return ",".join([*parts, f"{json.dumps(name)}:{text}"])


def amount_written_as(text: str) -> str:
    """Record 50 with its AmountDebit key and value written as ``text`` (``"key":value``)."""
    return raw_record(MUTATIES, body_with(50, "AmountDebit", "1").replace('"AmountDebit":1', text))


def one(name: str, text: str, n: int = 50) -> str:
    return raw_record(MUTATIES, body_with(n, name, text))


def without(n: int, *names: str) -> dict[str, Any]:
    return {k: v for k, v in good(n).items() if k not in names}


REFUSED: list[tuple[str, list[Line | bytes]]] = [
    # a value of another JSON type than its schema allows
    ("string-for-integer", [one("Count", '"7"')]),
    ("float-1.0-for-integer", [one("Count", "1.0")]),
    ("float-1.5-for-integer", [one("Count", "1.5")]),
    ("true-for-integer", [one("Count", "true")]),
    ("exponent-for-integer", [one("Count", "1e2")]),
    ("number-for-string", [one("Note", "12")]),
    ("string-for-number", [one("AmountDebit", '"1.5"')]),
    ("one-for-boolean", [one("Active", "1")]),
    ("string-for-boolean", [one("Active", '"true"')]),
    ("object-for-string", [one("Note", '{"a":1}')]),
    ("array-for-number", [one("Rate", "[1]")]),
    ("number-for-date", [one("Booked", "20240229")]),
    # null or missing where the schema wants a value
    ("null-for-non-null-number", [one("Total", "null")]),
    ("missing-non-null-number", [record_message(MUTATIES, without(50, "Total"))]),
    ("missing-nullable-number", [record_message(MUTATIES, without(50, "AmountDebit"))]),
    ("missing-optional-string", [record_message(MUTATIES, without(50, "Note", "Booked"))]),
    ("null-key", [one("Id", "null")]),
    ("missing-key", [record_message(MUTATIES, without(50, "Id"))]),
    # what the lane does not know
    ("unknown-property", [record_message(MUTATIES, {**good(50), "Extra": 1})]),
    ("unknown-property-null", [record_message(MUTATIES, {**good(50), "Extra": None})]),
    (
        "extra-envelope-key",
        [{"type": "RECORD", "stream": MUTATIES, "record": good(50), "bookmark": 1}],
    ),
    (
        "envelope-version-and-time",
        [
            {
                "type": "RECORD",
                "stream": MUTATIES,
                "record": good(50),
                "version": 3,
                "time_extracted": "2024-01-01T00:00:00Z",
            }
        ],
    ),
    ("max-length-exceeded", [one("Name", '"elf  tekens"')]),
    ("max-length-exceeded-emoji", [one("Name", '"' + "\U0001f600" * 11 + '"')]),
    ("max-length-exactly-emoji", [one("Name", '"' + "\U0001f600" * 10 + '"')]),
    ("max-length-surrogate-pair-escapes", [one("Name", '"' + "\\ud83d\\ude00" * 11 + '"')]),
    # decimal places and number forms
    ("three-places-for-two", [one("AmountDebit", "1.255")]),
    ("trailing-zero-places-1.2500", [one("AmountDebit", "1.2500")]),
    ("three-places-and-zero-1.2550", [one("AmountDebit", "1.2550")]),
    ("float-noise", [one("Rate", "0.1000000000000000055511151231257827")]),
    ("eleven-places-for-ten", [one("Rate", "0.12345678901")]),
    ("exponent-small", [one("AmountDebit", "1e-3")]),
    ("exponent-fine", [one("AmountDebit", "1.5E2")]),
    ("exponent-negative", [one("AmountDebit", "-2.5e+1")]),
    ("exponent-long", [one("AmountDebit", "100000000000000000001e-20")]),
    ("places-on-non-null-number", [one("Total", "7.001")]),
    ("negative-places", [one("AmountDebit", "-0.001")]),
    ("minus-zero-places", [one("AmountDebit", "-0.000")]),
    ("many-trailing-zeros", [one("AmountDebit", "5." + "0" * 60)]),
    ("long-decimal", [one("AmountDebit", "1." + "0" * 40 + "1")]),
    # integer digits and ranges
    ("bigint-max", [one("Count", str(2**63 - 1))]),
    ("bigint-min", [one("Count", str(-(2**63)))]),
    ("beyond-bigint", [one("Count", str(2**63))]),
    ("beyond-bigint-negative", [one("Count", str(-(2**63) - 1))]),
    ("beyond-uint64", [one("Count", str(2**64 + 1))]),
    ("key-beyond-bigint", [one("Id", str(2**63))]),
    ("decimal-36-integer-digits", [one("AmountDebit", "9" * 36 + ".99")]),
    ("decimal-37-integer-digits", [one("AmountDebit", "9" * 37)]),
    ("decimal-beyond-uint64", [one("AmountDebit", str(2**64 + 1))]),
    ("decimal-huge-integer", [one("AmountDebit", "1" + "0" * 40)]),
    ("rate-28-integer-digits", [one("Rate", "1" * 28 + ".5")]),
    ("rate-29-integer-digits", [one("Rate", "1" * 29)]),
    # dates and date-times
    ("date-no-calendar-day", [one("Booked", '"2021-02-30"')]),
    ("date-feb-29-no-leap", [one("Booked", '"2023-02-29"')]),
    ("date-as-date-time", [one("Booked", '"2021-02-03T00:00:00"')]),
    ("date-garbage", [one("Booked", '"morgen"')]),
    ("date-time-hour-24", [one("Changed", '"2021-01-01T24:00:00Z"')]),
    ("date-time-leap-second", [one("Changed", '"2016-12-31T23:59:60Z"')]),
    ("date-time-no-calendar-day", [one("Changed", '"2021-02-30T10:00:00Z"')]),
    ("date-time-lowercase", [one("Changed", '"2021-01-01t10:00:00z"')]),
    ("date-time-space", [one("Changed", '"2021-01-01 10:00:00+02:00"')]),
    ("date-time-nine-digits", [one("Changed", '"2021-01-01T10:00:00.123456789Z"')]),
    ("date-time-seven-digits", [one("Changed", '"2021-01-01T10:00:00.1234567+05:30"')]),
    ("date-time-offset-no-colon", [one("Changed", '"2021-01-01T10:00:00+0130"')]),
    ("date-time-no-seconds", [one("Changed", '"2021-01-01T10:00Z"')]),
    ("date-time-offset-23-59", [one("Changed", '"2021-01-01T10:00:00-23:59"')]),
    ("date-time-year-9999-west", [one("Changed", '"9999-12-31T23:59:59.999999-01:00"')]),
    ("date-time-year-1", [one("Changed", '"0001-01-01T00:00:00+01:00"')]),
    ("date-year-1", [one("Booked", '"0001-01-01"')]),
    # keys written twice or otherwise
    ("key-twice-integer", [raw_record(MUTATIES, good_body(50) + ',"Count":9')]),
    ("key-twice-string", [raw_record(MUTATIES, good_body(50) + ',"Note":"tweede"')]),
    ("key-twice-key", [raw_record(MUTATIES, good_body(50) + ',"Id":51')]),
    ("key-twice-number-places", [raw_record(MUTATIES, good_body(50) + ',"AmountDebit":1.255')]),
    ("key-twice-number", [raw_record(MUTATIES, good_body(50) + ',"AmountDebit":7.5')]),
    (
        "escaped-key-too-many-places",
        [amount_written_as('"Amount\\u0044ebit":1.255')],
    ),
    (
        "escaped-key-twice-too-many-places",
        [raw_record(MUTATIES, good_body(50) + ',"Amount\\u0044ebit":1.255')],
    ),
    (
        "escaped-key-fine",
        [amount_written_as('"Amount\\u0044ebit":1.25')],
    ),
    (
        "space-before-colon-too-many-places",
        [amount_written_as('"AmountDebit" :1.255')],
    ),
    (
        "space-before-colon-twice",
        [raw_record(MUTATIES, good_body(50) + ',"AmountDebit" :1.255')],
    ),
    (
        "space-after-colon-too-many-places",
        [raw_record(MUTATIES, body_with(50, "AmountDebit", " 1.255"))],
    ),
    (
        "tab-after-colon-too-many-places",
        [raw_record(MUTATIES, body_with(50, "AmountDebit", "\t1.255"))],
    ),
    (
        "key-twice-escaped-other-line",  # counts add up: one line twice, one escaped
        [
            raw_record(MUTATIES, good_body(50) + ',"AmountDebit":2.5'),
            raw_record(
                MUTATIES,
                body_with(51, "AmountDebit", "1").replace(
                    '"AmountDebit":1', '"Amount\\u0044ebit":1.255'
                ),
            ),
        ],
    ),
    (
        "record-twice-in-envelope",
        [
            f'{{"type":"RECORD","stream":"{MUTATIES}","record":{{{good_body(50)}}},'
            f'"record":{{{good_body(51)}}}}}'
        ],
    ),
    (
        "stream-twice-in-envelope",
        [
            f'{{"type":"RECORD","stream":"{MUTATIES}","record":{{{good_body(50)}}},'
            f'"stream":"{MUTATIES}"}}'
        ],
    ),
    (
        "type-twice-in-envelope",
        [f'{{"type":"RECORD","stream":"{MUTATIES}","record":{{{good_body(50)}}},"type":"RECORD"}}'],
    ),
    ("number-key-as-string-value", [one("Note", '"\\"AmountDebit\\":1.255"')]),
    # strings
    ("lone-surrogate-escape", [one("Note", '"\\ud800"')]),
    ("nul-escape", [one("Note", '"a\\u0000b"')]),
    ("raw-tab-in-string", [one("Note", '"a\tb"')]),
    ("escaped-slash", [one("Note", '"a\\/b"')]),
    # streams and lines
    ("record-before-schema", [raw_record("Onbekend", '"Id":1')]),
    (
        "stream-name-escaped",
        [f'{{"type":"RECORD","stream":"Mutatie\\u0073","record":{{{good_body(50)}}}}}'],
    ),
    ("invalid-utf8", [one("Note", '"caf\xe9"').encode("latin-1")]),
    (
        "invalid-utf8-lone-continuation",
        [raw_record(MUTATIES, body_with(50, "Note", '"\x80"')).encode("latin-1")],
    ),
    ("prefix-then-no-json", ['{"type":"RECORD","stream":"Mutaties","record":{"Id":5,']),
    ("prefix-then-garbage", ['{"type":"RECORD","stream":"Mutaties",garbage']),
    ("prefix-then-nan", [one("AmountDebit", "NaN")]),
    ("prefix-then-trailing-garbage", [raw_record(MUTATIES, good_body(50)) + " x"]),
    (
        "prefix-then-two-messages",
        [raw_record(MUTATIES, good_body(50)) + raw_record(MUTATIES, good_body(51))],
    ),
    ("record-is-array", [f'{{"type":"RECORD","stream":"{MUTATIES}","record":[1]}}']),
    ("no-record", [f'{{"type":"RECORD","stream":"{MUTATIES}"}}']),
]

NOT_JSON = {  # the spaced form would move the column an error names: the lane detached instead
    "prefix-then-no-json",
    "prefix-then-garbage",
    "prefix-then-nan",
    "prefix-then-trailing-garbage",
    "prefix-then-two-messages",
    "raw-tab-in-string",
}


@pytest.mark.parametrize("batch_size_rows", [2, None], ids=["batch-2", "batch-default"])
@pytest.mark.parametrize(("case", "middle"), REFUSED, ids=[c for c, _ in REFUSED])
def test_a_line_the_lane_must_not_load_as_it_is_gives_the_sdk_outcome(
    tmp_path: Path, case: str, middle: list[Line | bytes], batch_size_rows: int | None
) -> None:
    """Good lane lines, the line under test, a STATE, good lane lines: tables, column types,
    STATE output and error (type, message, explanation with its line number) as the SDK
    path gives them for the same records."""
    settings = {} if batch_size_rows is None else {"batch_size_rows": batch_size_rows}
    pair = both_ways(
        tmp_path, mutaties(*middle), settings, oracle="off" if case in NOT_JSON else "spaced"
    )
    assert_same(pair, min_taken=3)


# --------------------------------------------------------------------------- random valid data

TRICKY = [
    "é",
    "\U0001f600",
    '"',
    "\\",
    "\n",
    "\t",
    "/",
    "ß",
    "\u2028",
    "€",
    "a",
    "Z",
    " ",
    "0",
    "\x7f",
    "\u00e9\u0301",
]


def json_string(rng: random.Random, max_chars: int) -> str:
    """A JSON string of at most ``max_chars`` characters, written in one of several ways:
    UTF-8, ASCII with escapes (surrogate pairs for emoji), or hand-made ``\\u`` escapes."""
    text = "".join(rng.choice(TRICKY) for _ in range(rng.randint(0, max_chars)))
    text = text[:max_chars]
    way = rng.randrange(3)
    if way == 0:
        return json.dumps(text, ensure_ascii=False)
    if way == 1:
        return json.dumps(text, ensure_ascii=True)
    return '"' + "".join(f"\\u{ord(c):04x}" if ord(c) < 0x10000 else c for c in text) + '"'


def json_number(rng: random.Random, places: int, integer_digits: int) -> str:
    """A plain JSON number with at most ``places`` significant places (trailing zeros may
    follow) and at most ``integer_digits`` integer digits."""
    kind = rng.randrange(8)
    if kind == 0:
        return rng.choice(["0", "-0", "0.0", "-0.0", "0.00"])
    digits = rng.randint(1, integer_digits) if kind == 1 else rng.randint(1, 4)
    whole = (
        str(rng.randrange(10 ** (digits - 1), 10**digits)) if digits > 1 else str(rng.randrange(10))
    )
    text = whole
    wanted = rng.randint(0, places)
    if wanted:
        text += "." + "".join(str(rng.randrange(10)) for _ in range(wanted))
    if rng.random() < 0.2:
        text += ("" if "." in text else ".") + "0" * rng.randint(1, 3)  # trailing zeros: 1.50
    return ("-" if rng.random() < 0.3 else "") + text


def json_integer(rng: random.Random) -> str:
    return str(
        rng.choice(
            [
                2**63 - 1,
                -(2**63 - 1),
                -(2**63),
                0,
                rng.randrange(-1000, 1000),
                rng.randrange(-(2**63), 2**63),
            ]
        )
    )


def json_date(rng: random.Random) -> str:
    day = dt.date(1, 1, 1) + dt.timedelta(days=rng.randrange(3_652_059))
    return f'"{day.isoformat()}"'


def json_date_time(rng: random.Random) -> str:
    """A date-time in one of many forms (most the lane loads, some it leaves to the SDK)."""
    day = dt.date(1900, 1, 1) + dt.timedelta(days=rng.randrange(60_000))
    clock = f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}"
    fraction = ""
    if rng.random() < 0.5:
        fraction = "." + "".join(str(rng.randrange(10)) for _ in range(rng.randint(1, 6)))
    zone = rng.choice(
        ["", "Z", "+00:00", "-00:00", "+01:00", "+05:30", "-03:30", "+14:00", "-11:00", "+23:59"]
    )
    separator = "T"
    if rng.random() < 0.06:  # forms the lane leaves to the SDK (which reads them)
        if rng.random() < 0.5:
            separator = " "
        else:
            fraction = "." + "".join(str(rng.randrange(10)) for _ in range(rng.randint(7, 9)))
    return f'"{day.isoformat()}{separator}{clock}{fraction}{zone}"'


def maybe(rng: random.Random, text: str, null: float = 0.1) -> str:
    return "null" if rng.random() < null else text


@dataclass
class RandomInput:
    lines: list[bytes]
    compact_records: int  # RECORD lines in the lane's form


def random_input(
    seed: int,
    records: int,
    *,
    streams: int = 3,
    spaced_share: float = 0.1,
    spaced_until: int = -1,
) -> RandomInput:
    """SCHEMAs of up to three streams, then ``records`` valid RECORDs interleaved, keys from
    small pools (repeats within and across batches), about one in ten spaced (the SDK's path,
    next to lane lines of the same key; only among the first ``spaced_until`` records unless
    negative), a STATE every few lines."""
    rng = random.Random(seed)
    lines: list[bytes] = encode(
        [MUTATIES_SCHEMA, RELATIES_SCHEMA, LOG_SCHEMA][:streams]
    ).splitlines()
    compact = 0
    for n in range(records):
        stream = rng.randrange(streams)
        parts: list[tuple[str, str]]
        if stream == 0:
            parts = [
                ("Id", str(rng.randrange(1, records // 4 + 2))),
                ("AmountDebit", maybe(rng, json_number(rng, 2, 36))),
                ("Rate", maybe(rng, json_number(rng, 10, 28))),
                ("Total", json_number(rng, 2, 36)),
                ("Name", maybe(rng, json_string(rng, 10))),
                ("Note", maybe(rng, json_string(rng, 40))),
                ("Booked", maybe(rng, json_date(rng))),
                ("Changed", maybe(rng, json_date_time(rng))),
                ("Active", maybe(rng, rng.choice(["true", "false"]))),
                ("Count", maybe(rng, json_integer(rng))),
            ]
        elif stream == 1:
            parts = [
                ("Code", json.dumps(rng.choice(["A", "B", "é", "\U0001f600", 'q"t', "x\\y"]))),
                ("Admin", str(rng.randrange(3))),
                ("Omschrijving", maybe(rng, json_string(rng, 20))),
                ("Saldo", maybe(rng, json_number(rng, 4, 34))),
                ("Sinds", maybe(rng, json_date(rng))),
                ("Actief", maybe(rng, rng.choice(["true", "false"]))),
            ]
        else:
            parts = [
                ("Seq", maybe(rng, str(n))),
                ("Message", maybe(rng, json_string(rng, 30))),
                ("At", maybe(rng, json_date_time(rng))),
                ("Value", maybe(rng, json_number(rng, 3, 35))),
            ]
        optional = {
            "Name",
            "Note",
            "Booked",
            "Changed",
            "Active",
            "Count",
            "Omschrijving",
            "Sinds",
            "Actief",
            "Seq",
            "Message",
            "At",
        }
        parts = [(k, v) for k, v in parts if k not in optional or rng.random() > 0.1]
        rng.shuffle(parts)
        name = [MUTATIES, RELATIES, LOG][stream]
        body = ",".join(f'"{k}":{v}' for k, v in parts)
        line = raw_record(name, body).encode()
        if rng.random() < spaced_share and (spaced_until < 0 or n < spaced_until):
            line = SPACED_START + line[len(LANE_START) :]
        else:
            compact += 1
        lines.append(line)
        if rng.random() < 0.05:
            lines.append(encode([state_message({"bookmarks": {name: {"n": n}}})]).rstrip(b"\n"))
    lines.append(encode([state_message({"bookmarks": {"end": seed}})]).rstrip(b"\n"))
    return RandomInput(lines, compact)


RANDOM_RUNS = [
    (1, 7, "upsert"),
    (2, 300, "upsert"),
    (3, None, "upsert"),
    (4, 7, "append-only"),
    (5, None, "append-only"),
    (6, 7, "overwrite"),
    (7, 300, "overwrite"),
    (8, 1, "upsert"),
]


@pytest.mark.parametrize(
    ("seed", "batch_size_rows", "load_method"),
    RANDOM_RUNS,
    ids=[f"seed{s}-batch{b}-{m}" for s, b, m in RANDOM_RUNS],
)
def test_random_valid_data_loads_as_the_sdk_path_loads_it(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    seed: int,
    batch_size_rows: int | None,
    load_method: str,
) -> None:
    """Two runs into one database (the second one's keys overlapping the first's), each
    about 300 random valid records of three streams: every table, column type and STATE line
    as the SDK path gives them; the lane took every compact RECORD line and loaded batches
    as they are."""
    first = random_input(seed, 250)  # lane and spaced lines mixed throughout
    # spaced lines only early on, so that later batches hold lane lines only (the default
    # batch holds the whole input: none then)
    second = random_input(seed + 100, 350, spaced_until=40 if batch_size_rows else 0)
    settings: dict[str, Any] = {"load_method": load_method}
    if batch_size_rows is not None:
        settings["batch_size_rows"] = batch_size_rows
    pair = both_ways(
        tmp_path,
        second.lines,
        settings,
        before=[first.lines],
        monkeypatch=monkeypatch,
    )
    assert pair.lane.error is None
    assert_same(pair, taken=second.compact_records)
    assert pair.lane.as_is > 0  # some batches went to DuckDB as they came
    rows = sum(len(r) for r in pair.lane.tables.values())
    assert rows > 20


# --------------------------------------------------------------------------- keys, schemas, input


def amount(n: int, value: str, *, lane: bool = True) -> str:
    line = raw_record(MUTATIES, body_with(n, "AmountDebit", value))
    return line if lane else SPACED_START.decode() + line[len(LANE_START) :]


@pytest.mark.parametrize("batch_size_rows", [2, 3, 100, None])
def test_the_last_record_per_key_wins_across_batches_and_paths(
    tmp_path: Path, batch_size_rows: int | None
) -> None:
    """Key 1 written five times (lane, SDK path, lane, lane, SDK path), key 2 three times
    ending on a lane line, in the same batch or across batches: each key's last values."""
    lines: list[Line | bytes] = [
        MUTATIES_SCHEMA,
        amount(1, "1.01"),
        amount(2, "2.01", lane=False),
        amount(1, "1.02", lane=False),
        amount(1, "1.03"),
        amount(2, "2.02"),
        amount(1, "1.04"),
        amount(2, "2.03"),
        amount(1, "1.05", lane=False),
    ]
    settings = {} if batch_size_rows is None else {"batch_size_rows": batch_size_rows}
    pair = both_ways(tmp_path, lines, settings)
    assert_same(pair, taken=5)
    rows = pair.lane.tables["main.Mutaties"]
    assert [(r[0], r[1]) for r in rows] == [(1, Decimal("1.05")), (2, Decimal("2.03"))]


def test_a_schema_change_mid_stream_between_lane_lines(tmp_path: Path) -> None:
    """Lane lines, a SCHEMA adding a property (and more places for AmountDebit), lane lines
    with the new property and more places, the first SCHEMA again, lane lines: as the SDK
    path loads them."""
    wider = schema_message(
        MUTATIES,
        {
            **MUTATIES_PROPERTIES,
            "AmountDebit": {"type": ["number", "null"], "multipleOf": 0.001},
            "Added": TEXT,
        },
        ["Id"],
    )
    lines: list[Line | bytes] = [
        MUTATIES_SCHEMA,
        *(record_message(MUTATIES, good(n)) for n in range(1, 6)),
        wider,
        *(
            record_message(MUTATIES, good(n, Added=f"a{n}", AmountDebit=Decimal(f"{n}.125")))
            for n in range(4, 9)
        ),
        MUTATIES_SCHEMA,
        *(record_message(MUTATIES, good(n)) for n in range(7, 11)),
        state_message({"at": "end"}),
    ]
    for batch_size_rows in (3, None):
        settings = {} if batch_size_rows is None else {"batch_size_rows": batch_size_rows}
        pair = both_ways(tmp_path, lines, settings)
        assert_same(pair, taken=14)
        assert len(pair.lane.tables["main.Mutaties"]) == 10


def test_a_three_places_value_for_the_old_schema_after_the_change(tmp_path: Path) -> None:
    """Lane lines with 3 places under the 2-place schema, then a SCHEMA allowing 3 places:
    the error or the load, as the SDK path gives it."""
    wider = schema_message(
        MUTATIES,
        {**MUTATIES_PROPERTIES, "AmountDebit": {"type": ["number", "null"], "multipleOf": 0.001}},
        ["Id"],
    )
    lines: list[Line | bytes] = [
        MUTATIES_SCHEMA,
        record_message(MUTATIES, good(1)),
        amount(2, "2.125"),
        wider,
        amount(3, "3.125"),
    ]
    assert_same(both_ways(tmp_path, lines, {}), min_taken=1)


def test_the_last_line_without_a_newline(tmp_path: Path) -> None:
    """The input's last line, a lane line, has no newline."""
    data = encode(mutaties())
    assert data.endswith(b"}\n")
    last = encode([record_message(MUTATIES, good(7))]).rstrip(b"\n")
    pair = both_ways(tmp_path, data + last, {"batch_size_rows": 2})
    assert_same(pair, taken=7)
    assert len(pair.lane.tables["main.Mutaties"]) == 7
    bad = raw_record(MUTATIES, body_with(8, "AmountDebit", "1.255")).encode()
    assert_same(both_ways(tmp_path, data + bad, {}), taken=7)


def test_crlf_line_ends_and_blank_lines(tmp_path: Path) -> None:
    """Lines ending in CR LF, with blank lines between runs of lane lines."""
    data = encode(mutaties(b"", b"  ", before=4, after=4)).replace(b"\n", b"\r\n")
    pair = both_ways(tmp_path, data, {"batch_size_rows": 3})
    assert_same(pair, taken=8)
    assert len(pair.lane.tables["main.Mutaties"]) == 8


KEYWORD_CASES = [
    (
        "default",
        {"Id": {"type": "integer"}, "Note": {"type": ["string", "null"], "default": "fb"}},
        None,
    ),
    ("required-undeclared", {"Id": {"type": "integer"}, "Note": TEXT}, ["Id", "Ghost"]),
    ("required-nullable", {"Id": {"type": "integer"}, "Note": TEXT}, ["Note"]),
]


@pytest.mark.parametrize(
    ("case", "properties", "required"), KEYWORD_CASES, ids=[c[0] for c in KEYWORD_CASES]
)
def test_schema_keywords_the_lane_must_honour(
    tmp_path: Path, case: str, properties: dict[str, Any], required: list[str] | None
) -> None:
    """Keywords of the stream's schema that change what the SDK path does with a record:
    ``default`` (the validator fills a missing property in), ``required`` naming a property
    the schema does not declare (every record without it is refused), ``required`` for a
    nullable property."""
    schema = schema_message("Kw", properties, ["Id"])
    if required is not None:
        schema["schema"]["required"] = required
    lines: list[Line | bytes] = [
        schema,
        record_message("Kw", {"Id": 1}),
        record_message("Kw", {"Id": 2, "Note": "x"}),
        state_message({"s": 1}),
    ]
    assert_same(both_ways(tmp_path, lines, {}), min_taken=0)


def test_additional_properties_false(tmp_path: Path) -> None:
    """``additionalProperties: false``: a record with an unknown property fails as with the
    SDK path."""
    closed = schema_message("Kw2", {"Id": {"type": "integer"}, "Note": TEXT}, ["Id"])
    closed["schema"]["additionalProperties"] = False
    lines: list[Line | bytes] = [
        closed,
        record_message("Kw2", {"Id": 1}),
        record_message("Kw2", {"Id": 2, "X": 1}),
    ]
    assert_same(both_ways(tmp_path, lines, {}), taken=1)


# --------------------------------------------------------------------------- settings


MAPPED_INPUT: list[Line | bytes] = [
    MUTATIES_SCHEMA,
    RELATIES_SCHEMA,
    *(record_message(MUTATIES, good(n)) for n in range(1, 8)),
    record_message(RELATIES, {"Code": "A", "Admin": 1, "Saldo": Decimal("1.5")}),
    record_message(MUTATIES, good(3, Note="again")),
    state_message({"s": 2}),
]


@pytest.mark.parametrize(
    ("settings", "taken"),
    [
        ({"stream_maps": {MUTATIES: {"Doubled": "str(Id)"}}}, 1),
        ({"stream_maps": {MUTATIES: {"__alias__": "Boekingen"}}}, 1),
        ({"stream_maps": {MUTATIES: {"Note": None}}}, 1),
        ({"stream_maps": {MUTATIES: {"__filter__": "Id != 3"}}}, 1),
        ({"stream_maps": {RELATIES: {"Extra": "str(Admin)"}}}, 8),
        ({"flattening_enabled": True, "flattening_max_depth": 1}, 0),
        ({"hard_delete": True}, 9),
        ({"add_record_metadata": True}, 9),
        ({"validate_records": False}, 9),
        ({"load_method": "append-only", "batch_size_rows": 2}, 9),
        ({"decimal_scale": 4, "declared_decimal_places": False}, 9),
        ({"default_target_schema": "afas"}, 9),
        ({"default_target_schema": "staging"}, 9),
    ],
    ids=lambda v: json.dumps(v) if isinstance(v, dict) else str(v),
)
def test_settings_give_the_sdk_outcome(
    tmp_path: Path, settings: dict[str, Any], taken: int
) -> None:
    """Stream maps, flattening, hard deletes, record metadata, no validation and other
    settings: the outcome is the SDK path's; the lane takes no line of a mapped stream
    (``taken``: the lines it takes); the _sdc columns it computes (hard_delete,
    add_record_metadata) equal the SDK's but for the run's own times."""
    assert_same(both_ways(tmp_path, MAPPED_INPUT, settings), taken=taken)


def _envelope(n: int, deleted: str | None = None, version: int | None = 7) -> bytes:
    """A compact RECORD line of DELETES with the envelope's version and time_extracted."""
    record: dict[str, Any] = {"Id": n, "Note": f"n{n}", "_sdc_deleted_at": deleted}
    message: dict[str, Any] = {"type": "RECORD", "stream": DELETES, "record": record}
    if version is not None:
        message["version"] = version
    message["time_extracted"] = f"2026-11-30T10:{n % 60:02d}:00.123456+00:00"
    return _ENCODE(message)


DELETES = "Verwijderd"
DELETES_SCHEMA = schema_message(
    DELETES,
    {
        "Id": {"type": "integer"},
        "Note": TEXT,
        "_sdc_deleted_at": {"type": ["string", "null"], "format": "date-time"},
    },
    ["Id"],
)


@pytest.mark.parametrize("batch", [2, None])
@pytest.mark.parametrize(
    "settings",
    [
        {"hard_delete": True, "add_record_metadata": True},
        {"hard_delete": True},
        {"add_record_metadata": True},
        {"add_record_metadata": True, "load_method": "append-only"},
    ],
    ids=json.dumps,
)
def test_metadata_and_deletes_through_the_lane_as_the_sdk_path(
    tmp_path: Path, settings: dict[str, Any], batch: int | None
) -> None:
    """A stream whose schema declares _sdc_deleted_at, with envelopes carrying version and
    time_extracted: _sdc_extracted_at and _sdc_table_version come from the envelope, a record
    with _sdc_deleted_at removes its row (hard_delete) or keeps it as a tombstone, as by the
    SDK path; an envelope without version, and one with a time_extracted in another form,
    too."""
    lines: list[Line | bytes] = [DELETES_SCHEMA, *(_envelope(n) for n in range(1, 9))]
    lines += [
        state_message({"s": 1}),
        _envelope(3, deleted="2026-11-30T11:00:00+00:00"),
        _envelope(5, deleted="2026-11-30T11:00:00Z", version=None),
        _envelope(6).replace(b"T10:06:00.123456+00:00", b" 10:06:00+00:00"),
        _envelope(9),
        state_message({"s": 2}),
    ]
    run = dict(settings, **({"batch_size_rows": batch} if batch else {}))
    pair = both_ways(tmp_path, lines, run)
    assert_same(pair, taken=12)
    rows = pair.lane.tables[f"main.{DELETES}"]
    deleted, appended = settings.get("hard_delete"), "load_method" in settings
    assert len(rows) == (7 if deleted else 12 if appended else 9)  # 9 ids, 2 deleted


def test_without_validation_wrong_types_load_as_the_sdk_path_loads_them(tmp_path: Path) -> None:
    """``validate_records: false``: values of the wrong JSON type (the lane refuses them) end
    as the SDK path ends them, whether it loads them or not."""
    for text in ['"7"', "1.0", "true", '"zeven"']:
        lines = mutaties(one("Count", text))
        assert_same(both_ways(tmp_path, lines, {"validate_records": False}), taken=6)


def test_a_load_of_more_than_five_minutes_writes_state_as_the_sdk_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """singer-sdk drains every sink and writes the latest STATE when records have waited
    longer than ``_MAX_RECORD_AGE_IN_MINUTES`` (5 minutes; here 0, as in a long load where
    each record comes after that age). The SDK checks after each record, the lane after each
    run of lines it takes (which holds no STATE message): the same STATE values come in the
    same order (the SDK repeats a value once per record), and the same rows are committed."""
    monkeypatch.setattr(TargetDuckDB, "_MAX_RECORD_AGE_IN_MINUTES", 0.0)
    pair = both_ways(tmp_path, mutaties(before=4, after=4), {})

    def distinct(states: list[Any]) -> list[Any]:
        return [s for n, s in enumerate(states) if n == 0 or states[n - 1] != s]

    assert pair.lane.taken == 8
    assert len(pair.lane.states) >= 2  # drained before the end of the input
    assert distinct(pair.lane.states) == distinct(pair.sdk.states)
    assert (pair.lane.tables, pair.lane.column_types, pair.lane.error) == (
        pair.sdk.tables,
        pair.sdk.column_types,
        pair.sdk.error,
    )


def test_a_batch_commits_as_the_sdk_path_before_a_bad_record(tmp_path: Path) -> None:
    """With batch_size_rows 10,000 (the SDK's own default) a bad record after 10,001 good
    ones finds the same 10,000 rows committed either way. Without the setting the lane's
    batches hold up to LANE_BATCH_ROWS (200,000) lines, so none of them is committed yet:
    the same error, and the same rows once the input is fixed and run again."""
    lines: list[Line | bytes] = [
        MUTATIES_SCHEMA,
        *(record_message(MUTATIES, good(n)) for n in range(1, 10_002)),
        state_message({"s": 3}),
        one("Count", '"zeven"', n=20_000),
    ]
    pair = both_ways(tmp_path, lines, {"batch_size_rows": 10_000})
    assert pair.sdk.error is not None
    assert len(pair.sdk.tables["main.Mutaties"]) == 10_000
    assert_same(pair, taken=10_001)

    default = both_ways(tmp_path, lines, {})
    assert default.lane.error == default.sdk.error is not None
    assert default.lane.tables.get("main.Mutaties", []) == []
    assert default.lane.states == default.sdk.states == []


def test_an_in_memory_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``path: ":memory:"``: the lane loads into the in-memory database (read before the run
    lets it go) as the SDK path does."""
    seen: list[tuple[Any, ...]] = []

    def keep(self: DuckDBConnector) -> None:  # read the database instead of closing it
        with self._connect() as conn:
            seen.append(read_connection(cast(Any, conn.connection).driver_connection))

    monkeypatch.setattr(DuckDBConnector, "release", keep)
    data = encode(mutaties(amount(4, "4.5", lane=False), before=5, after=5))
    outcomes = []
    for text in (data, spaced(data)):
        seen.clear()
        outcome, _ = run_target(Path(":memory:"), text, {"batch_size_rows": 3})
        assert outcome.error is None
        outcome.tables, outcome.column_types = seen[-1]
        outcomes.append(outcome)
    lane, sdk = outcomes
    assert lane.taken == 10
    assert sdk.taken == 0
    assert lane.seen() == sdk.seen()
    assert len(lane.tables["main.Mutaties"]) == 10


# --------------------------------------------------------------------------- the console script

CLI_CASES = [
    "three-places-for-two",
    "beyond-bigint",
    "null-key",
    "date-no-calendar-day",
    "invalid-utf8",
    "key-twice-number-places",
    "escaped-key-too-many-places",
]


def error_line(stderr: str) -> list[str]:
    return [
        re.sub(r"^\S+ \S+ \| ", "", _normalized(line))
        for line in stderr.splitlines()
        if "ERROR" in line
    ]


@pytest.mark.parametrize("case", CLI_CASES)
def test_the_console_script_fails_alike(tmp_path: Path, case: str) -> None:
    """``target-duckdb-afas`` on a bad input: exit status, STATE output and ERROR line as
    with the SDK path."""
    middle = dict(REFUSED)[case]
    data = encode(mutaties(*middle))
    runs = []
    for name, text in (("compact", data), ("spaced", spaced(data))):
        folder = tmp_path / name
        folder.mkdir()
        config = {"path": str(folder / f"{name}.duckdb"), "batch_size_rows": 2}
        config_file = write_json(folder, "config.json", config)
        run = run_cli(
            [*console_script("target-duckdb-afas"), "--config", str(config_file)],
            cwd=folder,
            stdin=text,
        )
        runs.append((run.returncode, run.states, error_line(run.stderr)))
    assert runs[0] == runs[1]
    assert runs[0][0] == 1
    assert len(runs[0][2]) == 1


@pytest.mark.parametrize("load_method", ["upsert", "append-only", "overwrite"])
@pytest.mark.parametrize("key", ["null", "missing"])
def test_a_nullable_key_without_a_value(tmp_path: Path, load_method: str, key: str) -> None:
    """A key property whose schema allows null, null or missing in one record: refused with
    the upsert methods (before anything of the batch is written), appended with
    append-only, as with the SDK path."""
    schema = schema_message("Nk", {"Id": COUNT, "Note": TEXT}, ["Id"])
    keyless = '"Id":null,"Note":"x"' if key == "null" else '"Note":"x"'
    lines: list[Line | bytes] = [
        schema,
        record_message("Nk", {"Id": 1, "Note": "a"}),
        raw_record("Nk", keyless),
        record_message("Nk", {"Id": 2, "Note": "b"}),
        state_message({"s": 1}),
    ]
    pair = both_ways(tmp_path, lines, {"load_method": load_method})
    assert_same(pair, min_taken=2)
    assert (pair.lane.error is None) == (load_method == "append-only")
