"""This force's neighbourhoods in the shapes of the data.police.uk neighbourhood API.

Field for field what that API answers (its documentation, "Neighbourhood related"), so that an
existing client works with nothing changed but its base URL: coordinates as decimal strings,
dashed names where it uses them (`issue-date`, `action-date`), times in UK local time without an
offset (`2026-12-03T19:00:00`). Neighbourhood ids are area ids; the force id is a setting.
"""

from __future__ import annotations

from datetime import datetime
from itertools import pairwise
from zoneinfo import ZoneInfo

from msgspec import Struct, field

from chalicelib.clock import parse_rfc3339
from chalicelib.domain.areas import AreaRecord
from chalicelib.domain.meetings import Meeting
from chalicelib.domain.priorities import ActionOut, Priority
from chalicelib.domain.shapes import MultiPolygon, Polygon
from chalicelib.domain.teams import RANK_DISPLAY, ContactDetails, Person, TeamRecord

UK_TIME = ZoneInfo("Europe/London")


class ForceSummary(Struct):
    id: str
    name: str


class EngagementMethod(Struct):
    url: str
    description: str | None
    title: str


class Force(Struct):
    description: str | None
    url: str | None
    engagement_methods: list[EngagementMethod]
    telephone: str | None
    id: str
    name: str


class NeighbourhoodSummary(Struct):
    id: str
    name: str


class Point(Struct):
    latitude: str
    longitude: str


class Link(Struct):
    url: str
    description: str | None
    title: str


class Location(Struct):
    name: str | None
    longitude: str | None
    postcode: str | None
    address: str | None
    latitude: str | None
    type: str | None
    description: str | None


class Neighbourhood(Struct):
    url_force: str | None
    contact_details: ContactDetails
    name: str
    links: list[Link]
    centre: Point
    locations: list[Location]
    description: str | None
    id: str
    population: str


class TeamMember(Struct):
    bio: str | None
    contact_details: ContactDetails
    name: str
    rank: str


class NeighbourhoodPriority(Struct):
    action: str | None
    issue_date: str = field(name="issue-date")
    action_date: str | None = field(name="action-date")
    issue: str = ""


class Event(Struct):
    contact_details: ContactDetails
    description: str | None
    title: str
    address: str | None
    type: str
    start_date: str
    end_date: str


class Located(Struct):
    force: str
    neighbourhood: str


def local_time(moment: datetime) -> str:
    """data.police.uk's time format: UK local time, seconds, no offset."""
    local = moment.astimezone(UK_TIME)
    return f"{local.year:04d}-{local:%m-%dT%H:%M:%S}"


def _coordinate(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".")


def _rings(geometry: Polygon | MultiPolygon) -> list[list[list[float]]]:
    """Outer rings, one per polygon."""
    if isinstance(geometry, Polygon):
        return [geometry.coordinates[0]]
    return [polygon[0] for polygon in geometry.coordinates]


def _signed_area(ring: list[list[float]]) -> float:
    return sum(a[0] * b[1] - b[0] * a[1] for a, b in pairwise(ring)) / 2


def main_ring(geometry: Polygon | MultiPolygon) -> list[list[float]]:
    """The largest outer ring: police.uk's boundary is one ring, so a multi-part area is
    published as its main part (documented in docs/guarantee.md)."""
    return max(_rings(geometry), key=lambda ring: abs(_signed_area(ring)))


def centre(geometry: Polygon | MultiPolygon) -> Point:
    """The main ring's centroid (planar on degrees: neighbourhoods are a few km across)."""
    ring = main_ring(geometry)
    area = _signed_area(ring)
    if abs(area) < 1e-15:
        lon = sum(p[0] for p in ring) / len(ring)
        lat = sum(p[1] for p in ring) / len(ring)
    else:
        pairs = list(pairwise(ring))
        lon = sum((a[0] + b[0]) * (a[0] * b[1] - b[0] * a[1]) for a, b in pairs) / (6 * area)
        lat = sum((a[1] + b[1]) * (a[0] * b[1] - b[0] * a[1]) for a, b in pairs) / (6 * area)
    return Point(latitude=_coordinate(lat), longitude=_coordinate(lon))


def boundary(geometry: Polygon | MultiPolygon) -> list[Point]:
    return [Point(latitude=_coordinate(p[1]), longitude=_coordinate(p[0])) for p in main_ring(geometry)]


def neighbourhood(area: AreaRecord, team: TeamRecord, force_url: str | None) -> Neighbourhood:
    return Neighbourhood(
        url_force=force_url, contact_details=team.contact_details, name=area.name, links=[],
        centre=centre(area.geometry), locations=[], description=team.description or None, id=area.id,
        population="0",
    )


def member(person: Person) -> TeamMember:
    return TeamMember(bio=person.bio or None, contact_details=person.contact_details, name=person.name,
                      rank=RANK_DISPLAY[person.rank])


def priority(item: Priority, actions: list[ActionOut]) -> NeighbourhoodPriority:
    """A current priority: the latest action is police.uk's `action` ("we did")."""
    latest = max(actions, key=lambda a: (a.at, a.id), default=None)
    return NeighbourhoodPriority(
        action=latest.text if latest else None, issue_date=local_time(parse_rfc3339(item.set_at or item.proposed_at)),
        action_date=local_time(parse_rfc3339(latest.at)) if latest else None, issue=item.issue,
    )


def event(meeting: Meeting) -> Event:
    return Event(contact_details=ContactDetails(), description=meeting.description or None, title=meeting.title,
                 address=meeting.address or meeting.online_url, type=meeting.type,
                 start_date=local_time(parse_rfc3339(meeting.start)), end_date=local_time(parse_rfc3339(meeting.end)))
