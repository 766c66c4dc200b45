"""Shared rules of the Guarantee's use cases: which neighbourhood, whose team, who follows it."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from chalicelib.context import RequestContext
from chalicelib.domain.areas import AreaRecord
from chalicelib.domain.errors import Forbidden, NotFound

if TYPE_CHECKING:
    from chalicelib.domain.subscribers import SubscriberRecord
    from chalicelib.services import Services


def uuid_or_404(raw: str, what: str) -> str:
    """Ids are UUIDs; anything else names nothing (404, as for an unknown id)."""
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise NotFound(f"No such {what}.") from None


def area_or_404(svc: Services, area_id: str) -> AreaRecord:
    area = svc.store.areas.get(uuid_or_404(area_id, "neighbourhood"))
    if area is None:
        raise NotFound("No such neighbourhood.")
    return area


def require_team_member(ctx: RequestContext, team: str, *, supervisor: bool) -> None:
    caller = ctx.caller
    if caller.team != team or (supervisor and not caller.has("supervisor")):
        who = "a supervisor" if supervisor else "a member"
        raise Forbidden(f"Only {who} of the neighbourhood's team may do this.")


def follows(record: SubscriberRecord, area_id: str) -> bool:
    """The resident follows the named area (it is among their areas by id)."""
    return any(area.get("area_id") == area_id for area in record.areas)
