"""Named neighbourhood teams (the Neighbourhood Policing Guarantee's "named, contactable officers"):
wire schemas, ranks, and who may change what.

A team's page is public by design: it names the people residents may contact. It holds only what
a force publishes on police.uk (name, rank, a short bio, work contact details), never staff ids.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Literal

from msgspec import Meta, Struct

from chalicelib.domain.errors import FieldError, Forbidden, RuleViolation

# Display text: letters (any script, Welsh accents included), digits, spaces and ordinary
# punctuation; no angle brackets, no control characters. Pages insert it as text anyway.
DISPLAY_TEXT = r"^[^<>\x00-\x1f\x7f]*$"
PersonName = Annotated[str, Meta(min_length=1, max_length=100, pattern=DISPLAY_TEXT)]
TeamName = Annotated[str, Meta(min_length=1, max_length=120, pattern=DISPLAY_TEXT)]
Bio = Annotated[str, Meta(max_length=1000, pattern=r"^[^<>\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")]
Description = Annotated[str, Meta(max_length=2000, pattern=r"^[^<>\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")]
Email = Annotated[str, Meta(max_length=254, pattern=r"^[^@\s<>]{1,64}@[A-Za-z0-9.-]{1,189}\.[A-Za-z]{2,24}$")]
Telephone = Annotated[str, Meta(max_length=32, pattern=r"^\+?[0-9][0-9 ()-]{1,30}$")]
WebUrl = Annotated[str, Meta(max_length=300, pattern=r"^https://[A-Za-z0-9.-]{1,253}(/[A-Za-z0-9._~/?#&=%+:@-]*)?$")]
Handle = Annotated[str, Meta(max_length=100, pattern=r"^[A-Za-z0-9_.@/:-]{1,100}$")]
Address = Annotated[str, Meta(max_length=300, pattern=DISPLAY_TEXT)]

# The contract's rank values (API.md "Auth"), and how police.uk writes them on a team page.
Rank = Literal["constable", "sergeant", "inspector", "chief_inspector", "superintendent",
               "chief_superintendent", "chief_officer", "pcso", "special", "staff"]
RANK_DISPLAY: dict[str, str] = {
    "constable": "PC", "sergeant": "Sgt", "inspector": "Insp", "chief_inspector": "Ch Insp",
    "superintendent": "Supt", "chief_superintendent": "Ch Supt", "chief_officer": "Chief Officer",
    "pcso": "PCSO", "special": "SC", "staff": "Police Staff",
}
MAX_PEOPLE = 60
TEAM_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")


class ContactDetails(Struct, forbid_unknown_fields=True, omit_defaults=True, frozen=True):
    """The subset of police.uk's `contact_details` keys a team or person may publish."""

    email: Email | None = None
    telephone: Telephone | None = None
    mobile: Telephone | None = None
    web: WebUrl | None = None
    address: Address | None = None
    twitter: Handle | None = None
    facebook: Handle | None = None


class Person(Struct, forbid_unknown_fields=True, frozen=True):
    name: PersonName
    rank: Rank
    bio: Bio = ""
    contact_details: ContactDetails = ContactDetails()


class TeamIn(Struct, forbid_unknown_fields=True):
    """PUT /v1/teams/{team}. An admin sets everything; a supervisor of the team its people and
    description (name and contact details are the force's)."""

    name: TeamName
    description: Description = ""
    contact_details: ContactDetails = ContactDetails()
    people: Annotated[list[Person], Meta(max_length=MAX_PEOPLE)] = []


class TeamOut(Struct):
    id: str
    name: str
    description: str
    contact_details: ContactDetails
    people: list[Person]
    neighbourhoods: list[str]
    updated_at: str | None


@dataclass(frozen=True)
class TeamRecord:
    id: str
    name: str
    description: str
    contact_details: ContactDetails
    people: tuple[Person, ...]
    updated_at: str

    def to_out(self, neighbourhoods: list[str]) -> TeamOut:
        return TeamOut(id=self.id, name=self.name, description=self.description,
                       contact_details=self.contact_details, people=list(self.people),
                       neighbourhoods=neighbourhoods, updated_at=self.updated_at)


def unnamed(team_id: str) -> TeamRecord:
    """A team that has areas but no page yet: shown by its id, with nobody named."""
    return TeamRecord(id=team_id, name=team_id, description="", contact_details=ContactDetails(),
                      people=(), updated_at="")


def merge_for_supervisor(current: TeamRecord | None, body: TeamIn, team_id: str) -> TeamIn:
    """A supervisor may change the people and the description only: any other field must be
    what is stored (or absent on a first write, where the name must be the team id)."""
    stored = current or unnamed(team_id)
    changed = []
    if body.name != stored.name:
        changed.append("name")
    if body.contact_details != stored.contact_details and body.contact_details != ContactDetails():
        changed.append("contact_details")
    if changed:
        raise Forbidden("A supervisor may change the team's people and description only; "
                        f"an admin changes {' and '.join(changed)}.")
    return TeamIn(name=stored.name, description=body.description, contact_details=stored.contact_details,
                  people=body.people)


def check_team_id(raw: str) -> str:
    if not TEAM_ID.fullmatch(raw):
        raise RuleViolation("Team ids are 1-64 letters, digits, '_', '.', ':' or '-'.",
                            [FieldError("team", "not a team id")])
    return raw
