"""Neighbourhood priorities and "you said, we did" (the Neighbourhood Policing Guarantee).

A supervisor proposes a priority for a neighbourhood (an area); residents who follow it support
proposals during a consultation window; a supervisor sets priorities current; the team posts
actions (what was done, when), which reach every supporter and every resident whose conversation
a team member linked, and are public. A current priority is due for review 90 days after it was
set or last reviewed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

from chalicelib.clock import parse_rfc3339, to_rfc3339
from chalicelib.domain.contact_schemas import Topic
from chalicelib.domain.errors import Conflict, StateForbids

REVIEW_DAYS = 90
CONSULTATION_DAYS = 28
ISSUE_TEXT = r"^[^<>\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
IssueText = Annotated[str, Meta(min_length=3, max_length=500, pattern=ISSUE_TEXT)]
ActionText = Annotated[str, Meta(min_length=3, max_length=1000, pattern=ISSUE_TEXT)]
Uuid = Annotated[str, Meta(pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
Status = Literal["proposed", "current", "closed"]


class PriorityIn(Struct, forbid_unknown_fields=True):
    id: Uuid
    issue: IssueText
    topic: Topic
    status: Literal["proposed", "current"] = "proposed"


class PriorityPatch(Struct, forbid_unknown_fields=True):
    status: Literal["current"] | UnsetType = UNSET
    issue: IssueText | UnsetType = UNSET


class ActionIn(Struct, forbid_unknown_fields=True):
    id: Uuid
    text: ActionText
    at: datetime


class LinkIn(Struct, forbid_unknown_fields=True):
    conversation_id: Uuid


class ActionOut(Struct):
    id: str
    text: str
    at: str
    posted_at: str


class PriorityOut(Struct):
    id: str
    area_id: str
    team: str
    issue: str
    topic: str
    status: str
    proposed_at: str
    consultation_ends: str
    set_at: str | None
    reviewed_at: str | None
    review_due: str | None
    review_overdue: bool
    closed_at: str | None
    supporters: int
    actions: list[ActionOut]


class PriorityList(Struct):
    items: list[PriorityOut]


class SupportOut(Struct):
    priority_id: str
    supported: bool
    supporters: int


@dataclass(frozen=True)
class Priority:
    id: str
    area_id: str
    team: str
    issue: str
    topic: str
    status: Status
    proposed_at: str
    set_at: str | None = None
    reviewed_at: str | None = None
    closed_at: str | None = None

    @property
    def consultation_ends(self) -> str:
        return to_rfc3339(parse_rfc3339(self.proposed_at) + timedelta(days=CONSULTATION_DAYS))

    @property
    def review_due(self) -> str | None:
        last = self.reviewed_at or self.set_at
        if self.status != "current" or last is None:
            return None
        return to_rfc3339(parse_rfc3339(last) + timedelta(days=REVIEW_DAYS))

    def overdue(self, now: datetime) -> bool:
        due = self.review_due
        return due is not None and due <= to_rfc3339(now)

    def same_request(self, body: PriorityIn, area_id: str) -> bool:
        """An identical retry of the create (idempotent on the client's id)."""
        return (self.area_id, self.issue, self.topic) == (area_id, body.issue, body.topic)

    def to_out(self, now: datetime, supporters: int, actions: list[ActionOut]) -> PriorityOut:
        return PriorityOut(
            id=self.id, area_id=self.area_id, team=self.team, issue=self.issue, topic=self.topic,
            status=self.status, proposed_at=self.proposed_at, consultation_ends=self.consultation_ends,
            set_at=self.set_at, reviewed_at=self.reviewed_at, review_due=self.review_due,
            review_overdue=self.overdue(now), closed_at=self.closed_at, supporters=supporters,
            actions=sorted(actions, key=lambda a: (a.at, a.id), reverse=True),
        )


def propose(body: PriorityIn, area_id: str, team: str, now: datetime) -> Priority:
    at = to_rfc3339(now)
    return Priority(id=body.id.lower(), area_id=area_id, team=team, issue=body.issue, topic=body.topic,
                    status=body.status, proposed_at=at, set_at=at if body.status == "current" else None)


def patched(priority: Priority, patch: PriorityPatch, now: datetime) -> Priority:
    """Set a proposed priority current, or edit the issue text of one not closed."""
    if priority.status == "closed":
        raise StateForbids("This priority is closed.")
    new = priority
    if not isinstance(patch.issue, UnsetType):
        new = dataclasses.replace(new, issue=patch.issue)
    if not isinstance(patch.status, UnsetType) and new.status == "proposed":
        new = dataclasses.replace(new, status="current", set_at=to_rfc3339(now))
    return new


def reviewed(priority: Priority, now: datetime) -> Priority:
    if priority.status != "current":
        raise StateForbids("Only a current priority is reviewed.")
    return dataclasses.replace(priority, reviewed_at=to_rfc3339(now))


def closed(priority: Priority, now: datetime) -> Priority:
    if priority.status == "closed":
        raise StateForbids("This priority is already closed.")
    return dataclasses.replace(priority, status="closed", closed_at=to_rfc3339(now))


def check_supportable(priority: Priority, now: datetime) -> None:
    if priority.status != "proposed":
        raise StateForbids("Only a proposed priority can be supported.")
    if to_rfc3339(now) >= priority.consultation_ends:
        raise StateForbids("The consultation on this priority has ended.")


def check_open(priority: Priority) -> None:
    if priority.status == "closed":
        raise StateForbids("This priority is closed.")


def check_action_retry(existing: ActionOut | None, body: ActionIn) -> bool:
    """True for an identical retry; a different action under the same id is a conflict."""
    if existing is None:
        return False
    if (existing.text, existing.at) != (body.text, to_rfc3339(body.at)):
        raise Conflict("An action with this id already exists with other content.")
    return True
