"""Alert delivery figures for analysts: alerts by month of first publication (GSI `by_published`
on the alerts table), newest first, with the counters the worker and receipts keep on each alert."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalicelib.clock import parse_rfc3339
from chalicelib.domain.history import AlertFigures, months_desc
from chalicelib.store import alerts as alert_store


def alerts_published_between(
    published_from: str, published_to: str, position: dict[str, Any] | None, limit: int,
    *, now: datetime | None = None,
) -> tuple[list[AlertFigures], dict[str, Any] | None]:
    """Alerts published in [published_from, published_to] (RFC 3339 UTC), newest first, and the
    position to resume from (None when done)."""
    months = months_desc(parse_rfc3339(published_from), parse_rfc3339(published_to))
    records, next_position = alert_store.published_page(months, published_from, published_to, position, limit)
    at = now or datetime.now(UTC)
    return [
        AlertFigures(
            id=r.id, team=r.team, headline=r.content.headline, status=r.status_at(at),
            published_at=r.messages[0][1], **{name: r.figures.get(name, 0) for name in alert_store.FIGURES},
        )
        for r in records
    ], next_position
