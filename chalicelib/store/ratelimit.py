"""Fixed-window rate limits: one counter item per (key, window), conditional ADD, TTL cleans up."""

from __future__ import annotations

from datetime import datetime, timedelta

from pynamodb.exceptions import UpdateError

from chalicelib.store.errors import error_code, translate_store_errors
from chalicelib.store.models import RateCounterModel


@translate_store_errors
def hit(key: str, *, limit: int, window_ends: datetime) -> bool:
    """Count one hit; False (and nothing counted) when the window already holds `limit` hits."""
    try:
        RateCounterModel(key=key).update(
            actions=[RateCounterModel.hits.add(1), RateCounterModel.expires_at.set(window_ends + timedelta(minutes=5))],
            condition=RateCounterModel.hits.does_not_exist() | (RateCounterModel.hits < limit),
        )
    except UpdateError as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return False
        raise
    return True
