"""End-to-end layer: the sample target config writes the sample .singer file as documented."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from afas_sandbox import RunningSandbox

ROOT = Path(__file__).resolve().parents[2]


def test_sample_singer_file_lands_with_the_expected_outcomes(
    afas_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    config = json.loads((ROOT / "sample_config" / "target.sandbox.json").read_text())
    config.update(
        api_url=afas_sandbox.base_url,
        ledger_path=str(tmp_path / "ledger.sqlite3"),
        reject_file=str(tmp_path / "rejects.jsonl"),
    )
    (tmp_path / "target.json").write_text(json.dumps(config))
    done = subprocess.run(
        [sys.executable, "-m", "target_afas", "--config", str(tmp_path / "target.json")],
        input=(ROOT / "sample_config" / "target.sample.singer").read_text(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    summaries = sorted(
        line.split("Summary ", 1)[1] for line in done.stderr.splitlines() if "Summary " in line
    )
    assert summaries == [
        "journal_entries: inserted 1",
        "people: inserted 2, updated 1, rejected 1",
        "removed_people: deleted 1",
    ]
    rejected = [json.loads(line) for line in (tmp_path / "rejects.jsonl").read_text().splitlines()]
    assert [r["record"]["PersonId"] for r in rejected] == ["900003"]
    assert "Geslacht" in rejected[0]["reason"]
    persons = {r["PersonId"]: r for r in afas_sandbox.rows("Profit_Persons")}
    assert persons["900001"]["LastName"] == "Vries"
    assert persons["900001"]["Prefix"] == "de"
    assert "900002" not in persons
    assert persons["100001"]["LastName"] == "Dekker-Jansen"
    entries = [
        r
        for r in afas_sandbox.rows("Profit_Transactions")
        if r["Description"] == "Memoriaal huur november"
    ]
    assert sorted((r["AmountDebit"] or 0, r["AmountCredit"] or 0) for r in entries) == [
        (0, 1250.0),
        (1250.0, 0),
    ]
    assert json.loads(done.stdout.splitlines()[-1]) == {
        "bookmarks": {"people": {"replication_key_value": "2026-11-02T00:00:00+00:00"}}
    }
