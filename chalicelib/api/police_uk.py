"""This force's neighbourhoods in the data.police.uk neighbourhood API's paths and shapes, so an
existing client of that API works with only its base URL changed (docs/guarantee.md)."""

from __future__ import annotations

from typing import Annotated

from chalice import Blueprint
from msgspec import Meta, Struct

from chalicelib.api.framework import Reply, operation
from chalicelib.api.responses import std
from chalicelib.auth.permissions import PUBLIC
from chalicelib.context import RequestContext
from chalicelib.domain import police_uk as shapes
from chalicelib.domain.errors import NotFound
from chalicelib.services import Services
from chalicelib.usecases import police_uk as usecase

bp = Blueprint(__name__)
TAG = "police-uk"
BASE = "/v1/police-uk"
SAME = "Field for field as data.police.uk answers it."


class LocateQuery(Struct, forbid_unknown_fields=True):
    q: Annotated[str, Meta(min_length=3, max_length=64)]


@operation(bp, "GET", f"{BASE}/forces", action=PUBLIC, tag=TAG, summary="Forces (this force only)",
           description=SAME, responses={200: ("[{id, name}]", list[shapes.ForceSummary]), **std(503)})
def police_uk_forces(svc: Services, ctx: RequestContext) -> Reply:
    return Reply(200, usecase.forces(svc))


@operation(bp, "GET", f"{BASE}/forces/{{force}}", action=PUBLIC, tag=TAG, summary="Specific force",
           description=SAME, responses={200: ("The force.", shapes.Force), **std(404, 503)})
def police_uk_force(svc: Services, ctx: RequestContext, force: str) -> Reply:
    return Reply(200, usecase.force(svc, force))


@operation(bp, "GET", f"{BASE}/locate-neighbourhood", action=PUBLIC, tag=TAG, query=LocateQuery,
           summary="Locate a neighbourhood (q=lat,lng)",
           description=SAME + " 404 when no neighbourhood of this force covers the point.",
           responses={200: ("{force, neighbourhood}", shapes.Located), **std(400, 404, 503)})
def police_uk_locate(svc: Services, ctx: RequestContext, query: LocateQuery) -> Reply:
    return Reply(200, usecase.locate(svc, query.q))


@operation(bp, "GET", f"{BASE}/{{force}}", action=PUBLIC, tag=TAG, summary="Not served (crime and other routes)",
           description="Only the neighbourhood routes of data.police.uk are served here; any other is 404.",
           responses=std(404))
def police_uk_not_served(svc: Services, ctx: RequestContext, force: str) -> Reply:
    raise NotFound("Only data.police.uk's neighbourhood routes are served here.")


@operation(bp, "GET", f"{BASE}/{{force}}/neighbourhoods", action=PUBLIC, tag=TAG, summary="Neighbourhoods",
           description=SAME + " Neighbourhood ids are area ids.",
           responses={200: ("[{id, name}]", list[shapes.NeighbourhoodSummary]), **std(404, 503)})
def police_uk_neighbourhoods(svc: Services, ctx: RequestContext, force: str) -> Reply:
    return Reply(200, usecase.neighbourhoods(svc, force))


@operation(bp, "GET", f"{BASE}/{{force}}/{{neighbourhood}}", action=PUBLIC, tag=TAG,
           summary="Specific neighbourhood", description=SAME + " `centre` is the main part's centroid.",
           responses={200: ("The neighbourhood.", shapes.Neighbourhood), **std(404, 503)})
def police_uk_neighbourhood(svc: Services, ctx: RequestContext, force: str, neighbourhood: str) -> Reply:
    return Reply(200, usecase.neighbourhood(svc, force, neighbourhood))


@operation(bp, "GET", f"{BASE}/{{force}}/{{neighbourhood}}/people", action=PUBLIC, tag=TAG,
           summary="Neighbourhood team", description=SAME + " Ranks as police.uk writes them (PC, Sgt, PCSO, ...).",
           responses={200: ("[{bio, contact_details, name, rank}]", list[shapes.TeamMember]), **std(404, 503)})
def police_uk_people(svc: Services, ctx: RequestContext, force: str, neighbourhood: str) -> Reply:
    return Reply(200, usecase.people(svc, force, neighbourhood))


@operation(bp, "GET", f"{BASE}/{{force}}/{{neighbourhood}}/boundary", action=PUBLIC, tag=TAG,
           summary="Neighbourhood boundary",
           description=SAME + " A multi-part area is published as its largest part.",
           responses={200: ("[{latitude, longitude}]", list[shapes.Point]), **std(404, 503)})
def police_uk_boundary(svc: Services, ctx: RequestContext, force: str, neighbourhood: str) -> Reply:
    return Reply(200, usecase.boundary(svc, force, neighbourhood))


@operation(bp, "GET", f"{BASE}/{{force}}/{{neighbourhood}}/priorities", action=PUBLIC, tag=TAG,
           summary="Neighbourhood priorities",
           description=SAME + " Current priorities; `action` and `action-date` are the latest action posted.",
           responses={200: ("[{action, issue-date, action-date, issue}]", list[shapes.NeighbourhoodPriority]),
                      **std(404, 503)})
def police_uk_priorities(svc: Services, ctx: RequestContext, force: str, neighbourhood: str) -> Reply:
    return Reply(200, usecase.priorities(svc, force, neighbourhood))


@operation(bp, "GET", f"{BASE}/{{force}}/{{neighbourhood}}/events", action=PUBLIC, tag=TAG,
           summary="Neighbourhood events", description=SAME + " Beat meetings not yet ended.",
           responses={200: ("[{contact_details, description, title, address, type, start_date, end_date}]",
                            list[shapes.Event]), **std(404, 503)})
def police_uk_events(svc: Services, ctx: RequestContext, force: str, neighbourhood: str) -> Reply:
    return Reply(200, usecase.events(svc, ctx, force, neighbourhood))
