"""The paginator: a thin adapter that lets an ``afas_profit`` cursor drive singer-sdk paging."""

from __future__ import annotations

import requests
from singer_sdk.pagination import BaseAPIPaginator
from typing_extensions import override

from afas_profit.cursor import Cursor, PageRequest


class CursorPaginator(BaseAPIPaginator[PageRequest]):
    """Asks the cursor for the next request until it is done.

    Pages can come back empty after the cursor drops rows it already emitted; paging goes on.
    """

    def __init__(self, cursor: Cursor) -> None:
        super().__init__(cursor.request())
        self.cursor = cursor

    @override
    def has_more(self, response: requests.Response) -> bool:
        return not self.cursor.done

    @override
    def continue_if_empty(self, response: requests.Response) -> bool:
        return not self.cursor.done

    @override
    def get_next(self, response: requests.Response) -> PageRequest | None:
        return None if self.cursor.done else self.cursor.request()
