"""Comparing records: exact decimal values, keys as AFAS writes them, repeated keys."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

Canon = tuple[tuple[str, Any], ...]


def _canon_value(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, Decimal, float)):
        return ("number", str(Decimal(str(value)).normalize()))
    return json.dumps(value, sort_keys=True, default=str)


def canon(record: Mapping[str, Any]) -> Canon:
    """A hashable form of a record; numbers compared by exact decimal value."""
    return tuple(sorted((k, _canon_value(v)) for k, v in record.items()))


def multiset(records: Sequence[Mapping[str, Any]]) -> Counter[Canon]:
    return Counter(canon(r) for r in records)


def key_of(record: Mapping[str, Any], keys: Sequence[str]) -> str:
    """The key as the sandbox's MutationResult writes it: values joined by ','."""
    return ",".join(str(record[k]) for k in keys)


def duplicates(values: Sequence[str]) -> list[str]:
    """The values that occur more than once, sorted."""
    return sorted(k for k, n in Counter(values).items() if n > 1)


def utc(text: str) -> datetime:
    """An ISO datetime that must carry its offset."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert moment.tzinfo is not None, text
    return moment
