"""Named areas: admin create/replace, public read."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from chalicelib.clock import to_rfc3339
from chalicelib.context import RequestContext
from chalicelib.domain.areas import AreaIn, AreaList, AreaListQuery, AreaOut, AreaRecord
from chalicelib.domain.cursors import query_fingerprint
from chalicelib.domain.errors import FieldError, NotFound, RuleViolation
from chalicelib.domain.geo import CONTACT_CELL_RESOLUTION
from chalicelib.domain.results import Created, Replaced
from chalicelib.domain.shapes import check_cover_cost, validate_shape

if TYPE_CHECKING:
    from chalicelib.services import Services


def _area_id(raw: str, *, missing_is_404: bool) -> str:
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        if missing_is_404:
            raise NotFound("No such area.") from None
        raise RuleViolation("Area ids are UUIDs.", [FieldError("id", "must be a UUID")]) from None


def put_area(svc: Services, ctx: RequestContext, area_id: str, body: AreaIn) -> Created[AreaOut] | Replaced[AreaOut]:
    validate_shape(body.geometry)
    check_cover_cost(body.geometry, "geometry", CONTACT_CELL_RESOLUTION)  # the contact cell index (CellAreaIndex)
    record = AreaRecord(
        id=_area_id(area_id, missing_is_404=False), name=body.name, team=body.team,
        geometry=body.geometry, updated_at=to_rfc3339(ctx.now),
    )
    created = svc.store.areas.put(record)
    return Created(record.to_out()) if created else Replaced(record.to_out())


def get_area(svc: Services, ctx: RequestContext, area_id: str) -> AreaOut:
    record = svc.store.areas.get(_area_id(area_id, missing_is_404=True))
    if record is None:
        raise NotFound("No such area.")
    return record.to_out()


def list_areas(svc: Services, ctx: RequestContext, query: AreaListQuery) -> AreaList:
    fingerprint = query_fingerprint("areas.list", "public", {"limit": query.limit})
    records, position = svc.store.areas.page(query.limit, svc.cursors.decode(query.cursor, fingerprint))
    return AreaList(items=[r.to_out() for r in records], next_cursor=svc.cursors.encode(position, fingerprint))
