"""Team pages (public): one item per team in the neighbourhoods table; the team's strength by
rank under the same key, one item per record (`strength#<from>`)."""

from __future__ import annotations

import msgspec

from chalicelib.domain.strength import StrengthRecord
from chalicelib.domain.teams import ContactDetails, Person, TeamRecord
from chalicelib.store import neighbourhood_items as items
from chalicelib.store.errors import translate_store_errors
from chalicelib.store.models import NeighbourhoodModel

PROFILE = "profile"
STRENGTH = "strength#"


class _TeamBody(msgspec.Struct):
    name: str
    description: str
    contact_details: ContactDetails
    people: list[Person]


def _key(team_id: str) -> str:
    return f"team#{team_id}"


@translate_store_errors
def get(team_id: str) -> TeamRecord | None:
    try:
        item = NeighbourhoodModel.get(_key(team_id), PROFILE)
    except NeighbourhoodModel.DoesNotExist:
        return None
    body = msgspec.json.decode(item.body, type=_TeamBody)
    return TeamRecord(id=team_id, name=body.name, description=body.description,
                      contact_details=body.contact_details, people=tuple(body.people), updated_at=item.updated_at)


@translate_store_errors
def put(record: TeamRecord) -> bool:
    """Create or replace; True when the page is new."""
    body = _TeamBody(name=record.name, description=record.description, contact_details=record.contact_details,
                     people=list(record.people))
    return items.upsert(NeighbourhoodModel(_key(record.id), PROFILE, body=msgspec.json.encode(body).decode(),
                                           updated_at=record.updated_at))


@translate_store_errors
def put_strength(record: StrengthRecord) -> bool:
    """Create or replace the record from its day on; True when it is new."""
    return items.upsert(NeighbourhoodModel(_key(record.team), f"{STRENGTH}{record.from_day}",
                                           body=msgspec.json.encode(dict(record.by_rank)).decode(),
                                           updated_at=record.updated_at))


@translate_store_errors
def strengths(team_id: str, first_day: str, last_day: str) -> list[StrengthRecord]:
    """Newest first: the records from after `first_day` to `last_day` and the one in force on
    `first_day` (one Query, backwards from `last_day`, stopped there)."""
    found: list[StrengthRecord] = []
    condition = NeighbourhoodModel.sk.between(STRENGTH, f"{STRENGTH}{last_day}")
    for item in NeighbourhoodModel.query(_key(team_id), condition, scan_index_forward=False):
        day = item.sk.removeprefix(STRENGTH)
        found.append(StrengthRecord(team=team_id, from_day=day, by_rank=msgspec.json.decode(item.body or "{}",
                                    type=dict[str, int]), updated_at=item.updated_at or ""))
        if day <= first_day:
            break
    return found
