"""Contacts on the wire: value lists and the msgspec Structs that are the single declaration of the
request/response format (they validate requests and produce the OpenAPI schemas). The rules that
act on them live in chalicelib/domain/contacts.py."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

TOPICS = (
    "antisocial_behaviour", "burglary", "community_event", "domestic_abuse", "drugs",
    "fraud_scams", "hate_crime", "neighbour_dispute", "noise", "reassurance", "road_safety",
    "theft", "vehicle_crime", "violence", "youth", "other",
)
OUTCOMES = (
    "advice_given", "information_received", "intelligence_submitted", "referred",
    "crime_reported", "follow_up_planned", "resolved", "no_further_action", "other",
)
SETTINGS_ = ("patrol", "community_meeting", "school", "business", "event", "other")
PLATFORMS = ("facebook", "x", "instagram", "nextdoor", "whatsapp", "forum", "email", "webchat", "other")
# Platforms Beatline itself records (a resident's reply to an alert); never accepted from clients.
SYSTEM_PLATFORMS = ("beatline",)

NOTES_MAX = 500
TAGS_MAX = 10

Topic = Literal[TOPICS]  # type: ignore[valid-type]
Outcome = Literal[OUTCOMES]  # type: ignore[valid-type]
Setting = Literal[SETTINGS_]  # type: ignore[valid-type]
Platform = Literal[PLATFORMS]  # type: ignore[valid-type]
Direction = Literal["inbound", "outbound"]
Tag = Annotated[str, Meta(min_length=1, max_length=32, pattern=r"^[a-z0-9][a-z0-9_-]*$")]
Tags = Annotated[list[Tag], Meta(max_length=TAGS_MAX)]
Notes = Annotated[str, Meta(max_length=NOTES_MAX, description=f"Short free text, at most {NOTES_MAX} characters. Never shown to analysts.")]
ThreadRef = Annotated[str, Meta(min_length=1, max_length=200)]
Handle = Annotated[str, Meta(min_length=1, max_length=100, description="Stored only as a keyed pseudonym.")]
AwareDatetime = Annotated[datetime, Meta(tz=True, description="RFC 3339 with offset; stored in UTC, whole seconds.")]


class Location(Struct, forbid_unknown_fields=True):
    lat: Annotated[float, Meta(ge=-90, le=90)]
    lon: Annotated[float, Meta(ge=-180, le=180)]


class _ContactBase(Struct, forbid_unknown_fields=True, kw_only=True):
    id: UUID
    occurred_at: AwareDatetime
    topic: Topic
    outcome: Outcome
    tags: Tags = []
    notes: Notes | None = None


class StreetContactIn(_ContactBase, tag="street", tag_field="kind"):
    location: Location
    setting: Setting


class OnlineContactIn(_ContactBase, tag="online", tag_field="kind"):
    platform: Platform
    direction: Direction
    thread_ref: ThreadRef | None = None
    handle: Handle | None = None


ContactIn = StreetContactIn | OnlineContactIn


class BatchIn(Struct, forbid_unknown_fields=True):
    contacts: Annotated[list[msgspec.Raw], Meta(min_length=1, max_length=100)]


class BatchInDoc(Struct):
    """What the batch body holds (items are validated one by one, so one bad item never blocks the rest)."""

    contacts: Annotated[list[ContactIn], Meta(min_length=1, max_length=100)]


class ContactPatch(Struct, forbid_unknown_fields=True, kw_only=True):
    version: Annotated[int, Meta(ge=1, description="The version you last read; 409 if it is stale.")]
    occurred_at: AwareDatetime | UnsetType = UNSET
    topic: Topic | UnsetType = UNSET
    outcome: Outcome | UnsetType = UNSET
    tags: Tags | UnsetType = UNSET
    notes: Notes | UnsetType | None = UNSET
    location: Location | UnsetType = UNSET
    setting: Setting | UnsetType = UNSET
    platform: Platform | UnsetType = UNSET
    direction: Direction | UnsetType = UNSET
    thread_ref: ThreadRef | UnsetType | None = UNSET
    handle: Handle | UnsetType | None = UNSET


STREET_ONLY = ("location", "setting")
ONLINE_ONLY = ("platform", "direction", "thread_ref", "handle")


class ContactOut(Struct, omit_defaults=True, kw_only=True):
    id: str
    kind: Literal["street", "online"]
    occurred_at: str
    topic: str
    outcome: str
    tags: list[str]
    author: str
    team: str
    version: int
    created_at: str
    updated_at: str
    notes: str | None = None
    location: Location | None = None
    cell: str | None = None
    setting: str | None = None
    platform: str | None = None
    direction: str | None = None
    thread_ref: str | None = None
    handle_pseudonym: str | None = None
    area_id: str | None = None
    # Who wrote it: `staff` (then `author` is the staff id), `resident` (a resident's message in a
    # conversation, under Beatline's own non-person author) or `system`; never a person invented.
    author_kind: str
    author_role: str | None = None
    author_rank: str | None = None


class ContactPage(Struct):
    items: list[ContactOut]
    next_cursor: str | None


class BatchResult(Struct, omit_defaults=True):
    id: str | None
    status: int
    errors: list[dict[str, str]] | None = None


class BatchOut(Struct):
    results: list[BatchResult]


class Change(Struct):
    field: str
    old: Any
    new: Any


class AmendmentOut(Struct):
    version: int
    at: str
    by: str
    by_role: str
    changes: list[Change]


class AmendmentList(Struct):
    items: list[AmendmentOut]


class ContactListQuery(Struct, forbid_unknown_fields=True, kw_only=True):
    from_: AwareDatetime | None = msgspec.field(default=None, name="from")
    to: AwareDatetime | None = None
    kind: Literal["street", "online"] | None = None
    team: Literal["mine"] | None = None
    limit: Annotated[int, Meta(ge=1, le=100)] = 25
    cursor: Annotated[str, Meta(max_length=2048)] | None = None
