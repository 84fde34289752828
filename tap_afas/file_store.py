"""Where downloaded files go (a local folder or an fsspec URL), and the manifest of what is there.

``FileDirectory`` writes each file under a temporary name in ``<root>/.tap-afas/partial/`` and then
moves it to its place: on a local disk that is an atomic rename; on an object store (``s3://``,
``gs://``, ``az://``, with the matching fsspec package installed) a copy, the object appearing
whole. A reader never sees half a file; temporary files an interrupted sync left behind are
removed when the stream next runs. Relative paths come from ``afas_profit.files`` (every part
made safe) and are checked again here: no part may be empty, ``.`` or ``..``.

``Manifest`` remembers, per stream, every file downloaded (key -> sha256, size, path and the
listing's modified date) and every file AFAS answered 404 for (retried by the next sync). It
lives in the directory (``.tap-afas/<stream>.manifest.json``, rewritten atomically at most every
``SAVE_EVERY_SECONDS`` and at the end of the stream), or, for ``inline`` without a directory, in
the stream's Singer state. When it is lost, files are downloaded again, written again with the
same content, and their records emitted again.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, MutableMapping
from typing import Any

import fsspec  # type: ignore[import-untyped]  # fsspec ships no type information

from afas_profit.errors import AFASConfigError

PRIVATE_FOLDER = ".tap-afas"
PARTIAL_FOLDER = f"{PRIVATE_FOLDER}/partial"  # files being written, under temporary names
MANIFEST_VERSION = 1
SAVE_EVERY_SECONDS = 30.0
STATE_KEY = "afas_files"
Entry = dict[str, Any]
LOGGER = logging.getLogger("tap_afas.files")


class PendingFile:
    """A file being written under a temporary name; ``commit`` gives it its name."""

    def __init__(self, directory: FileDirectory, temporary: str) -> None:
        self._directory = directory
        self.temporary = temporary
        self._handle: Any = directory.fs.open(temporary, "wb")
        self._open = True

    def write(self, data: bytes) -> None:
        self._handle.write(data)

    def commit(self, relative: str) -> None:
        """Move the finished file to ``relative`` (replacing a file of that name)."""
        self._close()
        self._directory.move(self.temporary, relative)

    def discard(self) -> None:
        """Remove the temporary file (a failed or refused download)."""
        self._close()
        fs = self._directory.fs
        if fs.exists(self.temporary):
            fs.rm(self.temporary)

    def _close(self) -> None:
        if self._open:
            self._open = False
            self._handle.close()


class FileDirectory:
    """The folder (or fsspec URL) given as ``files.directory``."""

    def __init__(self, location: str) -> None:
        self.location = location
        try:
            self.fs, root = fsspec.core.url_to_fs(location)
        except ImportError as exc:
            raise AFASConfigError(
                f"Setting 'files.directory' is {location!r}: {exc} (e.g. pip install s3fs, "
                "gcsfs or adlfs next to tap-afas)."
            ) from None
        except ValueError as exc:
            raise AFASConfigError(
                f"Setting 'files.directory' is {location!r}, which fsspec cannot open ({exc}); "
                "give a local folder or a URL such as s3://bucket/folder."
            ) from None
        self.root: str = str(root).rstrip("/")

    def prepare(self) -> None:
        """Create the folder (when a sync starts, not at discovery)."""
        try:
            self.fs.makedirs(self._path(PARTIAL_FOLDER), exist_ok=True)
        except OSError as exc:
            raise AFASConfigError(
                f"Setting 'files.directory' is {self.location!r}, which cannot be created or "
                f"written ({exc}); choose a folder this user may write."
            ) from None

    def __repr__(self) -> str:
        return f"FileDirectory({self.location!r})"

    def _path(self, relative: str) -> str:
        return f"{self.root}/{relative}"

    def new_file(self, stream: str) -> PendingFile:
        name = f"{PARTIAL_FOLDER}/{stream}-{uuid.uuid4().hex}.part"
        return PendingFile(self, self._path(name))

    def remove_leftovers(self, stream: str) -> int:
        """Remove temporary files an interrupted run of ``stream`` left; how many there were."""
        pattern = self._path(f"{PARTIAL_FOLDER}/{stream}-*.part")
        found = list(self.fs.glob(pattern))
        for path in found:
            self.fs.rm(path)
        return len(found)

    def move(self, temporary: str, relative: str) -> None:
        target = self._path(check_relative(relative))
        parent = target.rsplit("/", 1)[0]
        self.fs.makedirs(parent, exist_ok=True)
        self.fs.mv(temporary, target)

    def read_text(self, relative: str) -> str | None:
        path = self._path(check_relative(relative))
        if not self.fs.exists(path):
            return None
        with self.fs.open(path, "rb") as handle:
            return bytes(handle.read()).decode("utf-8")

    def write_text(self, relative: str, text: str, stream: str) -> None:
        pending = self.new_file(stream)
        try:
            pending.write(text.encode("utf-8"))
            pending.commit(relative)
        except BaseException:
            pending.discard()
            raise


def check_relative(relative: str) -> str:
    """``relative`` if it can only name something inside the directory; else ValueError."""
    parts = relative.split("/")
    if any(part in ("", ".", "..") or "\\" in part or "\x00" in part for part in parts):
        raise ValueError(f"not a safe relative path: {relative!r}")
    return relative


class Manifest:
    """What one stream downloaded (``files``) and what to retry (``pending``)."""

    def __init__(
        self,
        files: dict[str, Entry],
        pending: dict[str, Entry],
        *,
        found: bool,
        save: Callable[[dict[str, Any]], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.files = files
        self.pending = pending
        self.found = found  # it existed before this sync (so a bookmark can be trusted)
        self._save = save
        self._clock = clock
        self._saved_at = clock()
        self._dirty = False

    @classmethod
    def in_directory(cls, directory: FileDirectory, stream: str) -> Manifest:
        relative = f"{PRIVATE_FOLDER}/{stream}.manifest.json"
        text = directory.read_text(relative)
        document: Any = None
        if text is not None:
            try:
                document = json.loads(text)
            except ValueError:
                LOGGER.warning(
                    "%s: the manifest %s/%s is not readable JSON; every listed file is "
                    "downloaded again",
                    stream,
                    directory.location,
                    relative,
                )

        def save(value: dict[str, Any]) -> None:
            value = {"version": MANIFEST_VERSION, "stream": stream, **value}
            directory.write_text(relative, json.dumps(value, ensure_ascii=False), stream)

        files, pending = _parts(document)
        return cls(files, pending, found=isinstance(document, dict), save=save)

    @classmethod
    def in_state(cls, state: MutableMapping[str, Any]) -> Manifest:
        """A manifest kept in the stream's Singer state (``inline`` without a directory)."""
        document = state.get(STATE_KEY)
        files, pending = _parts(document)

        def save(value: dict[str, Any]) -> None:
            state[STATE_KEY] = value

        manifest = cls(files, pending, found=isinstance(document, dict), save=save)
        save(manifest._document())
        return manifest

    def has(self, key: str, modified: str | None) -> bool:
        """True when the file ``key`` was downloaded (and the listing's date did not move)."""
        entry = self.files.get(key)
        return entry is not None and (modified is None or entry.get("modified") == modified)

    def same_content(self, key: str, sha256: str) -> bool:
        entry = self.files.get(key)
        return entry is not None and entry.get("sha256") == sha256

    def add(self, key: str, entry: Entry) -> None:
        self.files[key] = entry
        self.pending.pop(key, None)
        self._changed()

    def retry_later(self, key: str, row: Entry) -> None:
        self.pending[key] = row
        self._changed()

    def save(self) -> None:
        if self._dirty:
            self._save(self._document())
            self._dirty = False
            self._saved_at = self._clock()

    def _changed(self) -> None:
        self._dirty = True
        if self._clock() - self._saved_at >= SAVE_EVERY_SECONDS:
            self.save()

    def _document(self) -> dict[str, Any]:
        return {"files": self.files, "pending": self.pending}


def _parts(document: Any) -> tuple[dict[str, Entry], dict[str, Entry]]:
    if not isinstance(document, dict):
        return {}, {}
    files = document.get("files")
    pending = document.get("pending")
    return (
        dict(files) if isinstance(files, dict) else {},
        dict(pending) if isinstance(pending, dict) else {},
    )
