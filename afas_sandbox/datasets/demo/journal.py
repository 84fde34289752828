"""Journal entries of the demo data (Profit_Transactions): balanced, fast, streamed.

One million lines are generated without Faker from small tables and a seeded generator, so the
large connector is ready in seconds and memory stays flat.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from functools import lru_cache

from afas_sandbox.datasets.demo.stamps import (
    AUDIT_FIRST_DAY,
    AUDIT_LAST_DAY,
    BULK_SECONDS_PER_TABLE,
    Stamps,
    iso_date,
    stamp_on,
)
from afas_sandbox.datasets.demo.updateconnectors import JOURNAL_VALUES

Row = dict[str, object]
DEBTOR_ID_FIRST = 10001
DEBTOR_COUNT = 200
ENTRY_NO_FIRST = 10001
ENTRY_MODIFIED_SHARE = 0.1
ENTRY_MAX_LAG_DAYS = 3
ENTRY_MAX_CORRECTION_DAYS = 60
ENTRY_MAX_NET_CENTS = 400_000
VAT_RATES = (0.21, 0.21, 0.21, 0.09)
BULK_SHARE_ENTRIES = 0.01

# Journal entry templates: journal, one line on the debit side?, that line's account, the
# accounts of the other lines, VAT account (or None), descriptions, document number prefix.
# Account "" is a debtor (account kind "2"); all other accounts are ledger accounts (kind "1").
_Template = tuple[str, bool, str, tuple[str, ...], str | None, tuple[str, ...], str]
_JOURNAL = {name: code for code, name in JOURNAL_VALUES}
_SALES, _PURCHASE, _BANK = _JOURNAL["Verkoop"], _JOURNAL["Inkoop"], _JOURNAL["Bank"]
_CASH, _MEMO = _JOURNAL["Kas"], _JOURNAL["Memoriaal"]
_TEMPLATES: tuple[_Template, ...] = (
    (_SALES, True, "", ("8000", "8000", "8100", "8200"), "1500", ("Verkoopfactuur",), "VF"),
    (_SALES, True, "", ("8000", "8100"), "1500", ("Verkoopfactuur", "Creditnota"), "VF"),
    (_PURCHASE, False, "1600", ("7000", "4300", "4500", "4200"), "1520", ("Inkoopfactuur",), "IF"),
    (_BANK, True, "1100", ("",), None, ("Bankafschrift", "Ontvangst debiteur"), "BA"),
    (_BANK, False, "1100", ("1600", "4000", "4100", "4600"), None, ("Bankafschrift",), "BA"),
    (_CASH, False, "1000", ("4300", "4400", "4500"), "1520", ("Kasbon", "Kasuitgave"), "KB"),
    (_MEMO, False, "1700", ("4000", "4010", "4020"), None, ("Memoriaal salarissen",), "MEM"),
    (_MEMO, True, "4900", ("0200", "0300", "2000"), None, ("Memoriaal correctie",), "MEM"),
    (_MEMO, True, "4800", ("0200", "0300"), None, ("Afschrijving",), "MEM"),
)  # fmt: skip
_LINE_COUNTS = (2, 2, 2, 3, 3, 3, 3, 4, 4)
_UNITS = (1, 1, 1, 1, 1, 2, 2, 2, 3, 3)
TRANSACTION_COLUMNS = (
    "unit_id", "entry_no", "seq_no", "year", "period", "journal_id", "account_kind", "account_no",
    "description", "entry_date", "document_date", "document_no", "amount_debit", "amount_credit",
    "created", "modified",
)  # fmt: skip

_Day = tuple[str, int, int, str]  # entry_date, year, period, "YYYY-MM-DD"
_Line = tuple[object, ...]


def _entry_lines(
    r: Callable[[], float], unit_id: int, entry_no: int, lines: int, day: _Day, stamps: Stamps
) -> list[_Line]:
    """One balanced journal entry of ``lines`` lines; ``r`` is a bound ``Random.random``."""
    journal, single_debit, single_account, accounts, vat_account, texts, doc_prefix = _TEMPLATES[
        int(r() * len(_TEMPLATES))
    ]
    entry_date, year, period, _ = day
    text = f"{texts[int(r() * len(texts))]} {year}-{entry_no % 10_000:04d}"
    document_no = f"{doc_prefix}{year}-{entry_no:06d}"
    document_date = None if journal == _MEMO else entry_date
    with_vat = vat_account is not None and lines >= 3
    cents = [int(r() * r() * ENTRY_MAX_NET_CENTS) + 100 for _ in range(lines - 1 - with_vat)]
    others = [accounts[int(r() * len(accounts))] for _ in cents]
    if vat_account is not None and with_vat:
        cents.append(int(sum(cents) * VAT_RATES[int(r() * len(VAT_RATES))] + 0.5))
        others.append(vat_account)
    out: list[_Line] = []
    for seq_no, (account, amount) in enumerate(
        [(single_account, sum(cents)), *zip(others, cents, strict=True)], start=1
    ):
        kind = "1" if account else "2"
        if not account:
            account = str(DEBTOR_ID_FIRST + int(r() * DEBTOR_COUNT))
        debit = (seq_no == 1) == single_debit
        value = f"{amount // 100}.{amount % 100:02d}"  # decimal(14, 2): text with its 2 places
        out.append((
            unit_id, entry_no, seq_no, year, period, journal, kind, account, text, entry_date,
            document_date, document_no, value if debit else None, None if debit else value,
            *stamps,
        ))  # fmt: skip
    return out


def transaction_rows(rng: random.Random, *, unit_id: int, entry_no: int, stamp: str) -> list[Row]:
    """One balanced journal entry (2-4 lines) booked on the day of ``stamp``."""
    ymd = stamp[:10]
    day: _Day = (f"{ymd}T00:00:00", int(ymd[:4]), int(ymd[5:7]), ymd)
    lines = rng.choice(_LINE_COUNTS)
    rows = _entry_lines(rng.random, unit_id, entry_no, lines, day, (stamp, stamp))
    return [dict(zip(TRANSACTION_COLUMNS, line, strict=True)) for line in rows]


@lru_cache(maxsize=1)
def _entry_days() -> tuple[_Day, ...]:
    span_days = (AUDIT_LAST_DAY - AUDIT_FIRST_DAY).days
    days = (AUDIT_FIRST_DAY + timedelta(days=i) for i in range(span_days + 1))
    return tuple((iso_date(d), d.year, d.month, d.isoformat()) for d in days)


@lru_cache(maxsize=1)
def _office_times() -> tuple[str, ...]:
    return tuple(
        f"{h:02d}:{m:02d}:{s:02d}" for h in range(7, 20) for m in range(60) for s in range(60)
    )


def transaction_lines(rng: random.Random, rows: int) -> Iterator[_Line]:
    """Exactly ``rows`` journal lines, entry dates rising with the entry numbers."""
    r, days, times = rng.random, _entry_days(), _office_times()
    last_day = len(days) - 1
    bulk = [
        stamp_on(rng, date.fromisoformat(days[rng.randint(last_day * 4 // 5, last_day)][3]))[:20]
        for _ in range(BULK_SECONDS_PER_TABLE)
    ]
    next_entry = dict.fromkeys(_UNITS, ENTRY_NO_FIRST)
    done = 0
    while done < rows:
        left = rows - done
        lines = min(_LINE_COUNTS[int(r() * len(_LINE_COUNTS))], left)
        if left - lines == 1:  # never leave a single line for the last entry
            lines = lines + 1 if lines < 4 else lines - 1
        unit_id = _UNITS[int(r() * len(_UNITS))]
        entry_no = next_entry[unit_id]
        next_entry[unit_id] = entry_no + 1
        day_no = done * len(days) // rows
        created_day = days[min(day_no + int(r() * (ENTRY_MAX_LAG_DAYS + 1)), last_day)][3]
        created = f"{created_day}T{times[int(r() * len(times))]}.{int(r() * 1e6):06d}"
        modified, draw = created, r()
        if draw < BULK_SHARE_ENTRIES:
            # a bulk import touching entries booked before it
            modified = max(created, f"{bulk[int(r() * len(bulk))]}{int(r() * 1e6):06d}")
        elif draw < BULK_SHARE_ENTRIES + ENTRY_MODIFIED_SHARE:
            later = min(day_no + 1 + int(r() * ENTRY_MAX_CORRECTION_DAYS), last_day)
            modified = max(
                created, f"{days[later][3]}T{times[int(r() * len(times))]}.{int(r() * 1e6):06d}"
            )
        yield from _entry_lines(r, unit_id, entry_no, lines, days[day_no], (created, modified))
        done += lines
