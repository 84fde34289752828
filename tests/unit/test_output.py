"""tap_afas.output: RECORD lines leave in batches, never after the STATE that follows them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib import RecordMessage, SchemaMessage, StateMessage

from tap_afas import output
from tap_afas.output import BufferedWriter


class Stdout:
    """What reached stdout (pytest's ``capsysbinary``, which has the byte buffer the writer
    uses), kept across reads."""

    def __init__(self, capture: pytest.CaptureFixture[bytes]) -> None:
        self.capture = capture
        self.seen = b""

    def lines(self) -> list[dict[str, object]]:
        self.seen += self.capture.readouterr().out
        return [json.loads(line) for line in self.seen.decode().splitlines()]


@pytest.fixture
def stdout(capsysbinary: pytest.CaptureFixture[bytes]) -> Stdout:
    return Stdout(capsysbinary)


def record(n: int) -> RecordMessage:
    return RecordMessage(stream="s", record={"n": n})


def test_records_wait_in_the_buffer_and_leave_before_the_state(stdout: Stdout) -> None:
    writer = BufferedWriter()
    for n in range(3):
        writer.write_message(record(n))
    assert stdout.lines() == [], "records are buffered"
    writer.write_message(StateMessage(value={"bookmarks": {"s": {"n": 2}}}))
    kinds = [(m["type"], m.get("record")) for m in stdout.lines()]
    assert kinds == [
        ("RECORD", {"n": 0}),
        ("RECORD", {"n": 1}),
        ("RECORD", {"n": 2}),
        ("STATE", None),
    ]


def test_every_message_but_a_record_writes_the_buffer(stdout: Stdout) -> None:
    writer = BufferedWriter()
    writer.write_message(record(1))
    writer.write_message(SchemaMessage(stream="t", schema={"type": "object"}, key_properties=[]))
    assert [m["type"] for m in stdout.lines()] == ["RECORD", "SCHEMA"]


def test_a_full_buffer_or_an_old_one_is_written(
    stdout: Stdout, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(output, "FLUSH_BYTES", 100)
    writer = BufferedWriter()
    written = 0
    while not stdout.lines():
        writer.write_message(record(written))
        written += 1
    assert 2 <= written <= 10, f"{written} records before the first write of 100 bytes"
    monkeypatch.setattr(output, "FLUSH_BYTES", 1 << 30)
    monkeypatch.setattr(output, "FLUSH_SECONDS", 0.0)
    before = len(stdout.lines())
    writer.write_message(record(99))
    assert len(stdout.lines()) > before, "a buffer older than FLUSH_SECONDS is written"


def test_records_before_a_failure_leave_when_the_stream_fails(stdout: Stdout) -> None:
    class Owner:
        message_writer = BufferedWriter()

    def failing() -> Iterator[int]:
        for n in range(5):
            Owner.message_writer.write_message(record(n))
            yield n
        raise RuntimeError("AFAS answered 500")

    with pytest.raises(RuntimeError):
        list(output.flushed_at_end(Owner(), failing()))  # type: ignore[arg-type]
    assert [m["record"] for m in stdout.lines()] == [{"n": n} for n in range(5)]


def test_a_record_line_is_the_line_singer_sdk_writes(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    """Decimals as numbers, datetimes in ISO 8601, version and time_extracted: byte for byte
    what singer-sdk's msgspec writer writes for the same message."""
    message = RecordMessage(
        stream="profit_transactions",
        record={"AmountDebit": Decimal("477.96"), "Text": 'é\n"', "Empty": None, "N": 3},
        version=7,
        time_extracted=datetime(2026, 11, 30, 12, 0, 1, 250, tzinfo=timezone.utc),
    )
    expected = bytes(MsgSpecWriter().format_message(message))
    writer = BufferedWriter()
    writer.write_message(message)
    writer.flush()
    assert capsysbinary.readouterr().out == expected
