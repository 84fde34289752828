"""Target layer: what the exactly-once suites (fault matrix, kill -9 crashes) share.

- Mappings for insert-only connectors with a lookup that can verify them: KnPerson with
  ``MatchPer: 7`` ("always a new person") looked up in ``Profit_Persons`` by ``Email`` (the
  KnPerson field ``EmAd`` lands there), and FiEntries journal entries looked up in
  ``Profit_Transactions`` by ``Description`` (every line of an entry carries the entry's unique
  text, which is also the record's top-level property ``text``).
- ``Verdict`` / ``Tally``: per record "once", "doubled", "lost" or "outcome_unknown", added up.
- What the sandbox holds per unique value (``rows_per_value``, ``entries_per_text``), what the
  target reported as ``outcome_unknown`` (``unknown_values`` from the reject file), and POSTs
  that carried a value (``posts_with``).
- ``spawn_target``: target-afas as a subprocess, its input written by a thread (pausing after
  each STATE, as a tap that reads its next page), stdout/stderr to files, so a test can
  ``kill -9`` it and read the last STATE it emitted (``emitted_states``).
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from tests.support.cli import start_cli
from tests.support.recorders import RequestRecorder
from tests.support.sandbox_reading import SandboxReader
from tests.support.singer_messages import Message, singer_text
from tests.support.target_mappings import journal_mapping
from tests.support.target_runs import target_command

PEOPLE_LOOKUP = {"connector": "Profit_Persons", "field": "Email", "property": "Email"}
JOURNAL_LOOKUP = {"connector": "Profit_Transactions", "field": "Description", "property": "text"}
IDLE_TIMEOUT_SECONDS = 30.0
POLL_SECONDS = 0.01
RUN_TIMEOUT_SECONDS = 120.0


def people_insert_mapping(*, lookup: bool) -> dict[str, Any]:
    """KnPerson, always a new person (MatchPer 7); record properties ``Email``, ``LastName``."""
    mapping: dict[str, Any] = {
        "connector": "KnPerson",
        "action": "insert",
        "fields": {"EmAd": "Email", "LaNm": "LastName"},
        "constants": {"MatchPer": "7"},
    }
    if lookup:
        mapping["lookup"] = dict(PEOPLE_LOOKUP)
    return mapping


def journal_insert_mapping() -> dict[str, Any]:
    """FiEntries (insert only), verified by the unique ``text`` in every line's description."""
    return journal_mapping(action="insert", lookup=dict(JOURNAL_LOOKUP))


def person(email: str, last_name: str) -> dict[str, Any]:
    return {"Email": email, "LastName": last_name}


def journal_entry(text: str) -> dict[str, Any]:
    """A balanced two-line memorial entry whose lines both carry ``text``."""
    return {
        "text": text,
        "year": 2026,
        "period": 7,
        "unit": 3,
        "journal": "70",
        "lines": [
            {"kind": "1", "account": "4000", "date": "2026-07-01", "debit": "10.00",
             "credit": None, "description": text},
            {"kind": "1", "account": "1100", "date": "2026-07-01", "debit": None,
             "credit": "10.00", "description": text},
        ],
    }  # fmt: skip


# --------------------------------------------------------------------------- verdicts


@dataclass
class Verdict:
    """Per record one of: once (as asked), doubled, lost, or reported ``outcome_unknown``."""

    records: int = 0
    once: int = 0
    doubled: int = 0
    lost: int = 0
    outcome_unknown: int = 0
    problems: list[str] = field(default_factory=list)

    def count(self, what: str, value: str, detail: str) -> None:
        """Count one record (``what`` is once, doubled, lost or outcome_unknown)."""
        self.records += 1
        setattr(self, what, getattr(self, what) + 1)
        if what in ("doubled", "lost"):
            self.problems.append(f"{what}: {value} ({detail})")

    @property
    def ok(self) -> bool:
        """Nothing doubled, lost or sent twice (every such finding is in ``problems``)."""
        return not self.problems

    def line(self) -> str:
        return (
            f"records {self.records}, once {self.once}, doubled {self.doubled}, "
            f"lost {self.lost}, outcome_unknown {self.outcome_unknown}"
        )

    def __str__(self) -> str:
        shown = "; ".join(self.problems[:5])
        more = f" (+{len(self.problems) - 5} more)" if len(self.problems) > 5 else ""
        return self.line() + (f" -- {shown}{more}" if shown else "")


def judge_inserts(
    values: Sequence[str], found: Mapping[str, int], unknown: set[str], verdict: Verdict
) -> None:
    """Inserts: exactly one row per value, or 0/1 rows when reported ``outcome_unknown``."""
    for value in values:
        rows = found.get(value, 0)
        if rows > 1:
            verdict.count("doubled", value, f"{rows} rows")
        elif value in unknown:
            verdict.count("outcome_unknown", value, f"{rows} rows")
        elif rows == 1:
            verdict.count("once", value, "1 row")
        else:
            verdict.count("lost", value, "0 rows, not reported outcome_unknown")


