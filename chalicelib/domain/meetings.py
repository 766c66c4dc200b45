"""Beat meetings (the Neighbourhood Policing Guarantee): a team publishes meetings, residents who
follow the neighbourhood say they will come and are reminded the day before, and the team records
how many came and the concerns raised. Counts, never names, in everything shown."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Literal

from msgspec import Meta, Struct

from chalicelib.clock import parse_rfc3339, to_rfc3339
from chalicelib.domain.errors import FieldError, RuleViolation, StateForbids
from chalicelib.domain.priorities import ISSUE_TEXT, Uuid

Title = Annotated[str, Meta(min_length=3, max_length=120, pattern=ISSUE_TEXT)]
Text = Annotated[str, Meta(max_length=1000, pattern=ISSUE_TEXT)]
Address = Annotated[str, Meta(min_length=3, max_length=300, pattern=ISSUE_TEXT)]
# Shown as a link, never fetched by Beatline: https only, no credentials, no odd characters.
OnlineUrl = Annotated[str, Meta(max_length=300, pattern=r"^https://[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?(/[A-Za-z0-9._~/?#&=%+-]*)?$")]
Concern = Annotated[str, Meta(min_length=3, max_length=300, pattern=ISSUE_TEXT)]
MeetingType = Literal["meeting", "surgery", "street_meeting", "drop_in", "online", "other"]
MAX_AHEAD = timedelta(days=366)
MAX_LENGTH = timedelta(hours=12)
REMIND_BEFORE = timedelta(hours=24)


class MeetingIn(Struct, forbid_unknown_fields=True):
    id: Uuid
    title: Title
    type: MeetingType
    start: datetime
    end: datetime
    description: Text = ""
    address: Address | None = None
    online_url: OnlineUrl | None = None


class RecordIn(Struct, forbid_unknown_fields=True):
    attended: Annotated[int, Meta(ge=0, le=100000)]
    concerns: Annotated[list[Concern], Meta(max_length=20)] = []


class MeetingOut(Struct):
    id: str
    area_id: str
    team: str
    title: str
    type: str
    description: str
    address: str | None
    online_url: str | None
    start: str
    end: str
    attending: int
    attended: int | None
    concerns: list[str]
    recorded_at: str | None


class MeetingList(Struct):
    items: list[MeetingOut]


class AttendOut(Struct):
    event_id: str
    attending: int


@dataclass(frozen=True)
class Meeting:
    id: str
    area_id: str
    team: str
    title: str
    type: str
    description: str
    address: str | None
    online_url: str | None
    start: str
    end: str
    attended: int | None = None
    concerns: tuple[str, ...] = ()
    recorded_at: str | None = None

    @property
    def remind_at(self) -> str:
        return to_rfc3339(parse_rfc3339(self.start) - REMIND_BEFORE)

    def same_request(self, body: MeetingIn, area_id: str) -> bool:
        """An identical retry of the create (idempotent on the client's id)."""
        return (self.area_id, self.title, self.type, self.description, self.address, self.online_url,
                self.start, self.end) == (area_id, body.title, body.type, body.description, body.address,
                                          body.online_url, to_rfc3339(body.start), to_rfc3339(body.end))

    def to_out(self, attending: int) -> MeetingOut:
        return MeetingOut(id=self.id, area_id=self.area_id, team=self.team, title=self.title, type=self.type,
                          description=self.description, address=self.address, online_url=self.online_url,
                          start=self.start, end=self.end, attending=attending, attended=self.attended,
                          concerns=list(self.concerns), recorded_at=self.recorded_at)


def schedule(body: MeetingIn, area_id: str, team: str, now: datetime) -> Meeting:
    """A new meeting: where (an address or an online link, not neither), a sane time span."""
    errors = []
    if (body.address is None) == (body.online_url is None):
        errors.append(FieldError("address", "give an address or an online_url (one of them)"))
    if not body.start < body.end <= body.start + MAX_LENGTH:
        errors.append(FieldError("end", "must be after start, at most 12 hours later"))
    if body.start > now + MAX_AHEAD:
        errors.append(FieldError("start", "at most a year ahead"))
    if errors:
        raise RuleViolation("The meeting is not valid.", errors)
    return Meeting(id=body.id.lower(), area_id=area_id, team=team, title=body.title, type=body.type,
                   description=body.description, address=body.address, online_url=body.online_url,
                   start=to_rfc3339(body.start), end=to_rfc3339(body.end))


def check_attendable(meeting: Meeting, now: datetime) -> None:
    if to_rfc3339(now) >= meeting.start:
        raise StateForbids("This meeting has already started.")


def recorded(meeting: Meeting, body: RecordIn, now: datetime) -> Meeting:
    if to_rfc3339(now) < meeting.start:
        raise StateForbids("A meeting is recorded once it has started.")
    return dataclasses.replace(meeting, attended=body.attended, concerns=tuple(body.concerns),
                               recorded_at=to_rfc3339(now))
