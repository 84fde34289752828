"""Datasets: everything one kind of sandbox environment serves (tables, connectors, tokens).

``load_dataset(name)`` returns one of ``DATASET_NAMES``: ``demo`` (realistic Dutch HR, CRM and
finance data) or ``empty`` (the same connectors with only the administrations filled in, for
writing into from scratch).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from afas_sandbox.auth import SandboxToken
    from afas_sandbox.model import GetConnectorDef, UpdateConnectorDef
    from afas_sandbox.updates.writer import UpdateWriter
    from afas_sandbox.world import EntityOps

DATASET_NAMES = ("demo", "empty")


class Populate(Protocol):
    def __call__(self, conn: sqlite3.Connection, *, seed: int, rows: int) -> None: ...


@dataclass(frozen=True)
class Dataset:
    """A sandbox environment's contract and data."""

    name: str
    version: str
    ddl: str
    populate: Populate
    default_rows: int
    get_connectors: tuple[GetConnectorDef, ...]
    update_connectors: tuple[UpdateConnectorDef, ...]
    writers: Mapping[str, UpdateWriter]
    entities: Mapping[str, EntityOps]
    tokens: tuple[SandboxToken, ...]
    subject_files: Callable[[sqlite3.Connection, int, str], tuple[str, str, str] | None]
    make_faker: Callable[[int], Any]

    def get_connector(self, connector_id: str) -> GetConnectorDef | None:
        for c in self.get_connectors:
            if c.id.lower() == connector_id.lower():
                return c
        return None

    def update_connector(self, connector_id: str) -> UpdateConnectorDef | None:
        for c in self.update_connectors:
            if c.id.lower() == connector_id.lower():
                return c
        return None


def load_dataset(name: str) -> Dataset:
    """The dataset called ``name``; raises ValueError naming the choices otherwise."""
    from afas_sandbox.datasets import demo

    if name == "demo":
        return demo.dataset()
    if name == "empty":
        return demo.dataset(empty=True)
    raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASET_NAMES)}")
