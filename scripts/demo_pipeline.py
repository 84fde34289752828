"""Show target-afas writing records back into a running afas-sandbox (used by scripts/demo).

demo_pipeline.py BASE_URL WORKDIR: target-afas's config, ledger and rejects go to WORKDIR.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run_tap(config: Path, state: Path | None) -> tuple[Counter[str], dict[str, Any] | None]:
    command = [str(BIN / "tap-afas"), "--config", str(config)]
    if state is not None:
        command += ["--state", str(state)]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    counts: Counter[str] = Counter()
    last_state = None
    for line in output.splitlines():
        message = json.loads(line)
        if message["type"] == "RECORD":
            deleted = " (deletes)" if message["record"].get("_sdc_deleted_at") else ""
            counts[message["stream"] + deleted] += 1
        elif message["type"] == "STATE":
            last_state = message["value"]
    return counts, last_state


def show(title: str, counts: Counter[str]) -> None:
    print(f"\n== {title}")
    for stream, count in sorted(counts.items()):
        print(f"   {stream:<40} {count:>7} records")
    if not counts:
        print("   (no records)")


def main(base_url: str, work: Path) -> None:
    work.mkdir(parents=True, exist_ok=True)
    target_config = json.loads((ROOT / "sample_config" / "target.sandbox.json").read_text())
    target_config.update(
        api_url=base_url,
        ledger_path=str(work / "target-afas-ledger.sqlite3"),
        reject_file=str(work / "target-afas-rejects.jsonl"),
    )
    (work / "target-afas.json").write_text(json.dumps(target_config))
    sample = (ROOT / "sample_config" / "target.sample.singer").read_text()
    done = subprocess.run(
        [str(BIN / "target-afas"), "--config", str(work / "target-afas.json")],
        input=sample,
        capture_output=True,
        text=True,
        check=True,
    )
    print("== target-afas writes sample_config/target.sample.singer back into the sandbox")
    for line in done.stderr.splitlines():
        if "Summary" in line or "rejected" in line:
            print("   " + line.split("| ")[-1])
    people = requests.get(
        f"{base_url}/connectors/Profit_Persons",
        params={"filterfieldids": "PersonId", "filtervalues": "900001", "operatortypes": "1"},
        headers={"Authorization": _token_header()},
        timeout=30,
    ).json()["rows"]
    for row in people:
        print(
            f"   read back: {row['PersonId']} {row['FirstName']} {row['Prefix']} {row['LastName']}"
        )


def _token_header() -> str:
    from afas_sandbox.datasets import load_dataset

    return next(t for t in load_dataset("demo").tokens if t.name == "full").header


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
