"""Alert delivery figures for analysts: reads the alerts table (GSI `by_published`).

INTEGRATION POINT (to be connected when the alerts branch is merged). The alerts table and its
model live on the alerts branch; this branch must not invent a second one. Until connected this
function returns no alerts, so `GET /v1/history/alerts` answers an empty, well-formed page.

What the connection needs from the alerts model (see docs/history.md, "Alerts figures"):
- a GSI `by_published` with hash key a constant or month shard (e.g. `pub_month` = `YYYY-MM` of
  `published_at`, only on published/cancelled/expired alerts: drafts are not history) and range key
  `published_at#id`, projecting: id, team, headline, status, published_at and the delivery counters
  `targeted`, `sent`, `failed`, `read`, `responses` (numbers kept on the alert item by the fan-out
  worker / read receipts / responses with atomic ADD updates);
- newest first, `published_at` in [from, to]; `position` is the opaque resume point returned by the
  previous call (e.g. {"m": month, "k": LastEvaluatedKey}), signed into the cursor by the caller.
"""

from __future__ import annotations

from typing import Any

from chalicelib.domain.history import AlertFigures
from chalicelib.store.errors import translate_store_errors


@translate_store_errors
def alerts_published_between(
    published_from: str, published_to: str, position: dict[str, Any] | None, limit: int
) -> tuple[list[AlertFigures], dict[str, Any] | None]:
    """Alerts published in [published_from, published_to] (RFC 3339 UTC), newest first, with their
    delivery figures, and the position to resume from (None when done).

    TODO(merge with wt-alerts): Query the alerts table's `by_published` GSI (month partitions
    newest first, like store.history.contacts_page). Returns nothing until then.
    """
    return [], None
