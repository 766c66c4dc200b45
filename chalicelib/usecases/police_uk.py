"""This force's neighbourhoods through the data.police.uk neighbourhood API's paths and shapes
(public; domain/police_uk.py has the shapes)."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

from chalicelib.clock import to_rfc3339
from chalicelib.context import RequestContext
from chalicelib.domain import police_uk as shapes
from chalicelib.domain.areas import AreaRecord
from chalicelib.domain.errors import FieldError, NotFound, RuleViolation
from chalicelib.domain.teams import unnamed

if TYPE_CHECKING:
    from chalicelib.services import Services

LAT_LNG = re.compile(r"^\s*(-?\d{1,2}(?:\.\d{1,20})?)\s*,\s*(-?\d{1,3}(?:\.\d{1,20})?)\s*$")


def _force(svc: Services, force_id: str) -> None:
    """police.uk force ids are case-insensitive; only this force is served."""
    if force_id.lower() != svc.settings.force_id:
        raise NotFound("No such force.")


def _area(svc: Services, force_id: str, neighbourhood_id: str) -> AreaRecord:
    _force(svc, force_id)
    try:
        area_id = str(uuid.UUID(neighbourhood_id))
    except ValueError:
        raise NotFound("No such neighbourhood.") from None
    area = svc.store.areas.get(area_id)
    if area is None:
        raise NotFound("No such neighbourhood.")
    return area


def forces(svc: Services) -> list[shapes.ForceSummary]:
    return [shapes.ForceSummary(id=svc.settings.force_id, name=svc.settings.force_name)]


def force(svc: Services, force_id: str) -> shapes.Force:
    _force(svc, force_id)
    s = svc.settings
    return shapes.Force(description=s.force_description or None, url=s.force_url, engagement_methods=[],
                        telephone=s.force_telephone or None, id=s.force_id, name=s.force_name)


def neighbourhoods(svc: Services, force_id: str) -> list[shapes.NeighbourhoodSummary]:
    _force(svc, force_id)
    areas = sorted(svc.store.areas.all_areas(), key=lambda a: (a.name.casefold(), a.id))
    return [shapes.NeighbourhoodSummary(id=a.id, name=a.name) for a in areas]


def neighbourhood(svc: Services, force_id: str, neighbourhood_id: str) -> shapes.Neighbourhood:
    area = _area(svc, force_id, neighbourhood_id)
    team = svc.store.teams.get(area.team) or unnamed(area.team)
    return shapes.neighbourhood(area, team, svc.settings.force_url)


def people(svc: Services, force_id: str, neighbourhood_id: str) -> list[shapes.TeamMember]:
    area = _area(svc, force_id, neighbourhood_id)
    team = svc.store.teams.get(area.team)
    return [shapes.member(person) for person in (team.people if team else ())]


def boundary(svc: Services, force_id: str, neighbourhood_id: str) -> list[shapes.Point]:
    return shapes.boundary(_area(svc, force_id, neighbourhood_id).geometry)


def parse_point(q: str) -> tuple[float, float]:
    match = LAT_LNG.match(q)
    lat, lng = (float(match.group(1)), float(match.group(2))) if match else (91.0, 181.0)
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise RuleViolation("q must be `latitude,longitude` in decimal degrees.", [FieldError("q", "not lat,lng")])
    return lat, lng


def locate(svc: Services, q: str) -> shapes.Located:
    from chalicelib.domain.geo import contact_cell

    lat, lng = parse_point(q)
    area_id = svc.store.areas.area_for_cell(contact_cell(lat, lng))
    if area_id is None:
        raise NotFound("No neighbourhood of this force covers that point.")
    return shapes.Located(force=svc.settings.force_id, neighbourhood=area_id)


def priorities(svc: Services, force_id: str, neighbourhood_id: str) -> list[shapes.NeighbourhoodPriority]:
    """The neighbourhood's current priorities, with what was last done about each."""
    area = _area(svc, force_id, neighbourhood_id)
    current = [p for p, _ in svc.store.priorities.of_area(area.id) if p.status == "current"]
    return [shapes.priority(p, svc.store.priorities.actions(p.id)) for p in current]


def events(svc: Services, ctx: RequestContext, force_id: str, neighbourhood_id: str) -> list[shapes.Event]:
    """Meetings not yet ended, soonest first."""
    area = _area(svc, force_id, neighbourhood_id)
    now = to_rfc3339(ctx.now)
    rows = svc.store.meetings.of_area(area.id, to_rfc3339(ctx.now - timedelta(hours=12)))
    return [shapes.event(m) for m, _ in rows if m.end > now]
