"""A world that moves: insert, update and delete random rows as people working in Profit do.

``World.mutate("Profit_Persons", inserts=5, updates=20, deletes=2, same_second=True)`` changes
the table behind a GetConnector in one transaction, stamps the changes with the sandbox clock,
and logs deletes in the deleted-records log. ``updates=N`` changes N different rows (fewer
only when the table has fewer). With ``same_second`` the changes get sub-second stamps between
the start of the displayed (rounded) second and now, so they all show the same second.
"""

from __future__ import annotations

import math
import random
import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from afas_sandbox.clock import Clock, local_stamp
from afas_sandbox.updates.writer import WriteContext

if TYPE_CHECKING:
    from afas_sandbox.datasets import Dataset
    from afas_sandbox.store import Store

WORLD_USER = "sandbox.world"
MIN_SAME_SECOND_SPAN_US = 1000


class EntityOps(Protocol):
    """How the world changes one table; each method returns the keys of the rows it touched.

    Keys are the GetConnector's key values joined with ``,`` (``"1,10001,2"``); an empty list
    means there was nothing to change.
    """

    def insert(self, ctx: WriteContext, rng: random.Random, fake: Any) -> list[str]: ...

    def pick(self, conn: sqlite3.Connection, rng: random.Random, count: int) -> list[int]:
        """Rowids of up to ``count`` different rows to update."""
        ...

    def update(self, ctx: WriteContext, rng: random.Random, fake: Any, rowid: int) -> list[str]: ...

    def delete(self, ctx: WriteContext, rng: random.Random) -> list[str]: ...


@dataclass
class MutationResult:
    """The business keys that one ``mutate`` call inserted, updated and deleted."""

    inserted: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[str]]:
        return {"inserted": self.inserted, "updated": self.updated, "deleted": self.deleted}


class World:
    """Random but seeded changes to a sandbox's data."""

    def __init__(self, dataset: Dataset, store: Store, clock: Clock, seed: int) -> None:
        self._dataset = dataset
        self._store = store
        self._clock = clock
        self._rng = random.Random(seed * 7919 + 17)
        self._fake: Any = None
        self._lock = threading.Lock()

    def mutate(
        self,
        connector: str,
        *,
        inserts: int = 0,
        updates: int = 0,
        deletes: int = 0,
        same_second: bool = False,
    ) -> MutationResult:
        """Change the rows behind a GetConnector; raises ValueError for one that cannot change."""
        definition = self._dataset.get_connector(connector)
        if definition is None:
            raise ValueError(f"unknown GetConnector {connector!r}")
        if definition.entity is None or definition.entity not in self._dataset.entities:
            raise ValueError(f"GetConnector {connector!r} has no data the world can change")
        if min(inserts, updates, deletes) < 0:
            raise ValueError("inserts, updates and deletes must not be negative")
        ops = self._dataset.entities[definition.entity]
        total = inserts + updates + deletes
        result = MutationResult()
        with self._lock, self._store.transaction() as conn:
            stamps = self._stamps(total, same_second)
            fake = self._faker()
            picked = ops.pick(conn, self._rng, updates) if updates else []
            for i in range(total):
                ctx = self._context(conn, stamps[i])
                if i < inserts:
                    result.inserted.extend(ops.insert(ctx, self._rng, fake))
                elif i < inserts + updates:
                    if i - inserts < len(picked):
                        rowid = picked[i - inserts]
                        result.updated.extend(ops.update(ctx, self._rng, fake, rowid))
                else:
                    result.deleted.extend(ops.delete(ctx, self._rng))
        return result

    def _context(self, conn: sqlite3.Connection, stamp: str) -> WriteContext:
        return WriteContext(conn=conn, stamp=stamp, user=WORLD_USER, language="en")

    def _stamps(self, count: int, same_second: bool) -> list[str]:
        now = self._clock.now()
        if not same_second:
            return [local_stamp(now)] * count
        # Spread the stamps over the part of the displayed (rounded) second that has passed.
        shown = math.floor(now.timestamp() + 0.5)
        span_us = max(MIN_SAME_SECOND_SPAN_US, int((now.timestamp() - shown + 0.5) * 1_000_000))
        offsets = sorted(self._rng.randrange(span_us + 1) for _ in range(count))
        return [local_stamp(now - timedelta(microseconds=span_us - o)) for o in offsets]

    def _faker(self) -> Any:
        if self._fake is None:
            self._fake = self._dataset.make_faker(self._rng.randrange(1 << 30))
        return self._fake
