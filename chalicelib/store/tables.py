"""Create missing tables from the PynamoDB models (local stack and tests; CloudFormation in AWS)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pynamodb.models import Model

from chalicelib.store import transact
from chalicelib.store.bootstrap import bind_store
from chalicelib.store.models import ALL_MODELS

if TYPE_CHECKING:
    from chalicelib.settings import Settings


def ensure_tables(models: list[type[Model]] | None = None, settings: Settings | None = None) -> list[str]:
    """Create each missing table (on-demand billing, TTL enabled); return the names created.
    Binds the models first: to `settings`, or (tools, benchmarks) to the environment's settings."""
    if settings is None:
        from chalicelib.settings import SETTINGS

        settings = SETTINGS
    bind_store(settings)
    created = []
    for model in models or ALL_MODELS:
        if not model.exists():
            model.create_table(wait=True, billing_mode="PAY_PER_REQUEST")
            created.append(model.Meta.table_name)
        elif getattr(model.Meta, "stream_view_type", None):
            _ensure_stream(model)
    return created


def _ensure_stream(model: type[Model]) -> None:
    """A table created before its model had a stream (a kept local database) gets it now."""
    if model.describe_table().get("StreamSpecification", {}).get("StreamEnabled"):
        return
    transact.table(model).connection.dispatch("UpdateTable", {
        "TableName": model.Meta.table_name,
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": model.Meta.stream_view_type}})