@dataclass
class Tally:
    """Verdicts of many cases, added up and printed as one table."""

    cases: dict[str, Verdict] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def add(self, case: str, verdict: Verdict, error: str = "") -> None:
        self.cases[case] = verdict
        if error:
            self.errors[case] = error

    def total(self) -> Verdict:
        total = Verdict()
        for verdict in self.cases.values():
            for name in ("records", "once", "doubled", "lost", "outcome_unknown"):
                setattr(total, name, getattr(total, name) + getattr(verdict, name))
        return total

    def report(self, title: str) -> str:
        lines = [f"{title}: {len(self.cases)} cases"]
        failing = [c for c, v in self.cases.items() if not v.ok or c in self.errors]
        for case in failing:
            error = f" [error: {self.errors[case]}]" if case in self.errors else ""
            lines.append(f"  FAIL {case}: {self.cases[case].line()}{error}")
        lines.append(f"  failing cases {len(failing)}; TOTAL {self.total().line()}")
        return "\n".join(lines)


# --------------------------------------------------------------------------- the sandbox's truth


def rows_per_value(reader: SandboxReader, connector: str, field_id: str) -> dict[str, int]:
    """How many rows of ``connector`` hold each value of ``field_id``."""
    counts: dict[str, int] = {}
    for row in reader.all_rows(connector):
        key = str(row[field_id])
        counts[key] = counts.get(key, 0) + 1
    return counts


def entries_per_text(reader: SandboxReader) -> dict[str, int]:
    """How many journal entries (unit, entry number) carry each line description."""
    entries: dict[str, set[tuple[str, str]]] = {}
    for row in reader.all_rows("Profit_Transactions"):
        entry = (str(row["UnitId"]), str(row["EntryNo"]))
        entries.setdefault(str(row["Description"]), set()).add(entry)
    return {text: len(found) for text, found in entries.items()}


def unknown_values(reject_file: Path, prop: str, skip_lines: int = 0) -> set[str]:
    """Values of ``prop`` of the records the reject file reports as ``outcome_unknown``."""
    if not reject_file.exists():
        return set()
    lines = reject_file.read_text(encoding="utf-8").splitlines()[skip_lines:]
    found = set()
    for line in lines:
        entry = json.loads(line)
        record = entry.get("record") or {}
        if entry.get("outcome") == "outcome_unknown" and prop in record:
            found.add(str(record[prop]))
    return found


def line_count(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines()) if path.exists() else 0


def posts_with(recorder: RequestRecorder, connector: str, value: str) -> int:
    """POSTs to ``connector`` whose body carries ``value``."""
    needle = json.dumps(value).encode("utf-8")
    return sum(1 for s in recorder.writes_to(connector) if s.method == "POST" and needle in s.body)


def wait_until_idle(recorder: RequestRecorder, timeout: float = IDLE_TIMEOUT_SECONDS) -> None:
    """Wait until the sandbox answered every request it received (slow faults finish late)."""
    deadline = time.monotonic() + timeout
    while recorder.in_flight > 0:
        assert time.monotonic() < deadline, "the sandbox is still busy with a request"
        time.sleep(POLL_SECONDS)


# --------------------------------------------------------------------------- target as a process


@dataclass
class TargetProcess:
    """A target-afas subprocess: its input fed by a thread, stdout and stderr going to files."""

    process: subprocess.Popen[bytes]
    feeder: threading.Thread
    stdout_path: Path
    stderr_path: Path
    timed_out: bool = False

    def kill(self) -> int:
        """``kill -9`` and reap; returns the exit status."""
        self.process.kill()
        return self.wait()

    def wait(self, timeout: float = RUN_TIMEOUT_SECONDS) -> int:
        """The exit status; a target still running after ``timeout`` is killed (``timed_out``)."""
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.timed_out = True
            self.process.kill()
            code = self.process.wait(timeout=30)
        self.feeder.join(timeout=30)
        return code

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")


def _feed(stdin: IO[bytes], messages: list[Message], pause_at_state_seconds: float) -> None:
    """Write the messages; after each STATE pause a while, as a tap reading its next page."""
    try:
        with stdin:
            for message in messages:
                stdin.write(singer_text([message]).encode("utf-8"))
                if message["type"] == "STATE" and pause_at_state_seconds > 0:
                    stdin.flush()
                    time.sleep(pause_at_state_seconds)
    except (BrokenPipeError, ValueError):
        return  # the target was killed: nobody reads any more


def spawn_target(
    workdir: Path,
    config: Mapping[str, Any],
    messages: Iterable[Message],
    name: str,
    *,
    pause_at_state_seconds: float = 0.0,
) -> TargetProcess:
    """``target-afas --config F < input > {name}.out 2> {name}.err`` in ``workdir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    stdout_path, stderr_path = workdir / f"{name}.out", workdir / f"{name}.err"
    with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
        process: subprocess.Popen[bytes] = start_cli(
            target_command(workdir, config),
            cwd=workdir,
            stdin=subprocess.PIPE,
            stdout=stdout,
            stderr=stderr,
        )
    assert process.stdin is not None
    feeder = threading.Thread(
        target=_feed,
        args=(process.stdin, list(messages), pause_at_state_seconds),
        name=f"feed-{name}",
        daemon=True,
    )
    feeder.start()
    return TargetProcess(process, feeder, stdout_path, stderr_path)


def emitted_states(stdout_path: Path) -> list[dict[str, Any]]:
    """The STATE values the target wrote, complete lines only (a kill may cut the last one)."""
    text = stdout_path.read_text(encoding="utf-8") if stdout_path.exists() else ""
    states = []
    for line in text.split("\n")[:-1]:
        if line.strip():
            states.append(json.loads(line))
    return states
