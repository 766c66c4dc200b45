"""Beat meetings and who said they will come (neighbourhoods table, see models/neighbourhoods.py).

A meeting carries `remind_day` (the UTC day its reminder falls due) until the reminder is sent, so
the clock's Query reads only meetings still to remind. Saying you will come is one transaction:
the resident's attendance item (only if new) and the meeting's counter."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import msgspec
from pynamodb.exceptions import UpdateError

from chalicelib.domain.meetings import Meeting
from chalicelib.store import neighbourhood_items as items
from chalicelib.store.errors import error_code, translate_store_errors
from chalicelib.store.models import NeighbourhoodModel

ITEM = "event"


def _pk(meeting_id: str) -> str:
    return f"event#{meeting_id}"


def _decode(model: NeighbourhoodModel) -> tuple[Meeting, int]:
    return msgspec.json.decode(model.body or "{}", type=Meeting), int(model.tally or 0)


@translate_store_errors
def create(meeting: Meeting) -> Meeting | None:
    """Write a new meeting; the stored one when its id exists (None when it was created)."""
    item = NeighbourhoodModel(
        _pk(meeting.id), ITEM, body=msgspec.json.encode(meeting).decode(), updated_at=meeting.start,
        area=meeting.area_id, area_sort=f"event#{meeting.start}#{meeting.id}", remind_day=meeting.remind_at[:10],
    )
    if items.put_if_new(item):
        return None
    found = get(meeting.id)
    return found[0] if found else None


@translate_store_errors
def get(meeting_id: str) -> tuple[Meeting, int] | None:
    try:
        return _decode(NeighbourhoodModel.get(_pk(meeting_id), ITEM, consistent_read=True))
    except NeighbourhoodModel.DoesNotExist:
        return None


@translate_store_errors
def of_area(area_id: str, start_from: str) -> list[tuple[Meeting, int]]:
    """A neighbourhood's meetings starting at or after `start_from`, soonest first (one Query)."""
    rows = NeighbourhoodModel.by_area.query(area_id, NeighbourhoodModel.area_sort.between(
        f"event#{start_from}", "event#\uffff"))
    return [_decode(row) for row in rows]


@translate_store_errors
def save_record(old: Meeting, new: Meeting) -> bool:
    """Store the attendance record if the meeting is still `old` (False when it changed)."""
    return items.replace_body(_pk(old.id), ITEM, msgspec.json.encode(old).decode(), msgspec.json.encode(new).decode())


@translate_store_errors
def attend(meeting_id: str, subscriber_id: str, at: str, expires_at: datetime) -> bool:
    """Count one resident once; False when they had said so already."""
    return items.count_once(_pk(meeting_id), ITEM, "attend#", subscriber_id, at, expires_at)


@translate_store_errors
def attendees(meeting_id: str) -> Iterator[str]:
    return items.counted(_pk(meeting_id), "attend#")


@translate_store_errors
def due_reminders(day: str, start_by: str, limit: int) -> list[Meeting]:
    """Meetings whose reminder falls on `day`, not yet sent, starting by `start_by` (sparse index)."""
    rows = NeighbourhoodModel.by_remind_day.query(
        day, NeighbourhoodModel.area_sort <= f"event#{start_by}\uffff", limit=limit)
    return [_decode(row)[0] for row in rows]


@translate_store_errors
def reminded(meeting_id: str) -> bool:
    """Take the meeting off the reminder index, once (False: another run did it)."""
    try:
        NeighbourhoodModel(_pk(meeting_id), ITEM).update(
            actions=[NeighbourhoodModel.remind_day.remove()], condition=NeighbourhoodModel.remind_day.exists())
        return True
    except UpdateError as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return False
        raise
