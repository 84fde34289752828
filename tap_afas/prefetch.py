"""``StreamPrefetch``: the streams that sync next ask for their first page while one emits.

singer-sdk syncs a tap's streams one after another, and each GetConnector's first request waits
out AFAS's latency (a quarter second and more). On an incremental sync of many connectors, each
with a page or less to read, those waits in a row are most of the sync. So when a stream starts,
the next ``depth`` streams (in singer-sdk's order, the selected ones) that resume from their own
checkpoint are prepared (``GetConnectorStream.prepare``): each plans its window as if it started
now, and its reader asks for the window's first page (``WindowReader.prefetch``), held until
that stream syncs; the rest of its reading waits for it. A full-table stream with a key is
prepared too: its first page by key (``KeyRangeReader.prefetch``).

- ``depth`` is ``max_parallel_requests - 1``: with the starting stream's own first request, no
  more than the setting are in flight (the client bounds requests for the whole process anyway;
  the prepared streams' first requests may delay the running stream's later ones by one answer,
  once). With ``max_parallel_requests`` 1 nothing is prepared.
- Memory: a prepared stream holds at most its first page (as JSON text for a window, decoded
  for a full-table stream), so at most ``depth`` pages wait.
- Not prepared: a stream without a checkpoint (its first sync: singer-sdk says where it starts
  when it starts), a full-table stream without a key (one request for the whole table) and file
  streams. They still prepare the streams after them when they start.
- A stream whose checkpoint the state does not hold readably is not prepared: it reports that
  when it starts, as it would without prefetching.
- When a stream fails, the readers of the prepared streams are stopped (``close``): the sync
  ends there.
"""

from __future__ import annotations

from singer_sdk import Stream, Tap

from tap_afas.streams import GetConnectorStream


class StreamPrefetch:
    """Prepares the ``depth`` streams after the one that starts (module docstring). Each
    GetConnector stream calls ``after`` when it starts and ``close`` when it fails."""

    def __init__(self, tap: Tap, depth: int) -> None:
        self.tap = tap
        self.depth = max(0, depth)
        self._order: list[Stream] | None = None

    def after(self, stream: Stream) -> None:
        """``stream`` starts: prepare the next ``depth`` streams that can be (each one not
        prepared yet asks for its first page now)."""
        order = self._sync_order()
        if self.depth == 0 or stream not in order:
            return
        prepared = 0
        for later in order[order.index(stream) + 1 :]:
            if prepared >= self.depth:
                return
            if isinstance(later, GetConnectorStream) and later.prepare():
                prepared += 1

    def close(self) -> None:
        """Stop the readers of the prepared streams (a stream failed: they will not sync)."""
        for stream in self._sync_order():
            if isinstance(stream, GetConnectorStream):
                stream.close_prepared()

    def _sync_order(self) -> list[Stream]:
        """The streams ``Tap.sync_all`` syncs, in its order (selected, not children)."""
        if self._order is None:
            self._order = [
                s
                for s in self.tap.streams.values()
                if (s.selected or s.has_selected_descendents) and not s.parent_stream_type
            ]
        return self._order
