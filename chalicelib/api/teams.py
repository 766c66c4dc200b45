"""Named neighbourhood teams (the Neighbourhood Policing Guarantee)."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.framework import Reply, operation
from chalicelib.api.responses import std
from chalicelib.auth.permissions import PUBLIC
from chalicelib.context import RequestContext
from chalicelib.domain.strength import MAX_PEOPLE_PER_RANK, StrengthIn, StrengthOut
from chalicelib.domain.teams import MAX_PEOPLE, TeamIn, TeamOut
from chalicelib.services import Services
from chalicelib.usecases import teams as usecase

bp = Blueprint(__name__)
TAG = "teams"


@operation(bp, "GET", "/v1/teams/{team}", action=PUBLIC, tag=TAG, summary="A neighbourhood team's public page",
           description=("The team's name, description and contact details, its named people (name, rank, "
                        "short bio, work contact details) and its neighbourhoods (area ids). A team with areas "
                        "but no page yet is shown by its id with nobody named."),
           responses={200: ("The team.", TeamOut), **std(400, 404, 503)})
def get_team(svc: Services, ctx: RequestContext, team: str) -> Reply:
    return Reply(200, usecase.get_team(svc, ctx, team))


@operation(bp, "PUT", "/v1/teams/{team}", action="teams:write", tag=TAG, request=TeamIn,
           summary="Create or replace a team's public page",
           description=(f"Admin: every field. A supervisor of the team: its people (at most {MAX_PEOPLE}) and "
                        "description; name and contact details must be sent as stored (403 otherwise). Display "
                        "text may not contain `<`, `>` or control characters. Every change is access-logged."),
           responses={201: ("Created.", TeamOut), 200: ("Replaced.", TeamOut), **std(400, 401, 403, 413, 503)})
def put_team(svc: Services, ctx: RequestContext, team: str, body: TeamIn) -> Reply:
    created, out = usecase.put_team(svc, ctx, team, body)
    return Reply(201 if created else 200, out)


@operation(bp, "PUT", "/v1/teams/{team}/strength", action="teams:strength", tag=TAG, request=StrengthIn,
           summary="Record a team's strength by rank from a day on",
           description=("Admin: how many people of each rank (`constable`, ..., `staff`; 0.."
                        f"{MAX_PEOPLE_PER_RANK}) the team has from `from` on. History keeps every record: the "
                        "engagement figures of a period use the latest record whose `from` is on or before "
                        "the period's first day. The same `from` again replaces that record (200)."),
           responses={201: ("Recorded.", StrengthOut), 200: ("Replaced.", StrengthOut), **std(400, 401, 403, 413, 503)})
def put_strength(svc: Services, ctx: RequestContext, team: str, body: StrengthIn) -> Reply:
    created, out = usecase.put_strength(svc, ctx, team, body)
    return Reply(201 if created else 200, out)
