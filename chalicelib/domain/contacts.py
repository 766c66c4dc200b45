"""Contacts (the engagement log): the stored record and the pure rules around it (what a create
stores, what an amendment changes, the age/skew/retention limits). Wire schemas:
chalicelib/domain/contact_schemas.py."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import msgspec
from msgspec import UNSET

from chalicelib.clock import to_rfc3339
from chalicelib.domain import geo, stats_keys
from chalicelib.domain.contact_schemas import (
    ONLINE_ONLY,
    STREET_ONLY,
    Change,
    ContactIn,
    ContactOut,
    ContactPatch,
    Location,
    StreetContactIn,
)
from chalicelib.domain.errors import FieldError, RuleViolation
from chalicelib.domain.pseudonyms import Pseudonymizer

# Who wrote a contact into the log. Only staff are people of the force: rows and figures name
# (by pseudonym) and count nobody else as an officer.
AuthorKind = Literal["staff", "resident", "system"]
STAFF_ROLES = ("officer", "supervisor")
RESIDENT_ROLE = "resident"  # author_role of a resident's message (the resident only as `rsp_`)
# The fixed author id of residents' inbound contacts (alert replies, conversation messages).
RESIDENTS_AUTHOR = "system:beatline-residents"
SYSTEM_PREFIX = "system:"  # reserved: no staff identity may start with it (auth.tokens refuses it)


def author_kind(author: str, author_role: str | None) -> AuthorKind:
    """staff / resident / system. Contacts written before roles were recorded have none: a
    `system:` author is not a person of the force (the residents' author is residents)."""
    if author_role in STAFF_ROLES:
        return "staff"
    if author_role == RESIDENT_ROLE or author == RESIDENTS_AUTHOR:
        return "resident"
    if author_role is not None or author.startswith(SYSTEM_PREFIX):
        return "system"
    return "staff"


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
    # The author's rank at the time (domain.ranks; None: the token carried none).
    author_rank: str | None = None
    # What a conversation message's contact belongs to (analysts' rows join on their pseudonyms).
    conversation_id: str | None = None
    alert_id: str | None = None

    @property
    def day(self) -> str:
        return self.occurred_at[:10]

    @property
    def author_kind(self) -> AuthorKind:
        return author_kind(self.author, self.author_role)

    def counter_keys(self) -> set[tuple[str, str]]:
        values = {
            "kind": self.kind,
            "platform": self.platform,
            "topic": self.topic,
            "cell": geo.coarse_cell(self.cell) if self.cell else None,
            "area": self.area_id,
            "direction": self.direction,  # online only: inbound (listening) vs outbound (talking)
            "outcome": self.outcome,
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
            author_kind=self.author_kind, author_role=self.author_role, author_rank=self.author_rank,
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
    author_rank: str | None = None,
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
        author_rank=author_rank,
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


def _check_patch(record: ContactRecord, given: dict[str, Any], now: datetime, rules: ContactRules) -> None:
    wrong_kind = STREET_ONLY if record.kind == "online" else ONLINE_ONLY
    errors = [FieldError(f, f"does not apply to a {record.kind} contact") for f in given if f in wrong_kind]
    if "occurred_at" in given:
        errors += check_occurred_at(given["occurred_at"], now, rules)
    if errors:
        raise RuleViolation("The amendment breaks a rule.", errors)
    if "platform" in given and "handle" not in given and record.handle_pseudonym:
        # The pseudonym is keyed by platform; without the raw handle it cannot be re-keyed.
        raise RuleViolation("Changing the platform needs the handle again.", [FieldError("handle", "required when platform changes")])


def _updates_for(record: ContactRecord, name: str, value: Any, given: dict[str, Any], rules: ContactRules,
                 pseudonyms: Pseudonymizer, area_for_cell: Any) -> dict[str, Any]:
    """The stored fields one patched field becomes."""
    if name == "occurred_at":
        occurred = value.replace(microsecond=0)
        return {"occurred_at": to_rfc3339(occurred), "expires_at": occurred + rules.retention}
    if name == "tags":
        return {"tags": tuple(value)}
    if name == "location":
        cell = geo.contact_cell(value.lat, value.lon)
        return {"lat": value.lat, "lon": value.lon, "cell": cell, **({"area_id": area_for_cell(cell)} if area_for_cell else {})}
    if name == "handle":
        platform = given.get("platform", record.platform)
        return {"handle_pseudonym": pseudonyms.handle(str(platform), value) if value else None}
    return {name: value}


SHOWN_CHANGES = ("occurred_at", "topic", "outcome", "tags", "notes", "lat", "lon", "setting",
                 "platform", "direction", "thread_ref", "handle_pseudonym", "area_id")


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
    _check_patch(record, given, now, rules)
    updates: dict[str, Any] = {}
    for name, value in given.items():
        updates.update(_updates_for(record, name, value, given, rules, pseudonyms, area_for_cell))
    changes = [
        Change(field=name, old=_plain(getattr(record, name)), new=_plain(updates[name]))
        for name in SHOWN_CHANGES
        if name in updates and updates[name] != getattr(record, name)
    ]
    amended = replace(record, **updates, version=record.version + 1, updated_at=to_rfc3339(now))
    return amended, changes


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value
