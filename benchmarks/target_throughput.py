"""How much faster target-afas writes KnPerson records than one-request-per-record, at AFAS latency.

Every measurement starts its own ``afas-sandbox serve --dataset empty --latency-ms 40
--per-row-ms 0.5`` process (about what AFAS Online answers in: every request waits 40 ms) and
writes ``--records`` generated KnPerson-like records into it (person numbers distinct, MatchPer
7: always insert, the number kept), with a fresh idempotency ledger, measuring in the same run:
- ``target-afas``: a subprocess fed a Singer file (SCHEMA, RECORDs, STATE) on stdin, for each
  ``--configs`` entry ``BATCHxPARALLEL`` (``batch_size`` elements per request,
  ``max_parallel_requests`` requests in flight); records/s over the process's wall time
  (interpreter start and the metainfo call included; the fixed cost, a run with the SCHEMA
  only, is shown on its own line);
- the baseline: a plain ``requests`` loop in this process POSTing one KnPerson element per
  request, sequentially, with the same fields the target's mapping sends.
After every run the persons in the sandbox are counted (GetConnector, ``skip=-1&take=-1``): a
run that did not land every record is reported. Prints the median records/s of ``--repeat``
runs per loop and each target configuration's ratio to the baseline.

    .venv/bin/python benchmarks/target_throughput.py --records 2000 --repeat 3
    .venv/bin/python benchmarks/target_throughput.py --records 500 --repeat 1 --configs 20x4 50x8
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import requests

from afas_sandbox.datasets import load_dataset

LATENCY_MS = 40.0
PER_ROW_MS = 0.5
STREAM = "people"
FIRST_NUMBER = 500_000
SUMMARY = re.compile(rf"Summary {STREAM}: (.*)")
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "number": {"type": "string"},
        "first_name": {"type": ["string", "null"]},
        "prefix": {"type": ["string", "null"]},
        "last_name": {"type": "string"},
        "gender": {"type": ["string", "null"]},
        "birth_date": {"type": ["string", "null"], "format": "date"},
        "email": {"type": ["string", "null"]},
        "street": {"type": "string"},
        "house_number": {"type": ["integer", "null"]},
        "zip_code": {"type": ["string", "null"]},
        "city": {"type": "string"},
        "country": {"type": "string"},
    },
}
PERSON_FIELDS = {
    "BcCo": "number",
    "FiNm": "first_name",
    "Is": "prefix",
    "LaNm": "last_name",
    "ViGe": "gender",
    "DaBi": "birth_date",
    "EmAd": "email",
}
ADDRESS_FIELDS = {
    "CoId": "country",
    "Ad": "street",
    "HmNr": "house_number",
    "ZpCd": "zip_code",
    "Rs": "city",
}
FIRST_NAMES = ("Sanne", "Daan", "Noor", "Lucas", "Emma", "Sem", "Julia", "Bram", "Tess", "Finn")
LAST_NAMES = ("de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "van Dijk", "Mulder")
STREETS = ("Keizersgracht", "Oudegracht", "Markt", "Dorpsstraat", "Kerkweg", "Stationsplein")
CITIES = ("Amsterdam", "Utrecht", "Delft", "Zwolle", "Groningen", "Maastricht", "Haarlem")


@dataclass(frozen=True)
class Config:
    """One target-afas configuration: elements per request x requests in flight."""

    batch_size: int
    parallel: int

    @property
    def name(self) -> str:
        return f"target-afas batch {self.batch_size} x {self.parallel} parallel"

    @classmethod
    def parse(cls, text: str) -> Config:
        batch, _, parallel = text.partition("x")
        return cls(int(batch), int(parallel))


@dataclass(frozen=True)
class Run:
    records: int
    seconds: float
    landed: int

    @property
    def rate(self) -> float:
        return self.records / self.seconds


# --------------------------------------------------------------------------- the records


def zip_letters(rng: random.Random) -> str:
    return rng.choice("ABCDEFGH") + rng.choice("JKLMN")


def generate(count: int, offset: int) -> list[dict[str, Any]]:
    """KnPerson-like records with person numbers ``FIRST_NUMBER + offset + n``."""
    rng = random.Random(offset)
    people = []
    for n in range(count):
        last = rng.choice(LAST_NAMES)
        prefix, _, surname = last.rpartition(" ")
        first = rng.choice(FIRST_NAMES)
        people.append(
            {
                "number": str(FIRST_NUMBER + offset + n),
                "first_name": first,
                "prefix": prefix or None,
                "last_name": surname,
                "gender": rng.choice("MVOX"),
                "birth_date": (
                    date(1950, 1, 1) + timedelta(days=rng.randrange(20_000))
                ).isoformat(),
                "email": f"{first.lower()}.{surname.lower()}{n}@example.nl" if n % 9 else None,
                "street": rng.choice(STREETS),
                "house_number": rng.randrange(1, 400),
                "zip_code": f"{rng.randrange(1000, 9999)} {zip_letters(rng)}",
                "city": rng.choice(CITIES),
                "country": "NL",
            }
        )
    return people


def singer_lines(people: list[dict[str, Any]]) -> str:
    lines = [{"type": "SCHEMA", "stream": STREAM, "key_properties": ["number"], "schema": SCHEMA}]
    lines += [{"type": "RECORD", "stream": STREAM, "record": p} for p in people]
    lines.append({"type": "STATE", "value": {"bookmarks": {STREAM: {"done": len(people)}}}})
    return "".join(json.dumps(line) + "\n" for line in lines)


def element(person: dict[str, Any]) -> dict[str, Any]:
    """The KnPerson element for one record, as the target's mapping builds it."""
    fields = {"MatchPer": "7"}
    fields.update({f: person[p] for f, p in PERSON_FIELDS.items() if person[p] is not None})
    address = {f: person[p] for f, p in ADDRESS_FIELDS.items() if person[p] is not None}
    return {"Fields": fields, "Objects": [{"KnBasicAddressAdr": {"Element": {"Fields": address}}}]}


