"""``ReadAhead``: a window reader's page size and how many pages it reads ahead of the records.

Both follow what is measured as the read goes (moving averages), so memory holds what speed
needs and no more:

- **Pages ahead.** Enough that the next page is in before the records of the one being emitted
  have left: with requests taking ``r`` seconds and a page's records leaving in ``e`` seconds,
  ``ceil(r / e)`` requests are kept going, plus the page being emitted; at least 2, at most
  ``parallel + 1``. A fast AFAS or a slow consumer: two pages; a slow AFAS and a fast consumer:
  up to ``parallel + 1``. ``r`` is the measured average, or what a page of the current size
  costs by the latency and per-row cost measured (``f + c * take``, below) when that is more:
  pages grow, and a bigger page takes longer. Before any page is in, two pages (the first
  one is all there is to read); once one is in and until the consumer's first page is
  measured, ``parallel + 1``: nothing has left yet, so every request counts.
- **Page size** (``adaptive``: the user did not set one). A request costs a fixed latency
  ``f`` (the quickest small answer the client has had: metainfo's or the window's ``take=1``
  probe) plus ``c`` per row returned. Pages start at
  a quarter of the guided size and grow to the guided size as far as needed for the latency to
  be at most a third of a request (``take >= 2 f / c``): against AFAS, whose latency is a
  quarter second and more, that is the guided size; against a sandbox without latency, a
  quarter of it, so the pages held (as JSON text, until emitted) take a quarter of the memory.
"""

from __future__ import annotations

import math

WEIGHT = 0.3  # of the newest measurement in the moving averages
MIN_PAGES = 2  # the page being emitted and the next one
SMALLEST_SHARE = 4  # adaptive pages start at (and never go below) 1/4 of the largest
LATENCY_SHARE = 3  # adaptive pages grow until the fixed latency is at most 1/3 of a request


class ReadAhead:
    """Measured request and emit times → page size and pages to hold or have in flight."""

    def __init__(self, parallel: int, take: int, *, adaptive: bool = False) -> None:
        self.parallel = parallel
        self.largest = take
        self.smallest = max(1, take // SMALLEST_SHARE) if adaptive else take
        self.take = self.smallest  # rows per request for pieces cut from now on
        self.request_seconds: float | None = None
        self.row_seconds: float | None = None  # a record's time once read (the consumer's)
        self.latency: float | None = None  # a request's time without rows (the probe's)
        self.answer_row_seconds: float | None = None  # a request's time per row returned

    def probed(self, seconds: float) -> None:
        """A small answer (metainfo's, the ``take=1`` probe) took ``seconds``. The quickest is
        taken as the fixed latency: a probe that sorts a large table can take longer."""
        self.latency = seconds if self.latency is None else min(self.latency, seconds)
        self._resize()

    def requested(self, seconds: float, rows: int) -> None:
        """A page request returning ``rows`` rows took ``seconds`` (sent to answer read)."""
        old = self.request_seconds
        self.request_seconds = seconds if old is None else old + WEIGHT * (seconds - old)
        if self.latency is not None and rows and rows >= self.smallest // 2:
            per_row = max(seconds - self.latency, 0.0) / rows
            old = self.answer_row_seconds
            self.answer_row_seconds = per_row if old is None else old + WEIGHT * (per_row - old)
            self._resize()

    def emitted(self, rows: int, seconds: float) -> None:
        """A page of ``rows`` left in ``seconds`` (the time its consumer took, no waiting)."""
        if rows:
            old = self.row_seconds
            now = seconds / rows
            self.row_seconds = now if old is None else old + WEIGHT * (now - old)

    def pages(self) -> int:
        """Pages to hold or have in flight: at least 2, at most ``parallel + 1``."""
        most = max(MIN_PAGES, self.parallel + 1)
        if self.request_seconds is None:
            return MIN_PAGES
        if self.row_seconds is None:
            return most
        request = self.request_seconds
        if self.latency is not None and self.answer_row_seconds is not None:
            request = max(request, self.latency + self.answer_row_seconds * self.take)
        emit_seconds = max(self.row_seconds * self.take, 1e-9)
        return max(MIN_PAGES, min(most, math.ceil(request / emit_seconds) + 1))

    def _resize(self) -> None:
        if self.smallest == self.largest or self.latency is None:
            return
        if self.answer_row_seconds is None:
            return
        wanted = (LATENCY_SHARE - 1) * self.latency / max(self.answer_row_seconds, 1e-9)
        self.take = int(min(self.largest, max(self.smallest, wanted)))
