"""Fixed-window rate limits: one counter item per (key, window), conditional ADD, TTL cleans up."""

from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.store.errors import translate_store_errors, update_if
from chalicelib.store.models import RateCounterModel


@translate_store_errors
def hit(key: str, *, limit: int, window_ends: datetime) -> bool:
    """Count one hit; False (and nothing counted) when the window already holds `limit` hits."""
    return update_if(
        RateCounterModel(key=key),
        [RateCounterModel.hits.add(1), RateCounterModel.expires_at.set(window_ends + timedelta(minutes=5))],
        RateCounterModel.hits.does_not_exist() | (RateCounterModel.hits < limit),
    )
