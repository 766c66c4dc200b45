"""store.paging.walk_partitions with fake Query results: positions across partition boundaries."""

from __future__ import annotations

import pytest

from chalicelib.store.paging import walk_partitions

pytestmark = pytest.mark.no_database  # pure rules: no DynamoDB Local for these


class FakeResults(list):
    def __init__(self, items: list[int], last_key: dict | None) -> None:
        super().__init__(items)
        self.last_evaluated_key = last_key


DATA = {"2026-11": [9, 8, 7], "2026-10": [], "2026-09": [6, 5], "2026-08": [4]}


def query(partition: str, wanted: int, start: dict | None) -> FakeResults:
    items = DATA[partition]
    offset = start["i"] if start else 0
    page = items[offset:offset + wanted]
    more = offset + wanted < len(items)
    return FakeResults(page, {"i": offset + wanted} if more else None)


def walk_all(limit: int, **kwargs) -> tuple[list[int], int]:
    found, position, calls = [], None, 0
    while True:
        page, position = walk_partitions(list(DATA), position, limit, query, lambda x: x, **kwargs)
        found += page
        calls += 1
        if position is None:
            return found, calls


def test_pages_cover_every_item_once_newest_first():
    for limit in (1, 2, 3, 5, 10):
        found, _ = walk_all(limit)
        assert found == [9, 8, 7, 6, 5, 4], limit


def test_max_partitions_bounds_each_call_and_still_reaches_the_end():
    found, calls = walk_all(10, max_partitions=1)
    assert found == [9, 8, 7, 6, 5, 4]
    assert calls == 4


def test_a_position_for_another_partition_list_ends_the_walk():
    assert walk_partitions(["2025-01"], {"m": "2026-11", "k": None}, 5, query, lambda x: x) == ([], None)
