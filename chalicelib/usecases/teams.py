"""Named neighbourhood teams: the public page of a team and its people, kept by its supervisors
or an admin (docs/guarantee.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.clock import to_rfc3339
from chalicelib.context import RequestContext
from chalicelib.domain import strength
from chalicelib.domain.errors import Forbidden, NotFound
from chalicelib.domain.teams import TeamIn, TeamOut, TeamRecord, check_team_id, merge_for_supervisor, unnamed

if TYPE_CHECKING:
    from chalicelib.services import Services


def neighbourhoods_of(svc: Services, team_id: str) -> list[str]:
    """The team's named areas (all areas are one partition, a few hundred at most)."""
    return sorted(area.id for area in svc.store.areas.all_areas() if area.team == team_id)


def get_team(svc: Services, ctx: RequestContext, team_id: str) -> TeamOut:
    """Public: a team with a page, or with at least one named area, exists; others are 404."""
    team_id = check_team_id(team_id)
    record = svc.store.teams.get(team_id)
    areas = neighbourhoods_of(svc, team_id)
    if record is None and not areas:
        raise NotFound("No such team.")
    return (record or unnamed(team_id)).to_out(areas)


def put_team(svc: Services, ctx: RequestContext, team_id: str, body: TeamIn) -> tuple[bool, TeamOut]:
    """Admin: everything. A supervisor of the team: its people and description."""
    team_id = check_team_id(team_id)
    caller = ctx.caller
    current = svc.store.teams.get(team_id)
    if not caller.has("admin"):
        if caller.team != team_id:
            raise Forbidden("A supervisor may change their own team's page only.")
        body = merge_for_supervisor(current, body, team_id)
    record = TeamRecord(id=team_id, name=body.name, description=body.description,
                        contact_details=body.contact_details, people=tuple(body.people),
                        updated_at=to_rfc3339(ctx.now))
    created = svc.store.teams.put(record)
    # Staff names and work contact details are personal data, published on purpose: every change is logged.
    svc.store.access_log.append(ctx.audit("team.write", record_id=team_id))
    return created, record.to_out(neighbourhoods_of(svc, team_id))


def put_strength(svc: Services, ctx: RequestContext, team_id: str, body: strength.StrengthIn) -> tuple[bool, strength.StrengthOut]:
    """Admin: the team's strength by rank from a day on (a record per `from`; the same `from` replaces it)."""
    team_id = check_team_id(team_id)
    record = strength.new_record(team_id, body, to_rfc3339(ctx.now))
    created = svc.store.teams.put_strength(record)
    svc.store.access_log.append(ctx.audit("team.strength", record_id=f"{team_id}/{record.from_day}"))
    return created, record.to_out()
