"""Show tap-afas and target-afas against a running afas-sandbox (used by scripts/demo).

Full sync, a change in the sandbox, an incremental sync that picks up exactly that change,
then a write back through target-afas, read back from the sandbox.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
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


def main(base_url: str) -> None:
    root_url = base_url.rsplit("/ProfitRestServices", 1)[0]
    work = Path(tempfile.mkdtemp(prefix="afas-demo-"))
    tap_config = json.loads((ROOT / "sample_config" / "tap.sandbox.json").read_text())
    tap_config.update(api_url=base_url, connectors=["Profit_Persons", "Profit_Transactions"])
    (work / "tap.json").write_text(json.dumps(tap_config))
    counts, state = run_tap(work / "tap.json", None)
    show("tap-afas full sync", counts)
    (work / "state.json").write_text(json.dumps(state))

    change = {"connector": "Profit_Persons", "inserts": 2, "updates": 3, "deletes": 1}
    result = requests.post(f"{root_url}/_sandbox/mutate", json=change, timeout=30).json()
    print(f"\n== sandbox change: {result}")
    time.sleep(1.1)  # a sync reads up to its start second; changes in that second come next time
    counts, _ = run_tap(work / "tap.json", work / "state.json")
    show("tap-afas incremental sync (only what changed)", counts)

    target_config = json.loads((ROOT / "sample_config" / "target.sandbox.json").read_text())
    target_config.update(
        api_url=base_url,
        ledger_path=str(work / "ledger.sqlite3"),
        reject_file=str(work / "rejects.jsonl"),
    )
    (work / "target.json").write_text(json.dumps(target_config))
    sample = (ROOT / "sample_config" / "target.sample.singer").read_text()
    done = subprocess.run(
        [str(BIN / "target-afas"), "--config", str(work / "target.json")],
        input=sample,
        capture_output=True,
        text=True,
        check=True,
    )
    print("\n== target-afas writes sample_config/target.sample.singer")
    for line in done.stderr.splitlines():
        if "Summary" in line or "rejected" in line:
            print("   " + line.split("| ")[-1])


if __name__ == "__main__":
    main(sys.argv[1])
