"""PynamoDB models: the one source of truth for table schemas (local tables and CloudFormation),
one module per table group. `bind_models(settings)` (called by the bootstrap, `build_services`)
sets each model's table name, region and timeouts; no `Meta.host`, so the endpoint comes from the
standard `AWS_ENDPOINT_URL_DYNAMODB` locally and from the region in Lambda.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pynamodb.models import Model

from chalicelib.store.models.access import AccessByActor, AccessLogModel
from chalicelib.store.models.alerts import (
    AlertCellModel,
    AlertModel,
    AlertsByPublic,
    AlertsByPublished,
    AlertsByTeam,
    DeliveriesByRelease,
    DeliveriesBySubscriber,
    DeliveryModel,
)
from chalicelib.store.models.areas import AreaModel
from chalicelib.store.models.contacts import (
    AmendmentModel,
    ContactModel,
    ContactsByAuthor,
    ContactsByTeam,
    StatCounterModel,
)
from chalicelib.store.models.conversations import (
    ConversationModel,
    ConversationsByDue,
    ConversationsByOwner,
    ConversationsByTeam,
    MessageModel,
    MessagesBySeq,
)
from chalicelib.store.models.neighbourhoods import (
    NeighbourhoodByArea,
    NeighbourhoodByDay,
    NeighbourhoodBySubscriber,
    NeighbourhoodModel,
)
from chalicelib.store.models.residents import (
    InboxModel,
    RateCounterModel,
    SubscriberModel,
    SubscriptionModel,
    WordModel,
)
from chalicelib.store.models.sms import SmsModel
from chalicelib.store.models.staff import StaffDeviceModel, StaffDevicesByTeam

if TYPE_CHECKING:
    from chalicelib.settings import Settings

ALL_MODELS: list[type[Model]] = [
    ContactModel, AmendmentModel, StatCounterModel, AccessLogModel, AreaModel,
    SubscriberModel, SubscriptionModel, AlertModel, AlertCellModel, DeliveryModel, InboxModel,
    RateCounterModel, WordModel, ConversationModel, MessageModel, NeighbourhoodModel, StaffDeviceModel,
    SmsModel,
]


def bind_models(settings: Settings) -> None:
    """Point every model at this stage's tables (idempotent; a changed binding drops the cached
    connection, so the next call uses the new region and timeouts)."""
    for model in ALL_MODELS:
        meta = model.Meta
        wanted = (settings.table_name(meta.short_name), settings.region,  # type: ignore[attr-defined]
                  settings.dynamodb_connect_timeout_seconds, settings.dynamodb_read_timeout_seconds)
        current = (getattr(meta, "table_name", None), meta.region, meta.connect_timeout_seconds,
                   meta.read_timeout_seconds)
        if current == wanted:
            continue
        meta.table_name, meta.region, meta.connect_timeout_seconds, meta.read_timeout_seconds = wanted
        model._connection = None


def models_bound() -> bool:
    return all(getattr(model.Meta, "table_name", None) for model in ALL_MODELS)


__all__ = [
    "ALL_MODELS", "AccessByActor", "AccessLogModel", "AlertCellModel", "AlertModel", "AlertsByPublic",
    "AlertsByPublished", "AlertsByTeam", "AmendmentModel", "AreaModel", "ContactModel", "ContactsByAuthor",
    "ContactsByTeam", "ConversationModel", "ConversationsByDue", "ConversationsByOwner", "ConversationsByTeam", "DeliveriesByRelease", "DeliveriesBySubscriber", "DeliveryModel", "InboxModel",
    "MessageModel", "MessagesBySeq", "NeighbourhoodByArea", "NeighbourhoodByDay", "NeighbourhoodBySubscriber", "NeighbourhoodModel", "RateCounterModel", "SmsModel", "StaffDeviceModel", "StaffDevicesByTeam", "StatCounterModel", "SubscriberModel", "SubscriptionModel", "WordModel",
    "bind_models", "models_bound",
]
