"""Binds the storage adapters to one stage's settings; called by the bootstrap before first use."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from chalicelib.store import access_log
from chalicelib.store.models import bind_models

if TYPE_CHECKING:
    from chalicelib.settings import Settings


def bind_store(settings: Settings) -> None:
    """Table names, region and timeouts of every model; the access log's retention."""
    bind_models(settings)
    access_log.bind(timedelta(days=settings.access_log_retention_days))
