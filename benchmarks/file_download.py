"""Peak memory of tap-afas downloading a large file: it should not grow with the file.

For each ``--mb`` size, starts ``afas-sandbox serve --file-mb SIZE`` in its own process and runs
``tap-afas`` as a subprocess with the ``files`` setting on the FileConnector listing
``Profit_Subject_Files`` (twelve demo files, one of them SIZE MB, sent as about 1.33 x SIZE MB
of Base64 inside JSON). Measured per run: the tap process's peak RSS (``os.wait4``), its wall
time, and the large file's SHA-256 against the sandbox's own bytes. For contrast, the same file
fetched the naive way (``response.json()`` then ``base64.b64decode``) in a child process.

    .venv/bin/python benchmarks/file_download.py            # 1 MB and 50 MB
    .venv/bin/python benchmarks/file_download.py --mb 1 50 200
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from afas_sandbox.datasets import load_dataset
from afas_sandbox.datasets.demo.files import DEMO_FILES, LARGE_FILE_ID, StoredFile, file_chunks

MB = 1 << 20
LISTING = "Profit_Subject_Files"
LARGE = next(f for f in DEMO_FILES if f.file_id == LARGE_FILE_ID)
NAIVE = """
import base64, sys, requests
response = requests.get(sys.argv[1], headers={"Authorization": sys.argv[2]}, timeout=600)
data = base64.b64decode(response.json()["filedata"])
print(len(data))
"""


def start_sandbox(work: Path, size_mb: float) -> tuple[subprocess.Popen[bytes], str]:
    url_file = work / f"sandbox-{size_mb:g}.url"
    process = subprocess.Popen(
        [sys.executable, "-m", "afas_sandbox", "serve", "--port", "0", "--rows", "10",
         "--file-mb", f"{size_mb:g}", "--url-file", str(url_file)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(600):
        if url_file.exists() and url_file.read_text().strip():
            return process, url_file.read_text().strip()
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    raise SystemExit("afas-sandbox did not start")


def peak_rss_mb(command: list[str], **kwargs: Any) -> tuple[float, float, int]:
    """Run ``command``; (peak RSS in MB, wall seconds, exit status)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, **kwargs)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_maxrss / 1024, time.perf_counter() - started, process.returncode


def sha256_of(path: Path) -> str:
    """Read in pieces: this process stays small, as a child started later (fork, then exec)
    would otherwise count this process's memory in its own peak RSS."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while piece := handle.read(MB):
            digest.update(piece)
    return digest.hexdigest()


def expected_sha256(size_bytes: int) -> str:
    digest = hashlib.sha256()
    stored = StoredFile(LARGE.file_id, LARGE.file_name, LARGE.mime_type, size_bytes)
    for piece in file_chunks(stored):
        digest.update(piece)
    return digest.hexdigest()


def measure(work: Path, size_mb: float, token_xml: str, header: str) -> dict[str, float]:
    sandbox, base_url = start_sandbox(work, size_mb)
    try:
        directory = work / f"files-{size_mb:g}"
        config = {
            "api_url": base_url,
            "token": token_xml,
            "connectors": ["Profit_Administrations"],
            "files": {"directory": str(directory), "connector": None, "file_connector": LISTING},
        }
        config_file = work / f"config-{size_mb:g}.json"
        config_file.write_text(json.dumps(config))
        rss, seconds, status = peak_rss_mb(
            [sys.executable, "-m", "tap_afas", "--config", str(config_file)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if status != 0:
            raise SystemExit(f"tap-afas failed (exit {status})")
        written = next(directory.glob(f"file_connector_files/{LARGE.file_id}-*"))
        digest = sha256_of(written)
        size_bytes = int(size_mb * MB)
        if digest != expected_sha256(size_bytes) or written.stat().st_size != size_bytes:
            raise SystemExit(f"the {size_mb:g} MB file differs from the sandbox's bytes")
        url = f"{base_url}/fileconnector/{LARGE.file_id}/" + quote(
            LARGE.file_name.replace("_", "_5f"), safe=""
        )
        naive, _, _ = peak_rss_mb(
            [sys.executable, "-c", NAIVE, url, header], stdout=subprocess.DEVNULL
        )
        return {"tap": rss, "seconds": seconds, "naive": naive}
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, nargs="+", default=[1.0, 50.0])
    args = parser.parse_args()
    token = next(t for t in load_dataset("demo").tokens if t.name == "full")
    results: dict[float, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="tap-afas-files-") as work:
        for size in args.mb:
            results[size] = measure(Path(work), size, token.xml, token.header)
            r = results[size]
            print(
                f"{size:>6g} MB file: tap-afas peak RSS {r['tap']:6.1f} MB "
                f"({r['seconds']:.1f} s for 12 files, SHA-256 checked); "
                f"naive response.json() + b64decode: {r['naive']:6.1f} MB"
            )
    smallest, largest = min(results), max(results)
    growth = results[largest]["tap"] - results[smallest]["tap"]
    print(
        f"tap-afas peak RSS grows {growth:+.1f} MB from a {smallest:g} MB to a {largest:g} MB "
        f"file; the naive way grows {results[largest]['naive'] - results[smallest]['naive']:+.1f}"
        " MB"
    )


if __name__ == "__main__":
    main()
