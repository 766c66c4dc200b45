"""The recount's repair writes (usecases/recount.py): number attributes ADDed to stats-table items
(plain counters, engagement member and counter items, figure and trust counters), in one
TransactWriteItems with a marker item whose condition is that it is new. The same repair write
again (same marker) changes nothing. Not a request path: infra/recount.py only."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from pynamodb.expressions.operand import Path

from chalicelib.store import transact
from chalicelib.store.errors import translate_store_errors
from chalicelib.store.models import StatCounterModel

MARK_KEY = "recount|mark"
MARK_DAYS = 30  # a repair re-run with the same --run-id within this many days changes nothing
MAX_ITEMS = 99  # items of one repair write besides its marker (TransactWriteItems: 100)
MARK = "mark"

Item = tuple[str, str]


def _build(tx: transact.Transaction, marker: str, adds: Mapping[Item, Mapping[str, int]],
           expires: Mapping[Item, datetime], now: datetime) -> None:
    tx.put(MARK, StatCounterModel(key=MARK_KEY, bucket=marker, expires_at=now + timedelta(days=MARK_DAYS)),
           condition=StatCounterModel.key.does_not_exist())
    for (key, bucket), numbers in sorted(adds.items()):
        actions: list[Any] = [Path(name).add(delta) for name, delta in sorted(numbers.items()) if delta]
        if (key, bucket) in expires:
            actions.append(StatCounterModel.expires_at.set(expires[(key, bucket)]))
        tx.update("add", StatCounterModel(key=key, bucket=bucket), actions=actions)


@translate_store_errors
def add(marker: str, adds: Mapping[Item, Mapping[str, int]], expires: Mapping[Item, datetime], now: datetime) -> bool:
    """ADD `adds` (item -> attribute -> delta; at most MAX_ITEMS items) and SET the TTL of the items
    in `expires`, once per `marker`. False (nothing written) when the marker exists."""
    if len(adds) > MAX_ITEMS:
        raise ValueError(f"a repair write holds at most {MAX_ITEMS} items")
    try:
        transact.run(lambda tx: _build(tx, marker, adds, expires, now), via=StatCounterModel)
    except transact.ConditionsFailed as cancelled:
        if cancelled.of(MARK) is not None:
            return False
        raise
    return True


@translate_store_errors
def applied(marker: str) -> bool:
    """Whether a repair write with this marker was made (tests)."""
    raw = transact.table(StatCounterModel).get_item(MARK_KEY, marker, consistent_read=True)
    return bool(raw.get("Item"))