# --------------------------------------------------------------------------- the sandbox


@contextmanager
def sandbox(work: Path) -> Iterator[str]:
    """A fresh ``afas-sandbox serve --dataset empty`` at AFAS Online latency; yields its URL."""
    url_file = work / f"url-{os.getpid()}-{time.monotonic_ns()}.txt"
    command = [sys.executable, "-m", "afas_sandbox", "serve", "--port", "0", "--dataset", "empty"]
    command += ["--latency-ms", str(LATENCY_MS), "--per-row-ms", str(PER_ROW_MS)]
    command += ["--url-file", str(url_file)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not url_file.exists() or not url_file.read_text().strip():
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("afas-sandbox serve did not start")
            time.sleep(0.05)
        yield url_file.read_text().strip()
    finally:
        process.terminate()
        process.wait(timeout=10)
        url_file.unlink(missing_ok=True)


def full_token() -> Any:
    return next(t for t in load_dataset("empty").tokens if t.name == "full")


def count_persons(base_url: str) -> int:
    response = requests.get(
        f"{base_url}/connectors/Profit_Persons",
        params={"skip": -1, "take": -1},
        headers={"Authorization": full_token().header},
        timeout=300,
    )
    response.raise_for_status()
    return len(response.json()["rows"])


# --------------------------------------------------------------------------- the loops


def baseline(base_url: str, people: list[dict[str, Any]]) -> float:
    """One POST per record, one after the other; returns the seconds it took."""
    session = requests.Session()
    session.headers["Authorization"] = full_token().header
    url = f"{base_url}/connectors/KnPerson"
    started = time.perf_counter()
    for person in people:
        response = session.post(url, json={"KnPerson": {"Element": element(person)}}, timeout=60)
        if response.status_code != 201:
            raise SystemExit(f"baseline POST failed: {response.status_code} {response.text[:300]}")
    seconds = time.perf_counter() - started
    session.close()
    return seconds


def target_command() -> list[str]:
    script = Path(sys.executable).with_name("target-afas")
    return [str(script)] if script.exists() else [sys.executable, "-m", "target_afas"]


def target_config(base_url: str, config: Config, work: Path) -> Path:
    run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=work))
    settings = {
        "api_url": base_url,
        "token": full_token().xml,
        "batch_size": config.batch_size,
        "max_parallel_requests": config.parallel,
        "on_reject": "fail",
        "ledger_path": str(run_dir / "ledger.sqlite3"),  # fresh per run
        "reject_file": str(run_dir / "rejects.jsonl"),
        "mappings": {
            STREAM: {
                "connector": "KnPerson",
                "action": "insert",
                "fields": PERSON_FIELDS,
                "constants": {"MatchPer": "7"},
                "objects": {"KnBasicAddressAdr": {"fields": ADDRESS_FIELDS}},
            }
        },
    }
    path = run_dir / "config.json"
    path.write_text(json.dumps(settings), encoding="utf-8")
    return path


