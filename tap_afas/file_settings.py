"""The settings of the file streams (``files``, ``images``, ``reports``): declared and parsed.

``file_properties()`` is merged into the tap's config schema (``tap_afas.settings``);
``DownloadSettings.from_config`` parses the three settings once into frozen values and refuses
unknown keys, so a typo such as ``"diretory"`` is an error rather than a silently ignored key.
Without ``files`` (with a ``directory`` or ``inline: true``) there are no file streams.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from afas_profit.errors import AFASConfigError
from afas_profit.files import IMAGE_FORMAT_NAMES, ImageFormat
from afas_profit.filters import Condition, parse_filter_setting

DEFAULT_SUBJECT_CONNECTOR = "Profit_Subject_Attachments"  # AFAS's own (afas-rest-api.md 8)
DEFAULT_MAX_INLINE_BYTES = 10 * 1024 * 1024
SUBJECT_ROLES = ("subject_id", "file_id", "file_name", "modified")
FILE_ROLES = ("file_id", "file_name", "modified")
IMAGE_ROLES = ("image_id", "modified")
FILES_KEYS = frozenset(
    {
        "directory",
        "connector",
        "fields",
        "file_connector",
        "file_connector_fields",
        "inline",
        "max_inline_bytes",
    }
)
IMAGES_KEYS = frozenset({"connector", "fields", "format"})
REPORT_KEYS = frozenset({"id", "name", "filters"})


ROLE_DESCRIPTIONS = {
    "subject_id": "Field with the dossier item (subject) id.",
    "file_id": "Field with the file id (GUID).",
    "file_name": "Field with the file's original name.",
    "image_id": "Field with the image id.",
    "modified": 'The modified-date field ("" for none: every sync reads the whole listing).',
}


def _fields_schema(roles: tuple[str, ...]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            role: {"type": "string", "description": ROLE_DESCRIPTIONS[role]} for role in roles
        },
        "description": (
            f"Listing fields holding {', '.join(roles)} (default: detected by name; "
            'modified: the modified-date field, "" for none).'
        ),
    }


def file_properties() -> dict[str, dict[str, Any]]:
    """The ``files``, ``images`` and ``reports`` settings (JSON Schema)."""
    return {
        "files": {
            "type": ["object", "null"],
            "properties": {
                "directory": {
                    "type": "string",
                    "description": (
                        "Folder or fsspec URL (s3://, gs://, az:// with the matching fsspec "
                        "package installed) the files are written to."
                    ),
                },
                "connector": {
                    "type": ["string", "null"],
                    "description": (
                        "GetConnector listing dossier attachments, fetched through the "
                        f"SubjectConnector (default {DEFAULT_SUBJECT_CONNECTOR}; '' or null: none)."
                    ),
                },
                "fields": _fields_schema(SUBJECT_ROLES),
                "file_connector": {
                    "type": ["string", "null"],
                    "description": (
                        "GetConnector listing file GUIDs and names, downloaded through the "
                        "FileConnector (stream file_connector_files)."
                    ),
                },
                "file_connector_fields": _fields_schema(FILE_ROLES),
                "inline": {
                    "type": "boolean",
                    "description": "Put the content in the record (content_base64), not in files.",
                },
                "max_inline_bytes": {
                    "type": "integer",
                    "minimum": 1,
                    "description": (
                        "With inline: larger files are skipped with a WARNING (default 10 MB)."
                    ),
                },
            },
            "title": "Files from AFAS",
            "description": (
                "Download files: dossier attachments (stream subject_files) and, when set, "
                "FileConnector files, images and reports. Give a 'directory' (local folder or "
                "fsspec URL) or 'inline': true. A file already downloaded is not downloaded "
                "again (a manifest in the directory, or the state when inline)."
            ),
        },
        "images": {
            "type": ["object", "null"],
            "properties": {
                "connector": {
                    "type": "string",
                    "description": "GetConnector with a field holding image ids.",
                },
                "fields": _fields_schema(IMAGE_ROLES),
                "format": {
                    "type": "string",
                    "enum": list(IMAGE_FORMAT_NAMES),
                    "description": "ImageConnector format (default original).",
                },
            },
            "title": "Images (ImageConnector)",
            "description": (
                'Images whose ids a GetConnector lists (stream images), e.g. {"connector": '
                '"Profit_Images", "format": "original"}; needs the files setting.'
            ),
        },
        "reports": {
            "type": ["array", "null"],
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "string", "description": "The report's GUID."},
                    "name": {"type": "string", "description": "Folder name for its files."},
                    "filters": {
                        "type": "array",
                        "items": {"type": "object"},
                        "description": "[{field, operator, value}] on the report's field codes.",
                    },
                },
                "required": ["id"],
            },
            "title": "Reports (ReportConnector)",
            "description": (
                "Reports run on every sync and saved as a new file when their content changed "
                '(stream reports), e.g. [{"id": "<GUID>", "name": "hours", "filters": '
                '[{"field": "Jaar", "operator": "=", "value": "2025"}]}]; needs the files setting.'
            ),
        },
    }


@dataclass(frozen=True)
class ListingSetting:
    """A GetConnector that lists files, and the field overrides for its parts."""

    connector: str
    fields: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ReportSetting:
    report_id: str
    name: str
    filters: tuple[Condition, ...]


@dataclass(frozen=True)
class DownloadSettings:
    """Where files go and which file streams exist."""

    directory: str | None
    inline: bool
    max_inline_bytes: int
    subjects: ListingSetting | None
    file_connector: ListingSetting | None
    images: ListingSetting | None
    image_format: ImageFormat
    reports: tuple[ReportSetting, ...]

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> DownloadSettings | None:
        files = config.get("files")
        images = config.get("images")
        reports = config.get("reports")
        if not files:
            if images or reports:
                raise AFASConfigError(
                    "Settings 'images' and 'reports' need the 'files' setting: set "
                    '"files": {"directory": "<folder>"} (or "inline": true) for where they go.'
                )
            return None
        _check_keys("files", files, FILES_KEYS)
        directory = files.get("directory") or None
        inline = bool(files.get("inline"))
        if directory is None and not inline:
            raise AFASConfigError(
                "Setting 'files' needs 'directory' (a folder or fsspec URL such as "
                "s3://bucket/afas) or 'inline': true (content in the records)."
            )
        subject_connector = files.get("connector", DEFAULT_SUBJECT_CONNECTOR)
        image_setting = _images(images)
        return cls(
            directory=str(directory) if directory else None,
            inline=inline,
            max_inline_bytes=int(files.get("max_inline_bytes") or DEFAULT_MAX_INLINE_BYTES),
            subjects=_listing(subject_connector, files.get("fields"), "files.fields"),
            file_connector=_listing(
                files.get("file_connector"),
                files.get("file_connector_fields"),
                "files.file_connector_fields",
            ),
            images=image_setting,
            image_format=IMAGE_FORMAT_NAMES[(images or {}).get("format") or "original"],
            reports=tuple(_report(i, r) for i, r in enumerate(reports or [], start=1)),
        )

    def listing_connectors(self) -> list[tuple[str, str]]:
        """(setting, GetConnector id) of every listing these settings name."""
        named = [
            ("files.connector", self.subjects),
            ("files.file_connector", self.file_connector),
            ("images.connector", self.images),
        ]
        return [(setting, listing.connector) for setting, listing in named if listing]


def _check_keys(setting: str, value: Any, known: frozenset[str]) -> None:
    if not isinstance(value, dict):
        raise AFASConfigError(f"Setting {setting!r} must be an object.")
    unknown = sorted(set(value) - known)
    if unknown:
        raise AFASConfigError(
            f"Setting {setting!r} has unknown key {unknown[0]!r}; known keys: "
            f"{', '.join(sorted(known))}."
        )


def _listing(connector: Any, fields: Any, setting: str) -> ListingSetting | None:
    if not connector:
        return None
    overrides = fields or {}
    if not isinstance(overrides, dict) or not all(isinstance(v, str) for v in overrides.values()):
        raise AFASConfigError(f"Setting {setting!r} must map parts to field ids (strings).")
    return ListingSetting(str(connector), dict(overrides))


def _images(images: Any) -> ListingSetting | None:
    if not images:
        return None
    _check_keys("images", images, IMAGES_KEYS)
    if not images.get("connector"):
        raise AFASConfigError(
            "Setting 'images' needs 'connector': the GetConnector whose rows hold image ids."
        )
    return _listing(images["connector"], images.get("fields"), "images.fields")


def _report(number: int, item: Any) -> ReportSetting:
    _check_keys(f"reports[{number}]", item, REPORT_KEYS)
    report_id = str(item.get("id") or "").strip()
    if not report_id:
        raise AFASConfigError(f"Setting 'reports[{number}]' needs 'id': the report's GUID.")
    filters = parse_filter_setting(f"report {report_id}", item.get("filters") or [])
    return ReportSetting(report_id, str(item.get("name") or report_id), tuple(filters))
