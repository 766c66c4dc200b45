"""Contacts (the engagement log): request/response schemas and the pure rules around them.

The msgspec Structs below are the single declaration of the wire format: they validate requests
and produce the OpenAPI schemas.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from chalicelib.clock import to_rfc3339
from chalicelib.domain import geo, stats_keys
from chalicelib.domain.errors import FieldError, RuleViolation
from chalicelib.domain.pseudonyms import Pseudonymizer

if TYPE_CHECKING:
    pass

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


@dataclass(frozen=True)
class ContactRecord:
    """A contact as stored: the handle only as a pseudonym, times as UTC RFC 3339 strings."""

    id: str
    kind: str
    occurred_at: str
    topic: str
    outcome: str
    tags: tuple[str, ...]
    author: str
    team: str
    version: int
    created_at: str
    updated_at: str
    content_digest: str
    expires_at: datetime
    notes: str | None = None
    lat: float | None = None
    lon: float | None = None
    cell: str | None = None
    setting: str | None = None
    platform: str | None = None
    direction: str | None = None
    thread_ref: str | None = None
    handle_pseudonym: str | None = None
    area_id: str | None = None
    # The role the author logged it under (engagement counters); None: not logged by staff.
    author_role: str | None = None

    @property
    def day(self) -> str:
        return self.occurred_at[:10]

    def counter_keys(self) -> set[tuple[str, str]]:
        values = {
            "kind": self.kind,
            "platform": self.platform,
            "topic": self.topic,
            "cell": geo.coarse_cell(self.cell) if self.cell else None,
            "area": self.area_id,
            "direction": self.direction,  # online only: inbound (listening) vs outbound (talking)
        }
        return stats_keys.counter_keys(self.day, self.team, values)

    def to_out(self) -> ContactOut:
        return ContactOut(
            id=self.id, kind=self.kind, occurred_at=self.occurred_at, topic=self.topic,  # type: ignore[arg-type]
            outcome=self.outcome, tags=list(self.tags), author=self.author, team=self.team,
            version=self.version, created_at=self.created_at, updated_at=self.updated_at,
            notes=self.notes,
            location=Location(lat=self.lat, lon=self.lon) if self.lat is not None and self.lon is not None else None,
            cell=self.cell, setting=self.setting, platform=self.platform, direction=self.direction,
            thread_ref=self.thread_ref, handle_pseudonym=self.handle_pseudonym, area_id=self.area_id,
        )


@dataclass(frozen=True)
class ContactRules:
    """The time window a contact's `occurred_at` must fall in, and how long it is kept."""

    max_age: timedelta
    future_skew: timedelta
    retention: timedelta


def check_occurred_at(value: datetime, now: datetime, rules: ContactRules, field: str = "occurred_at") -> list[FieldError]:
    if value > now + rules.future_skew:
        return [FieldError(field, f"is in the future (more than {int(rules.future_skew.total_seconds())} s ahead of the server clock)")]
    if value < now - rules.max_age:
        return [FieldError(field, f"is older than the {rules.max_age.days}-day limit for logging a contact")]
    return []


def content_digest(item: ContactIn, author: str, pseudonyms: Pseudonymizer) -> str:
    """Digest of what the client sent (normalised), to tell an idempotent retry from a conflict."""
    # The same instant written with another offset is the same content.
    occurred = item.occurred_at.astimezone(UTC).replace(microsecond=0)
    normalised = msgspec.structs.replace(item, occurred_at=occurred)
    return pseudonyms.content_digest(author.encode() + b"\x00" + msgspec.json.encode(normalised))


def new_record(
    item: ContactIn,
    *,
    author: str,
    team: str,
    now: datetime,
    rules: ContactRules,
    pseudonyms: Pseudonymizer,
    area_for_cell: Any = None,
    author_role: str | None = None,
) -> ContactRecord:
    """Validate the time rules and build the stored record for a new contact."""
    errors = check_occurred_at(item.occurred_at, now, rules)
    if errors:
        raise RuleViolation("The contact breaks a rule.", errors)
    occurred = item.occurred_at.replace(microsecond=0)
    stamp = to_rfc3339(now)
    common: dict[str, Any] = dict(
        id=str(item.id), occurred_at=to_rfc3339(occurred), topic=item.topic, outcome=item.outcome,
        tags=tuple(item.tags), notes=item.notes, author=author, team=team, version=1,
        created_at=stamp, updated_at=stamp, expires_at=occurred + rules.retention,
        content_digest=content_digest(item, author, pseudonyms), author_role=author_role,
    )
    if isinstance(item, StreetContactIn):
        cell = geo.contact_cell(item.location.lat, item.location.lon)
        return ContactRecord(
            kind="street", lat=item.location.lat, lon=item.location.lon, cell=cell,
            setting=item.setting, area_id=area_for_cell(cell) if area_for_cell else None, **common,
        )
    return ContactRecord(
        kind="online", platform=item.platform, direction=item.direction, thread_ref=item.thread_ref,
        handle_pseudonym=pseudonyms.handle(item.platform, item.handle) if item.handle else None,
        **common,
    )


def apply_patch(
    record: ContactRecord,
    patch: ContactPatch,
    *,
    now: datetime,
    rules: ContactRules,
    pseudonyms: Pseudonymizer,
    area_for_cell: Any = None,
) -> tuple[ContactRecord, list[Change]]:
    """The amended record and the list of changed fields (pseudonyms, never raw handles)."""
    given = {f: getattr(patch, f) for f in patch.__struct_fields__ if f != "version" and getattr(patch, f) is not UNSET}
    wrong_kind = STREET_ONLY if record.kind == "online" else ONLINE_ONLY
    errors = [FieldError(f, f"does not apply to a {record.kind} contact") for f in given if f in wrong_kind]
    if "occurred_at" in given:
        errors += check_occurred_at(given["occurred_at"], now, rules)
    if errors:
        raise RuleViolation("The amendment breaks a rule.", errors)

    updates: dict[str, Any] = {}
    for name, value in given.items():
        if name == "occurred_at":
            occurred = value.replace(microsecond=0)
            updates["occurred_at"] = to_rfc3339(occurred)
            updates["expires_at"] = occurred + rules.retention
        elif name == "tags":
            updates["tags"] = tuple(value)
        elif name == "location":
            updates.update(lat=value.lat, lon=value.lon, cell=geo.contact_cell(value.lat, value.lon))
            if area_for_cell:
                updates["area_id"] = area_for_cell(updates["cell"])
        elif name == "handle":
            platform = given.get("platform", record.platform)
            updates["handle_pseudonym"] = pseudonyms.handle(str(platform), value) if value else None
        else:
            updates[name] = value
    if "platform" in given and "handle" not in given and record.handle_pseudonym:
        # The pseudonym is keyed by platform; without the raw handle it cannot be re-keyed.
        raise RuleViolation("Changing the platform needs the handle again.", [FieldError("handle", "required when platform changes")])

    shown = ("occurred_at", "topic", "outcome", "tags", "notes", "lat", "lon", "setting",
             "platform", "direction", "thread_ref", "handle_pseudonym", "area_id")
    changes = [
        Change(field=name, old=_plain(getattr(record, name)), new=_plain(updates[name]))
        for name in shown
        if name in updates and updates[name] != getattr(record, name)
    ]
    amended = replace(record, **updates, version=record.version + 1, updated_at=to_rfc3339(now))
    return amended, changes


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value