def run_target(config_file: Path, singer_input: str) -> tuple[float, str]:
    """Wall seconds of one target-afas process and its summary line."""
    started = time.perf_counter()
    done = subprocess.run(
        [*target_command(), "--config", str(config_file)],
        input=singer_input.encode("utf-8"),
        capture_output=True,
        cwd=config_file.parent,
        check=False,
    )
    seconds = time.perf_counter() - started
    log = done.stderr.decode("utf-8", errors="replace")
    if done.returncode != 0:
        sys.stderr.write(log[-3000:])
        raise SystemExit(f"target-afas exited with {done.returncode}")
    summary = SUMMARY.search(log)
    return seconds, summary.group(1) if summary else "(no summary)"


# --------------------------------------------------------------------------- measuring


def measure(
    records: int, repeat: int, configs: list[Config], work: Path
) -> tuple[dict[str, list[Run]], float]:
    runs: dict[str, list[Run]] = {"baseline": [], **{c.name: [] for c in configs}}
    offset = 0

    def next_people() -> list[dict[str, Any]]:
        nonlocal offset
        people = generate(records, offset)
        offset += records
        return people

    for attempt in range(1, repeat + 1):
        people = next_people()
        with sandbox(work) as url:
            seconds = baseline(url, people)
            runs["baseline"].append(Run(records, seconds, count_persons(url)))
        print(f"  run {attempt}: baseline {records / seconds:,.1f} rec/s", flush=True)
        for config in configs:
            people = next_people()
            with sandbox(work) as url:
                seconds, summary = run_target(
                    target_config(url, config, work), singer_lines(people)
                )
                runs[config.name].append(Run(records, seconds, count_persons(url)))
            print(
                f"  run {attempt}: {config.name}: {records / seconds:,.1f} rec/s ({summary})",
                flush=True,
            )
    with sandbox(work) as url:
        fixed = statistics.median(
            run_target(target_config(url, configs[0], work), singer_lines([]))[0]
            for _ in range(max(repeat, 1))
        )
    return runs, fixed


def report(runs: dict[str, list[Run]], fixed: float, records: int) -> None:
    print(f"\n{'loop':<44} {'records':>8} {'median rec/s':>13}   (runs)")
    for name, measured in runs.items():
        rates = [r.rate for r in measured]
        label = "baseline: requests, 1 POST per record" if name == "baseline" else name
        listed = ", ".join(f"{r:,.1f}" for r in rates)
        print(f"{label:<44} {records:>8,} {statistics.median(rates):>13,.1f}   ({listed})")
    base = statistics.median(r.rate for r in runs["baseline"])
    for name, measured in runs.items():
        if name == "baseline":
            continue
        rate = statistics.median(r.rate for r in measured)
        seconds = statistics.median(r.seconds for r in measured)
        net = records / max(seconds - fixed, 1e-9)
        print(
            f"ratio {name} / baseline: {rate / base:.1f}x "
            f"(without the fixed cost: {net:,.1f} rec/s, {net / base:.1f}x)"
        )
    print(f"target-afas fixed cost (a run with the SCHEMA only): {fixed:.2f}s")
    short = [
        (name, r.landed)
        for name, measured in runs.items()
        for r in measured
        if r.landed != r.records
    ]
    for name, landed in short:
        print(f"WARNING: {name}: {landed:,} persons in AFAS after writing {records:,}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--records", type=int, default=2000, help="records per measurement")
    parser.add_argument("--repeat", type=int, default=3, help="runs per loop (median shown)")
    parser.add_argument(
        "--configs",
        nargs="+",
        type=Config.parse,
        default=[Config(20, 4), Config(1, 4)],
        help="target configurations as BATCHxPARALLEL (default: 20x4 1x4)",
    )
    args = parser.parse_args(argv)
    print(
        f"KnPerson inserts into afas-sandbox (dataset empty, {LATENCY_MS:g} ms per request, "
        f"{PER_ROW_MS:g} ms per row read): {args.records:,} records, {args.repeat} run(s) each"
    )
    with tempfile.TemporaryDirectory(prefix="target-bench-") as tmp:
        runs, fixed = measure(args.records, args.repeat, args.configs, Path(tmp))
    report(runs, fixed, args.records)


if __name__ == "__main__":
    main()
