"""Engagement reads: one Query (paginated by 1 MB pages) on one engagement counter key of the
stats table: a fixed number of small items per period and team (domain/engagement.py). The
attributes are dynamic, so items are read raw, not through the model."""

from __future__ import annotations

from typing import Any

from pynamodb.connection.table import TableConnection

from chalicelib.store import transact
from chalicelib.store.errors import translate_store_errors
from chalicelib.store.models import StatCounterModel

KEY_ATTRIBUTES = frozenset({"key", "bucket", "contacts", "expires_at"})


def _table() -> TableConnection:
    return transact.table(StatCounterModel)


def _attributes(raw: dict[str, Any]) -> dict[str, int]:
    return {name: int(value["N"]) for name, value in raw.items()
            if name not in KEY_ATTRIBUTES and "N" in value}


@translate_store_errors
def items(key: str, bucket_from: str, bucket_to: str) -> list[tuple[str, dict[str, int]]]:
    """(bucket, {attribute: number}) of every item of `key` with a bucket in the range (counter
    items for the API; `engmember` keys for tests and operations)."""
    condition = StatCounterModel.bucket.between(bucket_from, bucket_to)
    found: list[tuple[str, dict[str, int]]] = []
    start: dict[str, Any] | None = None
    while True:
        page = _table().query(key, range_key_condition=condition, exclusive_start_key=start,
                              return_consumed_capacity="TOTAL")
        found.extend((raw["bucket"]["S"], _attributes(raw)) for raw in page.get("Items", []))
        start = page.get("LastEvaluatedKey")
        if not start:
            return found
