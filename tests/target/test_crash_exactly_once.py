"""Target layer: ``kill -9`` at random moments of a large write, then resume as Meltano does.

Each trial starts a fresh sandbox (a little latency per request, so kills land while requests
are in flight) and feeds target-afas, as a subprocess, 1,000 records for two insert-only
connectors that a lookup can verify: KnPerson with ``MatchPer: 7`` (looked up by e-mail) and
FiEntries journal entries (looked up by their unique description). A STATE naming the
position follows every 25 records, and the input pauses a moment after each, as a tap's
does. The target is killed after a seeded random number of answered writes plus a random few
milliseconds; then it runs again (same ledger) on the input after the last STATE it emitted,
and once more on the whole input. After the resume every record is in the sandbox exactly
once (a STATE the target emitted too early shows up as records lost here, which the full
re-run would hide); at the end too, and nothing is ``outcome_unknown``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from afas_sandbox import RunningSandbox
from tests.support.recorders import RequestRecorder
from tests.support.sandbox_reading import SandboxReader
from tests.support.singer_messages import (
    Message,
    inferred_properties,
    record_message,
    schema_message,
    state_message,
)
from tests.support.target_outputs import summary_counts
from tests.support.target_runs import target_config
from tests.target.exactly_once import (
    TargetProcess,
    Verdict,
    emitted_states,
    entries_per_text,
    journal_entry,
    journal_insert_mapping,
    judge_inserts,
    line_count,
    people_insert_mapping,
    person,
    rows_per_value,
    spawn_target,
    unknown_values,
    wait_until_idle,
)

SEED = 20261118
KILLS = 10
RECORDS = 1000
STATE_EVERY_RECORDS = 25
BATCH_SIZE = 20
PARALLEL_REQUESTS = 4
LATENCY_MS = 50
PEOPLE, JOURNAL = "people", "journal"
# 600 persons and 400 entries in batches of 20: about 50 POSTs when nothing goes wrong.
EXPECTED_WRITES = 50
# The tap pauses after each STATE (40 of them: about 4 s of input), so the target drains
# and emits STATEs while it writes, and kills land before and after emitted STATEs.
PAUSE_AT_STATE_SECONDS = 0.1
# A crash leaves requests AFAS may still be running; the re-run waits up to this long for them.
REQUEST_TIMEOUT_SECONDS = 2.0
KILL_WAIT_SECONDS = 60.0


@dataclass(frozen=True)
class Input:
    """The tap's output: records of both streams in blocks, a STATE every 25 records."""

    records: list[tuple[str, dict[str, Any]]]

    @classmethod
    def build(cls, trial: int) -> Input:
        records: list[tuple[str, dict[str, Any]]] = []
        for i in range(RECORDS):
            if (i // 10) % 5 < 3:
                records.append((PEOPLE, person(f"kill{trial}.{i}@crash.test", f"Crash {i}")))
            else:
                records.append((JOURNAL, journal_entry(f"Crash {trial}-{i}")))
        return cls(records)

    def of(self, stream: str) -> list[dict[str, Any]]:
        return [r for s, r in self.records if s == stream]

    def messages(self, start: int = 0) -> list[Message]:
        """SCHEMA messages, then the records from position ``start`` on with their STATEs."""
        out = [
            schema_message(stream, inferred_properties(self.of(stream)))
            for stream in (PEOPLE, JOURNAL)
        ]
        for position in range(start, len(self.records)):
            stream, record = self.records[position]
            out.append(record_message(stream, record))
            if (position + 1) % STATE_EVERY_RECORDS == 0:
                out.append(state_message(_state(position + 1)))
        return out


def _state(position: int) -> dict[str, Any]:
    return {"bookmarks": {"crash": {"position": position}}}


def _position(state: dict[str, Any]) -> int:
    return int(state["bookmarks"]["crash"]["position"])


@dataclass
class KillReport:
    trial: int
    after_writes: int
    extra_ms: float
    elapsed_seconds: float
    killed: bool
    killed_rc: int
    states_before_kill: int
    position: int
    resume_rc: int
    full_rc: int
    after_resume: Verdict
    at_end: Verdict
    note: str = ""

    @property
    def problems(self) -> int:
        """Records doubled or lost after the resume or at the end, or unknown at the end."""
        resume, end = self.after_resume, self.at_end
        return resume.doubled + resume.lost + end.doubled + end.lost + end.outcome_unknown

    def line(self) -> str:
        when = (
            f"after {self.after_writes} answered writes + {self.extra_ms:.0f} ms "
            f"({self.elapsed_seconds:.2f} s)"
        )
        if not self.killed:
            when += f", but the target had already ended (rc {self.killed_rc})"
        resume, end = self.after_resume, self.at_end
        return (
            f"kill {self.trial}: {when}; STATEs before the kill {self.states_before_kill}, last "
            f"position {self.position}; after resume (rc {self.resume_rc}): rows found "
            f"{resume.records - resume.lost}/{resume.records}, doubled {resume.doubled}, lost "
            f"{resume.lost}, outcome_unknown {resume.outcome_unknown}; after full re-run (rc "
            f"{self.full_rc}): doubled {end.doubled}, lost {end.lost}, outcome_unknown "
            f"{end.outcome_unknown}" + (f"; {self.note}" if self.note else "")
        )


def _kill_when(
    process: TargetProcess, recorder: RequestRecorder, after_writes: int, extra_seconds: float
) -> bool:
    """Kill -9 once ``after_writes`` writes were answered plus ``extra_seconds``; False if the
    target ended by itself first."""
    deadline = time.monotonic() + KILL_WAIT_SECONDS
    while len(recorder.writes) < after_writes and process.process.poll() is None:
        assert time.monotonic() < deadline, "the target made no progress towards the kill"
        time.sleep(0.002)
    time.sleep(extra_seconds)
    if process.process.poll() is not None:
        return False
    process.kill()
    return True


def _last_stderr_line(process: TargetProcess) -> str:
    lines = [line for line in process.stderr.splitlines() if line.strip()]
    return lines[-1][-300:] if lines else ""


def _judge(
    reader: SandboxReader, data: Input, run: TargetProcess, rejects: Path, skip: int
) -> Verdict:
    """Every record once in the sandbox? Unknown: what ``run`` reported ``outcome_unknown``."""
    verdict = Verdict()
    unknown_people = unknown_values(rejects, "Email", skip_lines=skip)
    unknown_texts = unknown_values(rejects, "text", skip_lines=skip)
    people = [r["Email"] for r in data.of(PEOPLE)]
    texts = [r["text"] for r in data.of(JOURNAL)]
    judge_inserts(
        people, rows_per_value(reader, "Profit_Persons", "Email"), unknown_people, verdict
    )
    judge_inserts(texts, entries_per_text(reader), unknown_texts, verdict)
    log = run.stderr.splitlines()
    for stream in (PEOPLE, JOURNAL):
        try:
            reported = summary_counts(log, stream).get("outcome_unknown", 0)
        except AssertionError:
            continue  # no summary line: the run failed (its exit status says so)
        if reported > len(unknown_people | unknown_texts):
            verdict.problems.append(f"{stream}: summary says outcome_unknown {reported}")
            verdict.outcome_unknown = max(verdict.outcome_unknown, reported)
    return verdict


def _trial(
    trial: int,
    rng: random.Random,
    start: Callable[..., RunningSandbox],
    tmp_path: Path,
) -> KillReport:
    sandbox = start()
    sandbox.latency.fixed_ms = LATENCY_MS
    recorder = RequestRecorder(sandbox)
    reader = SandboxReader(sandbox)
    workdir = tmp_path / f"kill{trial}"
    config = target_config(
        sandbox,
        workdir,
        {PEOPLE: people_insert_mapping(lookup=True), JOURNAL: journal_insert_mapping()},
        batch_size=BATCH_SIZE,
        max_parallel_requests=PARALLEL_REQUESTS,
        request_timeout=REQUEST_TIMEOUT_SECONDS,
        on_reject="continue",
    )
    rejects = workdir / "rejects.jsonl"
    data = Input.build(trial)
    after_writes = rng.randrange(1, EXPECTED_WRITES)
    extra_seconds = rng.uniform(0, 1.5 * LATENCY_MS / 1000)

    started = time.monotonic()
    first = spawn_target(
        workdir, config, data.messages(), "killed", pause_at_state_seconds=PAUSE_AT_STATE_SECONDS
    )
    killed = _kill_when(first, recorder, after_writes, extra_seconds)
    elapsed = time.monotonic() - started
    killed_rc = first.wait()
    wait_until_idle(recorder)
    states = emitted_states(first.stdout_path)
    position = _position(states[-1]) if states else 0

    skip = line_count(rejects)
    resume = spawn_target(workdir, config, data.messages(position), "resume")
    resume_rc = resume.wait()
    wait_until_idle(recorder)
    after_resume = _judge(reader, data, resume, rejects, skip)

    skip = line_count(rejects)
    full = spawn_target(workdir, config, data.messages(), "full")
    full_rc = full.wait()
    wait_until_idle(recorder)
    at_end = _judge(reader, data, full, rejects, skip)
    reader.close()

    notes = [
        f"{name} {'timed out' if process.timed_out else 'failed'}: {_last_stderr_line(process)}"
        for name, process, rc in (("resume", resume, resume_rc), ("full", full, full_rc))
        if rc != 0
    ]
    return KillReport(
        trial=trial,
        after_writes=after_writes,
        extra_ms=extra_seconds * 1000,
        elapsed_seconds=elapsed,
        killed=killed,
        killed_rc=killed_rc,
        states_before_kill=len(states),
        position=position,
        resume_rc=resume_rc,
        full_rc=full_rc,
        after_resume=after_resume,
        at_end=at_end,
        note="; ".join(notes),
    )


def test_kill_9_at_random_moments_then_resume_writes_every_record_exactly_once(
    afas_sandbox_factory: Callable[..., RunningSandbox], tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    print(f"\ncrash suite: seed {SEED}, {KILLS} kills, {RECORDS} records each")
    reports = []
    for trial in range(1, KILLS + 1):
        report = _trial(trial, rng, afas_sandbox_factory, tmp_path)
        print(report.line(), flush=True)
        reports.append(report)

    def total(name: str, at_end: bool = True) -> int:
        return sum(getattr(r.at_end if at_end else r.after_resume, name) for r in reports)

    summary = (
        f"crash suite totals: kills {sum(r.killed for r in reports)}/{KILLS}, records "
        f"{total('records')}; after resume: doubled {total('doubled', False)}, lost "
        f"{total('lost', False)}; at end: doubled {total('doubled')}, lost {total('lost')}, "
        f"outcome_unknown {total('outcome_unknown')}"
    )
    print(summary)
    details = "\n".join(r.line() for r in reports)
    assert sum(r.problems for r in reports) == 0, f"{summary}\n{details}"
    assert all(r.resume_rc == 0 and r.full_rc == 0 for r in reports), details
    assert all(r.killed for r in reports), f"every kill landed while the target ran\n{details}"
