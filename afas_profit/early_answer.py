"""``EarlyAnswer``: one request asked for now, in a thread of its own, its answer taken later.

What a reader uses to send its first request before its rows are asked for (the tap prepares
the streams that sync next while one emits): ``result()`` waits for the answer and returns it,
or raises what the request raised, in the caller's thread; ``close()`` waits for a request
under way to end (its answer is dropped).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class EarlyAnswer(Generic[T]):
    """``ask()`` run now in a daemon thread called ``name`` (module docstring)."""

    def __init__(self, ask: Callable[[], T], name: str) -> None:
        self._ask = ask
        self._value: list[T] = []  # the answer, once in
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value.append(self._ask())
        except BaseException as exc:  # raised in the thread that takes the answer
            self._error = exc

    def result(self) -> T:
        """The answer, once it is in; what the request raised is raised here."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value[0]

    def close(self) -> None:
        """Wait for the request to end; its answer is not used."""
        self._thread.join()
