"""History reads: month-sharded Query calls on the sparse history GSIs of the contacts table.

Never a Scan and never a filter expression: the plan (domain.history.plan) names the one GSI
whose partition key holds exactly the requested filter combination, so every item read is a row
returned. A page walks month partitions newest first until it is full.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.domain.history import Plan
from chalicelib.store.errors import translate_store_errors
from chalicelib.store.models import ContactModel


@dataclass(frozen=True)
class RowPage:
    rows: list[str]  # the stored pseudonymisable rows (JSON), newest first
    position: dict[str, Any] | None


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
    start = 0
    resume_key = None
    if position:
        month = position.get("m")
        if month not in months:
            return RowPage([], None)
        start = months.index(month)
        resume_key = position.get("k")
    rows: list[str] = []
    sort_range = ContactModel.hsk.between(occurred_from, occurred_to + "#~")
    for i in range(start, len(months)):
        wanted = limit - len(rows)
        results = index.query(
            plan.partition(months[i]),
            range_key_condition=sort_range,
            scan_index_forward=False,
            limit=wanted,
            page_size=wanted,
            last_evaluated_key=resume_key,
        )
        resume_key = None
        rows.extend(item.hrow for item in results)
        if len(rows) >= limit:
            last_key = results.last_evaluated_key
            if last_key:
                return RowPage(rows, {"m": months[i], "k": last_key})
            if i + 1 < len(months):
                return RowPage(rows, {"m": months[i + 1], "k": None})
            return RowPage(rows, None)
    return RowPage(rows, None)
