"""``OrderedReads``: worker threads reading pieces ahead while the calling thread emits them in
order; what the incremental window (``afas_profit.window``) and the full-table key ranges
(``afas_profit.key_ranges``) share.

A reader built on it keeps its contiguous pieces in order (``_pieces``) under ``self._cond``;
each piece has ``items`` (pages read ahead, in order, and the reader's own markers), ``waiting``
(pages not yet taken by the emitting thread), ``busy`` (a worker is reading its next page) and
``finished`` (every page is in ``items``). ``_in_parallel`` starts ``parallel`` threads running
``_read_pages`` (those not started before: a reader may start one early, see
``WindowReader.prefetch``) and yields what the calling thread emits (``_emit_pieces``: piece
after piece); when that ends (or the caller closes the generator, or raises) the workers are
stopped and joined (``close``). A worker reads the frontmost piece that may be read (``_pick``:
while fewer pages than ``_ahead()`` are held, or for the emitting piece when it has nothing
waiting). Whatever a worker raises is kept and raised in the calling thread where it next waits
for a page (``_next_item``), which would otherwise wait for pages that never come.

How much stored range a piece of about ``PIECE_PAGES`` of a page covers is learnt from the
pages read, each weighed by its rows (``weighed_density``).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any, Protocol, TypeVar

PIECE_PAGES = 0.85  # a piece is cut to hold about this many pages, by the density learnt
GROWTH = 4  # a piece after a page with few rows covers at most this many times more
PRIOR_ROWS = 0.25  # of a page: the weight of the density known when a page shows another

Span = TypeVar("Span", float, timedelta)


class Piece(Protocol):
    """A contiguous part of what is read, and its pages read ahead (module docstring)."""

    items: list[Any]
    waiting: int
    busy: bool
    finished: bool


def weighed_density(known: Span, span: Span, rows: int, take: int) -> Span:
    """The range one row covers, from a page of ``rows`` rows (``take`` asked) that covered
    ``span``, weighed with what was ``known`` as if that were ``PRIOR_ROWS`` of a page of rows:
    a piece's last few rows say little, a full page or a long gap much (a gap grows the next
    piece, at most ``GROWTH`` times)."""
    weight = PRIOR_ROWS * take
    return min((span + known * weight) / (rows + weight), known * GROWTH)


class OrderedReads(ABC):
    """The threads, the lock and the error hand-over of a parallel reader (module docstring)."""

    def __init__(self, parallel: int, name: str) -> None:
        self.parallel = max(1, parallel)
        self._name = name  # worker threads are called ``{name}-{n}``
        self._cond = threading.Condition()
        self._stop = False  # the workers end once they see it
        self._error: BaseException | None = None  # a worker's, raised in the calling thread
        self._front = 0  # index of the emitting piece
        self._emitting: Any = None  # the emitting piece, once emitting has started
        self._workers: list[threading.Thread] = []

    @property
    @abstractmethod
    def _pieces(self) -> list[Any]:
        """The pieces, in order (each a ``Piece``)."""

    @abstractmethod
    def _ahead(self) -> int:
        """Pages that may be held (read or being read, not yet emitted)."""

    @abstractmethod
    def _read_pages(self) -> None:
        """A worker's loop: read pages until there is nothing left (or ``_stop``)."""

    @abstractmethod
    def _emit_piece(self, piece: Any) -> Iterator[Any]:
        """The calling thread: one piece's rows, as its pages arrive (``_next_item``)."""

    def _in_parallel(self, emit: Callable[[], Iterator[Any]]) -> Iterator[Any]:
        """``emit()``, while ``parallel`` workers run ``_read_pages``."""
        self._start_workers(self.parallel)
        try:
            yield from emit()
        finally:
            self.close()

    def _start_workers(self, count: int) -> None:
        """Workers running ``_read_pages``, up to ``count`` in all (some may run already)."""
        while len(self._workers) < min(count, self.parallel):
            worker = threading.Thread(
                target=self._work, name=f"{self._name}-{len(self._workers)}", daemon=True
            )
            self._workers.append(worker)
            worker.start()

    def close(self) -> None:
        """Stop the workers and wait for them (a request under way ends first)."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        for worker in self._workers:
            worker.join()

    def _emit_pieces(self) -> Iterator[Any]:
        """Piece after piece (pieces may be added behind the emitting one meanwhile)."""
        index = 0
        while True:
            with self._cond:
                if index >= len(self._pieces):
                    return
                piece = self._pieces[index]
                self._emitting = piece
                self._front = index
                self._cond.notify_all()
            yield from self._emit_piece(piece)
            index += 1

    def _wait_for(self, task: Callable[[], Any]) -> Any:
        """With ``self._cond`` held: ``task()``'s answer, waiting while it is None and pieces
        remain to be read; None when the worker is to end."""
        found = task()
        while found is None and not self._stop and not self._all_read():
            self._cond.wait()
            found = task()
        if self._stop or found is None:
            self._cond.notify_all()
            return None
        return found

    def _pick(self) -> Any:
        """The frontmost piece not being read and not read to its end, if it may be read now:
        while the pages held (read or being read, not yet emitted) number fewer than
        ``_ahead()``, or when it is the emitting one and has nothing to give."""
        pieces = self._pieces[self._front :]
        held = sum(p.waiting + (1 if p.busy else 0) for p in pieces)
        for piece in pieces:
            if piece.busy or piece.finished:
                continue
            if piece is self._emitting and not piece.waiting:
                return piece
            return piece if held < self._ahead() else None
        return None

    def _all_read(self) -> bool:
        return all(p.finished for p in self._pieces[self._front :])

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
