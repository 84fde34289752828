"""``OrderedReads``: worker threads reading pieces ahead while the calling thread emits them in
order; what the incremental window (``afas_profit.window``) and the full-table key ranges
(``afas_profit.key_ranges``) share.

A reader built on it keeps its pieces under ``self._cond``; each piece has ``items`` (pages read
ahead, in order) and ``finished`` (every page is in ``items``). ``_in_parallel`` starts
``parallel`` threads running ``_read_pages`` and yields what the calling thread emits; when
that ends (or the caller closes the generator, or raises) the workers are stopped and joined.
Whatever a worker raises is kept and raised in the calling thread where it next waits for a
page (``_next_item``), which would otherwise wait for pages that never come.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from typing import Any, Protocol


class Piece(Protocol):
    """What the emitting thread waits on: pages read ahead, and whether all are in."""

    items: list[Any]  # pages (and a reader's own markers), in order
    finished: bool  # every page is in ``items``


class OrderedReads(ABC):
    """The threads, the lock and the error hand-over of a parallel reader (module docstring)."""

    def __init__(self, parallel: int, name: str) -> None:
        self.parallel = max(1, parallel)
        self._name = name  # worker threads are called ``{name}-{n}``
        self._cond = threading.Condition()
        self._stop = False  # the workers end once they see it
        self._error: BaseException | None = None  # a worker's, raised in the calling thread

    @abstractmethod
    def _read_pages(self) -> None:
        """A worker's loop: read pages until there is nothing left (or ``_stop``)."""

    def _in_parallel(self, emit: Callable[[], Iterator[Any]]) -> Iterator[Any]:
        """``emit()``, while ``parallel`` workers run ``_read_pages``."""
        workers = [
            threading.Thread(target=self._work, name=f"{self._name}-{n}", daemon=True)
            for n in range(self.parallel)
        ]
        for worker in workers:
            worker.start()
        try:
            yield from emit()
        finally:
            with self._cond:
                self._stop = True
                self._cond.notify_all()
            for worker in workers:
                worker.join()

    def _work(self) -> None:
        try:
            self._read_pages()
        except BaseException as exc:
            self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        """A worker failed: the others stop, and the calling thread raises ``exc``."""
        with self._cond:
            self._error = self._error or exc
            self._stop = True
            self._cond.notify_all()

    def _next_item(self, piece: Piece, taken: int) -> Any:
        """With ``self._cond`` held: ``piece.items[taken]`` once a worker has put it there, or
        None when the piece is finished without it; a worker's error is raised here."""
        while taken >= len(piece.items) and not piece.finished and self._error is None:
            self._cond.wait()
        if self._error is not None:
            raise self._error
        return piece.items[taken] if taken < len(piece.items) else None
