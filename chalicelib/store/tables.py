"""Create missing tables from the PynamoDB models (local stack and tests; CloudFormation in AWS)."""

from __future__ import annotations

from pynamodb.models import Model

from chalicelib.store.models import ALL_MODELS


def ensure_tables(models: list[type[Model]] | None = None) -> list[str]:
    """Create each missing table (on-demand billing, TTL enabled); return the names created."""
    created = []
    for model in models or ALL_MODELS:
        if not model.exists():
            model.create_table(wait=True, billing_mode="PAY_PER_REQUEST")
            created.append(model.Meta.table_name)
    return created
