"""AFAS's file connectors: their URLs, and safe local names for the files they return.

URLs (afas-rest-api.md section 8), each answering ``{"filename", "mimetype", "filedata"}``
(filedata in Base64; images and reports leave out the name):

- ``GET /SubjectConnector/{subjectId}/{fileId}``: an attachment of a dossier item;
- ``GET /fileconnector/{fileGuid}/{originalFileName}``: the name must be the original, with
  every ``_`` sent as ``_5f``; other special characters are percent-escaped;
- ``GET /ImageConnector/{imageId}?format=0|1|2``: original, thumbnail or medium size;
- ``GET /reportconnector/{reportGuid}``, optionally with ``filterfieldids`` / ``filtervalues`` /
  ``operatortypes`` on the report's field codes.

Every path segment is percent-escaped whole (``/``, ``?``, ``#`` and ``%`` included), and a
segment of only dots is escaped too: ``requests`` would otherwise resolve ``..`` in the URL.

``safe_file_name`` turns a name from AFAS into one that can only name a file inside the
folder it is written to, on every operating system: NFKC-normalised (a full-width solidus,
U+FF0F, becomes ``/``), path separators, control and format characters and ``:*?"<>|`` replaced by
``_``, leading and trailing dots and spaces removed, Windows device names (CON, NUL, COM1...)
prefixed with ``_``, and at most ``MAX_NAME_BYTES`` bytes of UTF-8 (the extension kept).
This module has no Singer concepts.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from enum import IntEnum
from urllib.parse import quote

from afas_profit.errors import AFASConfigError
from afas_profit.filters import Condition, filter_params
from afas_profit.metainfo import GetConnectorInfo

MAX_NAME_BYTES = 200  # below the 255 bytes most file systems allow, leaving room for a prefix
MAX_EXTENSION_CHARS = 16
FALLBACK_NAME = "file"
_UNSAFE_CHARACTERS = re.compile(r'[/\\:*?"<>|]')
_WINDOWS_DEVICES = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"{port}{n}" for port in ("COM", "LPT") for n in "123456789¹²³"}
)


class ImageFormat(IntEnum):
    """The ``format`` parameter of the ImageConnector."""

    ORIGINAL = 0
    THUMBNAIL = 1
    MEDIUM = 2


IMAGE_FORMAT_NAMES = {f.name.lower(): f for f in ImageFormat}


# Field ids (lower case, without "_", "-" and spaces) that hold each part of a file listing,
# in order of preference: AFAS's own Profit_Subject_Attachments uses subject_id / file_id /
# file_name (afas-rest-api.md section 8); customer GetConnectors use English or Dutch names.
LISTING_FIELD_NAMES: Mapping[str, tuple[str, ...]] = {
    "subject_id": ("subjectid", "sbid", "dossieritemid", "dossieritem", "dossierid"),
    "file_id": ("fileid", "fileguid", "bestandid", "bestandguid", "bijlageguid", "guid"),
    "file_name": ("filename", "bestandsnaam", "bestandnaam", "naambestand", "name", "naam"),
    "image_id": ("imageid", "afbeeldingid", "afbeelding", "image", "fotoid"),
}


def _normalised(field_id: str) -> str:
    return re.sub(r"[\s_\-]", "", field_id).lower()


def listing_fields(
    connector: GetConnectorInfo,
    roles: Sequence[str],
    overrides: Mapping[str, str],
    setting: str,
) -> dict[str, str]:
    """The field holding each of ``roles`` (``subject_id``, ``file_id``, ...) in a listing.

    ``overrides`` (from ``setting``) win; otherwise the first field whose normalised id is in
    ``LISTING_FIELD_NAMES``. Raises ``AFASConfigError`` naming the setting to set when a role
    has no field, or an override names a field the connector does not have.
    """
    chosen: dict[str, str] = {}
    for role in roles:
        wanted = overrides.get(role)
        if wanted:
            if connector.field(wanted) is None:
                raise AFASConfigError(
                    f"Setting '{setting}.{role}' is {wanted!r}, not a field of GetConnector "
                    f"{connector.id!r}. Its fields: {', '.join(f.id for f in connector.fields)}."
                )
            chosen[role] = wanted
            continue
        by_name = {_normalised(f.id): f.id for f in reversed(connector.fields)}
        found = next((by_name[n] for n in LISTING_FIELD_NAMES[role] if n in by_name), None)
        if found is None:
            raise AFASConfigError(
                f"GetConnector {connector.id!r} has no field recognised as {role}: set "
                f"'{setting}.{role}' to one of its fields "
                f"({', '.join(f.id for f in connector.fields)})."
            )
        chosen[role] = found
    return chosen


def path_segment(value: object) -> str:
    """One URL path segment: everything but unreserved characters percent-escaped."""
    text = quote(str(value), safe="")
    if text and set(text) == {"."}:
        return "%2E" * len(text)
    return text


def subject_file_path(subject_id: object, file_id: str) -> str:
    return f"/SubjectConnector/{path_segment(subject_id)}/{path_segment(file_id)}"


def afas_file_name(file_name: str) -> str:
    """The original file name as the FileConnector wants it in its URL: ``_`` as ``_5f``."""
    return file_name.replace("_", "_5f")


def file_connector_path(file_id: str, file_name: str) -> str:
    return f"/fileconnector/{path_segment(file_id)}/{path_segment(afas_file_name(file_name))}"


def image_path(image_id: object) -> str:
    return f"/ImageConnector/{path_segment(image_id)}"


def image_params(image_format: ImageFormat) -> dict[str, str | int]:
    return {"format": int(image_format)}


def report_path(report_id: str) -> str:
    return f"/reportconnector/{path_segment(report_id)}"


def report_params(conditions: Sequence[Condition]) -> dict[str, str | int]:
    """A report's filters (AND-ed), in the GetConnector filter parameters."""
    return dict(filter_params([list(conditions)] if conditions else []))


