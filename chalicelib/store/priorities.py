"""Neighbourhood priorities, their supports, actions and conversation links (neighbourhoods table,
see models/neighbourhoods.py). A support is one transaction: the resident's support item (only
if new) and the priority's counter, so a count never differs from the supports made."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import msgspec

from chalicelib.domain.priorities import ActionOut, Priority
from chalicelib.store import neighbourhood_items as items
from chalicelib.store.errors import translate_store_errors
from chalicelib.store.models import NeighbourhoodModel

ITEM = "priority"


def _pk(priority_id: str) -> str:
    return f"priority#{priority_id}"


def _model(priority: Priority) -> NeighbourhoodModel:
    return NeighbourhoodModel(
        _pk(priority.id), ITEM, body=msgspec.json.encode(priority).decode(), updated_at=priority.proposed_at,
        area=priority.area_id, area_sort=f"priority#{priority.proposed_at}#{priority.id}",
    )


def _priority(model: NeighbourhoodModel) -> tuple[Priority, int]:
    return msgspec.json.decode(model.body or "{}", type=Priority), int(model.tally or 0)


@translate_store_errors
def create(priority: Priority) -> Priority | None:
    """Write a new priority; the stored one when the id exists (None when it was created)."""
    if items.put_if_new(_model(priority)):
        return None
    found = get(priority.id)
    return found[0] if found else None


@translate_store_errors
def get(priority_id: str) -> tuple[Priority, int] | None:
    """The priority and its supporters count."""
    try:
        return _priority(NeighbourhoodModel.get(_pk(priority_id), ITEM, consistent_read=True))
    except NeighbourhoodModel.DoesNotExist:
        return None


@translate_store_errors
def replace(old: Priority, new: Priority) -> bool:
    """Write `new` if the stored priority is still `old` (False when it changed meanwhile)."""
    return items.replace_body(_pk(old.id), ITEM, msgspec.json.encode(old).decode(), msgspec.json.encode(new).decode())


@translate_store_errors
def of_area(area_id: str) -> list[tuple[Priority, int]]:
    """A neighbourhood's priorities, oldest proposal first (one Query)."""
    rows = NeighbourhoodModel.by_area.query(area_id, NeighbourhoodModel.area_sort.startswith("priority#"))
    return [_priority(row) for row in rows]


@translate_store_errors
def support(priority_id: str, subscriber_id: str, at: str, expires_at: datetime) -> bool:
    """Record one resident's support and count it, once; False when they had supported already."""
    return items.count_once(_pk(priority_id), ITEM, "support#", subscriber_id, at, expires_at)


@translate_store_errors
def supporters(priority_id: str) -> Iterator[str]:
    """The subscriber ids of a priority's supporters (paginated Query)."""
    return items.counted(_pk(priority_id), "support#")


@translate_store_errors
def add_action(priority_id: str, action: ActionOut) -> ActionOut | None:
    """Write a new action; the stored one when its id exists (None when it was created)."""
    item = NeighbourhoodModel(_pk(priority_id), f"action#{action.id}", body=msgspec.json.encode(action).decode(),
                              updated_at=action.posted_at)
    if items.put_if_new(item):
        return None
    stored = NeighbourhoodModel.get(_pk(priority_id), f"action#{action.id}", consistent_read=True)
    return msgspec.json.decode(stored.body or "{}", type=ActionOut)


@translate_store_errors
def actions(priority_id: str) -> list[ActionOut]:
    rows = NeighbourhoodModel.query(_pk(priority_id), NeighbourhoodModel.sk.startswith("action#"))
    return [msgspec.json.decode(row.body or "{}", type=ActionOut) for row in rows]


@translate_store_errors
def link(priority_id: str, conversation_id: str, at: str) -> None:
    NeighbourhoodModel(_pk(priority_id), f"link#{conversation_id}", updated_at=at).save()


@translate_store_errors
def links(priority_id: str) -> list[str]:
    rows = NeighbourhoodModel.query(_pk(priority_id), NeighbourhoodModel.sk.startswith("link#"))
    return [row.sk.partition("#")[2] for row in rows]


@translate_store_errors
def erase_subscriber(subscriber_id: str) -> int:
    """Delete a resident's supports and attendances (counts stay: they are counts)."""
    keys = [(row.pk, row.sk) for row in NeighbourhoodModel.by_subscriber.query(subscriber_id)]
    with NeighbourhoodModel.batch_write() as batch:
        for pk, sk in keys:
            batch.delete(NeighbourhoodModel(pk, sk))
    return len(keys)
