"""Download the demo's files from a running afas-sandbox with tap-afas (used by scripts/demo).

    .venv/bin/python scripts/demo_files.py BASE_URL [FOLDER]     # FOLDER: output/files

Runs ``tap-afas`` twice with the ``files``, ``images`` and ``reports`` settings: the dossier
attachments (SubjectConnector), the files listed by Profit_Subject_Files (FileConnector, names
with spaces, ``_``, accents and one that tries ``../``), the images (ImageConnector,
thumbnails) and one report (ReportConnector). Prints what the first run wrote, then shows that
the second run downloads nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from afas_sandbox.datasets import load_dataset
from afas_sandbox.datasets.demo.files import DEMO_REPORTS

STREAMS = {
    "subject_files": "dossier attachments (SubjectConnector)",
    "file_connector_files": "files listed by Profit_Subject_Files (FileConnector)",
    "images": "images (ImageConnector, thumbnails)",
    "reports": "reports (ReportConnector)",
}
SHOWN_PER_STREAM = 4


def config(base_url: str, folder: Path) -> dict[str, Any]:
    token = next(t for t in load_dataset("demo").tokens if t.name == "full")
    report = DEMO_REPORTS[0]
    return {
        "api_url": base_url,
        "token": token.xml,
        "connectors": ["Profit_Administrations"],
        "files": {"directory": str(folder), "file_connector": "Profit_Subject_Files"},
        "images": {"connector": "Profit_Images", "format": "thumbnail"},
        "reports": [
            {
                "id": report.report_id,
                "name": report.name,
                "filters": [{"field": "Jaar", "operator": "=", "value": "2025"}],
            }
        ],
    }


def run_tap(settings: dict[str, Any], state: dict[str, Any] | None) -> list[dict[str, Any]]:
    """One tap-afas run; its Singer messages."""
    with tempfile.TemporaryDirectory(prefix="demo-files-") as work:
        config_file = Path(work) / "config.json"
        config_file.write_text(json.dumps(settings), encoding="utf-8")
        command = [sys.executable, "-m", "tap_afas", "--config", str(config_file)]
        if state is not None:
            state_file = Path(work) / "state.json"
            state_file.write_text(json.dumps(state), encoding="utf-8")
            command += ["--state", str(state_file)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-3000:])
        raise SystemExit(f"tap-afas failed (exit {done.returncode})")
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def main(base_url: str, folder: Path) -> None:
    settings = config(base_url, folder)
    messages = run_tap(settings, None)
    records = [m for m in messages if m["type"] == "RECORD" and m["stream"] in STREAMS]
    total = sum(m["record"]["size"] for m in records)
    print(f"tap-afas wrote {len(records)} files ({total / 1e6:.1f} MB) into {folder}:")
    for stream, what in STREAMS.items():
        mine = [m["record"] for m in records if m["stream"] == stream]
        print(f"  {len(mine):>4} {what}")
        for record in mine[:SHOWN_PER_STREAM]:
            name = record.get("file_name") or record.get("report_name") or record.get("image_id")
            print(f"         {str(name)!r:<34} -> {record['path']} ({record['size']} bytes)")
        if len(mine) > SHOWN_PER_STREAM:
            print(f"         ... and {len(mine) - SHOWN_PER_STREAM} more")
    escaped = [m["record"] for m in records if m["record"].get("file_name") == "../../etc/passwd"]
    for record in escaped[:1]:
        print(f"  the name '../../etc/passwd' was written as {record['path']} (inside the folder)")
    states = [m["value"] for m in messages if m["type"] == "STATE"]
    again = run_tap(settings, states[-1] if states else None)
    counts = Counter(m["stream"] for m in again if m["type"] == "RECORD" and m["stream"] in STREAMS)
    print(
        f"A second run downloaded {sum(counts.values())} files: the manifests in "
        f"{folder}/.tap-afas/ and the bookmarks in the state know what is there."
    )


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        raise SystemExit("usage: demo_files.py BASE_URL [FOLDER]")
    main(sys.argv[1], Path(sys.argv[2] if len(sys.argv) == 3 else "output/files"))