def safe_file_name(name: str, fallback: str = FALLBACK_NAME) -> str:
    """A name from AFAS made safe to be one file name in a folder (see the module docstring)."""
    text = unicodedata.normalize("NFKC", name)
    text = "".join("_" if unicodedata.category(ch)[0] == "C" else ch for ch in text)
    text = _UNSAFE_CHARACTERS.sub("_", text).strip(" .")
    if not text:
        text = fallback
    if text.split(".", 1)[0].rstrip(" ").upper() in _WINDOWS_DEVICES:
        text = "_" + text
    return _shorten(text, MAX_NAME_BYTES)


def _shorten(name: str, limit: int) -> str:
    """``name`` cut to ``limit`` bytes of UTF-8, keeping a short extension."""
    if len(name.encode("utf-8")) <= limit:
        return name
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or len(extension) > MAX_EXTENSION_CHARS:
        stem, extension = name, ""
    suffix = f".{extension}" if extension else ""
    room = limit - len(suffix.encode("utf-8"))
    cut = stem.encode("utf-8")[:room].decode("utf-8", errors="ignore").rstrip(" .")
    return (cut or FALLBACK_NAME) + suffix


def relative_path(*parts: object) -> str:
    """Folder and file names joined with ``/``, each made safe; never leaves the root."""
    names = [safe_file_name(str(part)) for part in parts]
    return "/".join(names)


def extension_for(mime_type: str | None) -> str:
    """A file extension (with its dot) for a MIME type AFAS gives; ``.bin`` when unknown."""
    kind = (mime_type or "").split(";", 1)[0].strip().lower()
    return MIME_EXTENSIONS.get(kind, ".bin")


MIME_EXTENSIONS = {
    "application/pdf": ".pdf",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/jpg": ".jpg",
    "image/gif": ".gif",
    "image/bmp": ".bmp",
    "image/tiff": ".tif",
    "image/webp": ".webp",
    "text/plain": ".txt",
    "text/csv": ".csv",
    "application/json": ".json",
    "application/xml": ".xml",
    "text/xml": ".xml",
    "application/zip": ".zip",
    "application/msword": ".doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.ms-excel": ".xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
}
