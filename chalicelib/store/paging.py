"""Pages over time-sharded partitions (history months, published-alert months, access-log days),
newest first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def walk_partitions(
    partitions: list[str],
    position: dict[str, Any] | None,
    limit: int,
    query_partition: Callable[[str, int, dict[str, Any] | None], Any],
    convert: Callable[[Any], T],
    *,
    max_partitions: int | None = None,
    key: str = "m",
) -> tuple[list[T], dict[str, Any] | None]:
    """Up to `limit` items from `partitions` (newest first), and where the next page starts:
    {key: partition, "k": its LastEvaluatedKey or None}, or None when done.

    `query_partition(partition, wanted, start_key)` runs one paginated Query (a PynamoDB
    ResultIterator). With `max_partitions`, one call walks at most that many partitions, so an
    empty stretch costs a bounded number of reads; the page may then be short, with a position.
    """
    start, resume = 0, None
    if position:
        if position.get(key) not in partitions:
            return [], None
        start, resume = partitions.index(position[key]), position.get("k")
    stop = len(partitions) if max_partitions is None else min(len(partitions), start + max_partitions)
    found: list[T] = []
    for i in range(start, stop):
        results = query_partition(partitions[i], limit - len(found), resume)
        resume = None
        found.extend(convert(item) for item in results)
        if len(found) >= limit:
            if results.last_evaluated_key:
                return found, {key: partitions[i], "k": results.last_evaluated_key}
            return found, ({key: partitions[i + 1], "k": None} if i + 1 < len(partitions) else None)
    return found, ({key: partitions[stop], "k": None} if stop < len(partitions) else None)
