"""History reads: month-sharded Query calls on the sparse history GSIs of the contacts table.

Never a Scan and never a filter expression: the plan (domain.history.plan) names the one GSI
whose partition key holds exactly the requested filter combination, so every item read is a row
returned. A page walks month partitions newest first until it is full.
"""

from __future__ import annotations

from typing import Any

from chalicelib.domain.history import Plan
from chalicelib.ports import RowPage
from chalicelib.store.errors import translate_store_errors
from chalicelib.store.models import ContactModel
from chalicelib.store.paging import walk_partitions


def _index(name: str) -> Any:
    return getattr(ContactModel, f"by_{name}")


@translate_store_errors
def contacts_page(
    plan: Plan,
    *,
    months: list[str],
    occurred_from: str,
    occurred_to: str,
    limit: int,
    position: dict[str, Any] | None,
) -> RowPage:
    """Up to `limit` rows with `occurred_from <= occurred_at <= occurred_to`, newest first.

    `months` lists the partitions to walk, newest first; `position` is where the previous page
    stopped: {"m": month, "k": the GSI's LastEvaluatedKey or None}.
    """
    if plan.empty:
        return RowPage([], None)
    index = _index(plan.index)
    sort_range = ContactModel.hsk.between(occurred_from, occurred_to + "#~")

    def query_month(month: str, wanted: int, start_key: dict[str, Any] | None) -> Any:
        return index.query(plan.partition(month), range_key_condition=sort_range, scan_index_forward=False,
                           limit=wanted, page_size=wanted, last_evaluated_key=start_key)

    rows, next_position = walk_partitions(months, position, limit, query_month, lambda item: item.hrow)
    return RowPage(rows, next_position)
