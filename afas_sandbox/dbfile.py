"""The ``--db`` file: a built dataset kept on disk, reused, and never mistaken for another file.

A sandbox file is recognised positively: an SQLite database whose header carries the sandbox's
``application_id`` (files written before that marker: a ``sandbox_meta`` table with exactly the
sandbox's keys). Anything else at the path is refused and left untouched. Rules:

- nothing at the path: build the dataset and write the file (via a temporary file + rename);
- a sandbox file: its dataset, seed and rows apply to every parameter not given explicitly;
  given ones that differ are refused unless ``rebuild`` is set (then the file is rebuilt);
- a sandbox file from another format or dataset version: rebuilt with the same parameters.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from afas_sandbox.datasets import DATASET_NAMES, Dataset
from afas_sandbox.inputs import SandboxInputError
from afas_sandbox.store import FORMAT_VERSION, build_template

APPLICATION_ID = 0x41464153  # "AFAS" in the SQLite header (offset 68)
SQLITE_MAGIC = b"SQLite format 3\x00"
HEADER_BYTES = 100
APPLICATION_ID_OFFSET = 68
META_KEYS = frozenset({"format", "dataset", "dataset_version", "seed", "rows"})

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SandboxFile:
    """What an existing sandbox file holds."""

    path: Path
    dataset: str
    dataset_version: str
    format: str
    seed: int
    rows: int

    def describe(self) -> str:
        return f"dataset '{self.dataset}' with seed {self.seed} and {self.rows} rows"


def inspect(path: Path) -> SandboxFile | None:
    """The sandbox file at ``path``, ``None`` when nothing is there; refuses any other file."""
    if not path.exists() and not path.is_symlink():
        if not path.parent.is_dir():
            raise SandboxInputError(
                f"--db {path}: the folder {path.parent} does not exist; create it or choose "
                "another path"
            )
        return None
    if path.is_dir():
        raise SandboxInputError(f"--db {path} is a folder; give the path of a file")
    header = _header(path)
    if not header.startswith(SQLITE_MAGIC):
        raise _foreign(path, "it is not an SQLite database")
    marked = int.from_bytes(header[APPLICATION_ID_OFFSET : APPLICATION_ID_OFFSET + 4], "big")
    if marked not in (0, APPLICATION_ID):
        raise _foreign(path, "it is an SQLite database of another application")
    meta = _meta_of(path)
    if meta is None or set(meta) != META_KEYS:
        if marked == APPLICATION_ID:
            raise SandboxInputError(
                f"--db {path} is a damaged sandbox file (its parameters cannot be read); "
                "delete it yourself or choose another path"
            )
        raise _foreign(path, "it is an SQLite database without the sandbox's tables")
    try:
        seed, rows = int(meta["seed"]), int(meta["rows"])
    except ValueError:
        raise SandboxInputError(
            f"--db {path} is a damaged sandbox file (seed {meta['seed']!r}, rows "
            f"{meta['rows']!r}); delete it yourself or choose another path"
        ) from None
    return SandboxFile(path, meta["dataset"], meta["dataset_version"], meta["format"], seed, rows)


def choose(
    found: SandboxFile | None, dataset: str | None, seed: int | None, rows: int | None
) -> tuple[str, int, int | None]:
    """Dataset, seed and rows: each given one, else the file's, else the default (rows None)."""
    if found is None:
        chosen = dataset or "demo", 1 if seed is None else seed, rows
    else:
        same_dataset = dataset is None or dataset == found.dataset
        chosen = (
            dataset or found.dataset,
            found.seed if seed is None else seed,
            rows if rows is not None or not same_dataset else found.rows,
        )
    if chosen[0] not in DATASET_NAMES:
        where = f" (the dataset of {found.path})" if found is not None and not dataset else ""
        raise SandboxInputError(
            f"unknown dataset {chosen[0]!r}{where}; choose one of {', '.join(DATASET_NAMES)}",
            field="dataset",
        )
    return chosen


def load_or_build(
    dataset: Dataset, *, seed: int, rows: int, path: Path, rebuild: bool = False
) -> sqlite3.Connection:
    """The dataset from the sandbox file at ``path``, building (or rebuilding) it when needed."""
    found = inspect(path)
    wanted = f"dataset '{dataset.name}' with seed {seed} and {rows} rows"
    if found is None:
        log.info("building %s into %s", wanted, path)
        return _build_into(dataset, seed=seed, rows=rows, path=path, replacing=None)
    same = (found.dataset, found.seed, found.rows) == (dataset.name, seed, rows)
    if not same and not rebuild:
        raise SandboxInputError(
            f"--db {path} holds {found.describe()}, not {wanted}; leave out --dataset/--seed/"
            "--rows to use the file as it is, add --rebuild to replace it, or choose another "
            "--db path"
        )
    if not same:
        log.info("rebuilding %s: it held %s, now %s", path, found.describe(), wanted)
    elif (found.format, found.dataset_version) != (FORMAT_VERSION, dataset.version):
        log.info(
            "rebuilding %s: it was written by another afas-sandbox version (format %s, "
            "dataset version %s; now %s and %s)",
            path,
            found.format,
            found.dataset_version,
            FORMAT_VERSION,
            dataset.version,
        )
    else:
        return _read(path)
    return _build_into(dataset, seed=seed, rows=rows, path=path, replacing=found)


def _build_into(
    dataset: Dataset, *, seed: int, rows: int, path: Path, replacing: SandboxFile | None
) -> sqlite3.Connection:
    template = build_template(dataset, seed=seed, rows=rows)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.building")
    try:
        file_conn = sqlite3.connect(temporary)
        try:
            template.backup(file_conn)
            file_conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            file_conn.commit()
        finally:
            file_conn.close()
        # The path may have changed while we built; never replace what is not ours.
        if (inspect(path) is None) != (replacing is None):
            raise SandboxInputError(
                f"--db {path} appeared or changed while the dataset was being built; start again"
            )
        os.replace(temporary, path)
    except (OSError, sqlite3.Error) as exc:
        raise SandboxInputError(
            f"--db {path} cannot be written ({exc}); choose a folder you can write to"
        ) from None
    finally:
        temporary.unlink(missing_ok=True)
    return template


def _read(path: Path) -> sqlite3.Connection:
    """The file's data in memory: a template, only ever the source of ``Store.copy_of``."""
    conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
    file_conn = _open_read_only(path)
    try:
        file_conn.backup(conn)
    finally:
        file_conn.close()
    return conn


def _header(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(HEADER_BYTES)
    except OSError as exc:
        raise SandboxInputError(
            f"--db {path} cannot be read ({exc.strerror}); check its permissions or choose "
            "another path"
        ) from None


def _meta_of(path: Path) -> dict[str, str] | None:
    try:
        conn = _open_read_only(path)
        try:
            return dict(conn.execute("SELECT key, value FROM sandbox_meta").fetchall())
        finally:
            conn.close()
    except sqlite3.Error:
        return None


def _open_read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)


def _foreign(path: Path, why: str) -> SandboxInputError:
    return SandboxInputError(
        f"--db {path} is not a sandbox file ({why}); it was left untouched. Give a path that "
        "does not exist yet, or a file afas-sandbox wrote"
    )
