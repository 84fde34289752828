"""What a dataset implements per UpdateConnector, and what it is given to do it."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any, Protocol

from afas_sandbox.messages import message
from afas_sandbox.model import UpdateObjectDef


class UpdateRejectedError(Exception):
    """A functional error: AFAS answers 500 with this ``externalMessage`` and writes nothing."""

    def __init__(self, text: str, number: int | None = None) -> None:
        super().__init__(text)
        self.text = text
        self.number = number


@dataclass(slots=True)
class Element:
    """One validated element: key attributes, coerced fields, action, and nested elements.

    A field sent as ``""`` is present with the value ``None``: it clears the stored value.
    """

    obj: UpdateObjectDef
    keys: dict[str, Any] = field(default_factory=dict)
    fields: dict[str, Any] = field(default_factory=dict)
    action: str | None = None
    objects: dict[str, list[Element]] = field(default_factory=dict)

    def value(self, field_id: str, default: Any = None) -> Any:
        if field_id in self.keys:
            return self.keys[field_id]
        return self.fields.get(field_id, default)

    def has(self, field_id: str) -> bool:
        return field_id in self.keys or field_id in self.fields

    def one(self, name: str) -> Element | None:
        found = self.objects.get(name)
        return found[0] if found else None


@dataclass(slots=True)
class WriteContext:
    """The open transaction of one request, its timestamp and its messages' language."""

    conn: sqlite3.Connection
    stamp: str
    user: str
    language: str

    def reject(
        self, message_key: str, number: int | None = None, /, **values: Any
    ) -> UpdateRejectedError:
        return UpdateRejectedError(message(message_key, self.language, **values), number)

    def log_delete(self, entity: str, key: str) -> None:
        """Record a hard delete in the deleted-records log (AFAS's "Wijzigingen …" data)."""
        self.conn.execute(
            "INSERT INTO deleted_log (entity, entity_key, mutation, user_id, at)"
            " VALUES (?, ?, 'Verwijderd', ?, ?)",
            (entity, key, self.user, self.stamp),
        )


@dataclass(frozen=True, slots=True)
class DeleteTarget:
    """A DELETE URL parsed: the object names with their key values, outermost first."""

    path: tuple[tuple[str, dict[str, str]], ...]


class UpdateWriter(Protocol):
    """Applies validated elements of one UpdateConnector to the dataset's tables."""

    def insert(self, ctx: WriteContext, element: Element) -> dict[str, str]: ...

    def update(self, ctx: WriteContext, element: Element) -> dict[str, str]: ...

    def delete(self, ctx: WriteContext, target: DeleteTarget) -> None: ...
