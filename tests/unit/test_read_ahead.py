"""``ReadAhead``: pages read ahead and page sizes follow the measured times."""

from __future__ import annotations

import pytest

from afas_profit.read_ahead import MIN_PAGES, ReadAhead


def test_nothing_measured_means_two_pages_of_the_smallest_size() -> None:
    pace = ReadAhead(parallel=5, take=10_000, adaptive=True)
    assert (pace.pages(), pace.take) == (MIN_PAGES, 2_500)


def test_until_a_page_has_left_every_reader_reads() -> None:
    """Once a page is in, and until the consumer's first page is measured, nothing has left:
    every reader may read (parallel + 1 pages); then the measured times decide."""
    pace = ReadAhead(parallel=5, take=10_000)
    pace.requested(0.05, 10_000)
    assert pace.pages() == 6
    pace.emitted(10_000, 0.5)  # a consumer slower than AFAS
    assert pace.pages() == MIN_PAGES


def test_a_bigger_page_is_expected_to_take_longer() -> None:
    """Pages grow from a quarter: a request is expected to cost latency + rows x the row cost
    measured, not the average of the small pages read so far."""
    pace = ReadAhead(parallel=5, take=10_000, adaptive=True)
    pace.probed(0.25)
    pace.requested(0.25 + 2_500 * 30e-6, 2_500)  # 0.325 s for the first, quarter page
    pace.emitted(2_500, 2_500 * 16e-6)
    assert pace.take == 10_000
    # 0.25 + 0.3 s for a 10,000-row page, 0.16 s to emit it: 4 in flight and the one emitted.
    assert pace.pages() == 5


@pytest.mark.parametrize(
    ("request_seconds", "emit_seconds_per_row", "pages"),
    [
        (0.05, 20e-6, 2),  # AFAS answers before a page has left: the next page is enough
        (0.55, 15e-6, 5),  # 0.55 s a request, 0.15 s to emit a page: 4 in flight + 1
        (5.0, 1e-6, 6),  # far slower AFAS: every reader, parallel + 1
        (0.55, 1e-3, 2),  # a consumer slower than AFAS
    ],
)
def test_pages_ahead_keep_records_flowing_and_no_more(
    request_seconds: float, emit_seconds_per_row: float, pages: int
) -> None:
    pace = ReadAhead(parallel=5, take=10_000)
    for _ in range(30):  # the moving averages settle
        pace.requested(request_seconds, 10_000)
        pace.emitted(10_000, emit_seconds_per_row * 10_000)
    assert pace.pages() == pages


@pytest.mark.parametrize(
    ("latency", "seconds_per_row", "take"),
    [
        (0.25, 34e-6, 10_000),  # AFAS-like: 2 x 0.25 / 34 µs = 14,700 rows, capped at the guide
        (0.05, 20e-6, 5_000),  # latency is a third of a 5,000-row request
        (0.002, 5e-6, 2_500),  # a sandbox without latency: the smallest
    ],
)
def test_adaptive_pages_grow_until_latency_is_a_third_of_a_request(
    latency: float, seconds_per_row: float, take: int
) -> None:
    pace = ReadAhead(parallel=5, take=10_000, adaptive=True)
    pace.probed(latency)
    for _ in range(30):
        pace.requested(latency + seconds_per_row * 2_500, 2_500)
    assert pace.take == pytest.approx(take, rel=0.01)


def test_a_page_size_the_user_set_is_kept() -> None:
    pace = ReadAhead(parallel=5, take=700, adaptive=False)
    pace.probed(0.25)
    pace.requested(0.3, 700)
    assert pace.take == 700


def test_an_empty_answer_does_not_count_as_a_row_cost() -> None:
    pace = ReadAhead(parallel=2, take=4, adaptive=True)
    pace.probed(0.01)
    pace.requested(0.02, 0)
    assert (pace.answer_row_seconds, pace.take) == (None, 1)
