"""Pages over month-sharded partitions (history indexes, published alerts), newest first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def walk_months(
    months: list[str],
    position: dict[str, Any] | None,
    limit: int,
    query_month: Callable[[str, int, dict[str, Any] | None], Any],
    convert: Callable[[Any], T],
) -> tuple[list[T], dict[str, Any] | None]:
    """Up to `limit` items from the month partitions in `months` (newest first), and where the
    next page starts: {"m": month, "k": that month's LastEvaluatedKey or None}, or None when done.

    `query_month(month, wanted, start_key)` runs one paginated Query (a PynamoDB ResultIterator).
    """
    start, resume = 0, None
    if position:
        if position.get("m") not in months:
            return [], None
        start, resume = months.index(position["m"]), position.get("k")
    found: list[T] = []
    for i in range(start, len(months)):
        results = query_month(months[i], limit - len(found), resume)
        resume = None
        found.extend(convert(item) for item in results)
        if len(found) >= limit:
            if results.last_evaluated_key:
                return found, {"m": months[i], "k": results.last_evaluated_key}
            return found, ({"m": months[i + 1], "k": None} if i + 1 < len(months) else None)
    return found, None
