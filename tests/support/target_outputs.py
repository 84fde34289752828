"""What target-afas leaves besides AFAS's data: its summary lines, its reject file, its ledger."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

SUMMARY = re.compile(r"Summary (?P<stream>\S+): (?P<counts>.*)$")


def summary_counts(lines: Iterable[str], stream: str) -> dict[str, int]:
    """Counts from the ``Summary <stream>: inserted 2, ...`` log line (fails when absent)."""
    for line in lines:
        match = SUMMARY.search(line)
        if match and match.group("stream") == stream:
            text = match.group("counts")
            if text == "no records":
                return {}
            return {
                part.rsplit(" ", 1)[0]: int(part.rsplit(" ", 1)[1]) for part in text.split(", ")
            }
    raise AssertionError(f"no 'Summary {stream}:' line in the log")


def read_rejects(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def ledger_rows(path: Path, state: str = "landed") -> list[dict[str, Any]]:
    """The ledger's records in ``state`` (read-only), with ``outcome`` named as in the summary."""
    if not path.exists():
        return []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        cursor = db.execute(
            "SELECT scope, fingerprint, stream, state, action, afas_keys, updated_at FROM writes "
            "WHERE state = ? ORDER BY rowid",
            (state,),
        )
        names = [c[0] for c in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    except sqlite3.OperationalError:
        return []
    finally:
        db.close()
    for row in rows:
        row["outcome"] = {"insert": "inserted", "update": "updated", "delete": "deleted"}.get(
            row["action"], row["action"]
        )
    return rows
