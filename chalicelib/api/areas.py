"""Areas (named neighbourhoods / beats)."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.framework import Reply, operation
from chalicelib.api.responses import std
from chalicelib.auth.permissions import PUBLIC
from chalicelib.context import RequestContext
from chalicelib.domain.areas import AreaIn, AreaList, AreaListQuery, AreaOut
from chalicelib.domain.shapes import MAX_AREA_KM2, MAX_COVER_CELLS, SHAPE_RULES
from chalicelib.services import Services
from chalicelib.usecases import areas as usecase

bp = Blueprint(__name__)
TAG = "areas"


@operation(bp, "GET", "/v1/areas", action=PUBLIC, tag=TAG, query=AreaListQuery, summary="List named areas",
           responses={200: ("A page of areas.", AreaList), **std(400, 503)})
def list_areas(svc: Services, ctx: RequestContext, query: AreaListQuery) -> Reply:
    return Reply(200, usecase.list_areas(svc, ctx, query))


@operation(bp, "GET", "/v1/areas/{id}", action=PUBLIC, tag=TAG, summary="One named area",
           responses={200: ("The area.", AreaOut), **std(404, 503)})
def get_area(svc: Services, ctx: RequestContext, id: str) -> Reply:
    return Reply(200, usecase.get_area(svc, ctx, id))


@operation(bp, "PUT", "/v1/areas/{id}", action="areas:write", tag=TAG, request=AreaIn,
           summary="Create or replace a named area (GeoJSON Polygon or MultiPolygon)",
           description=(f"Limits: {MAX_AREA_KM2:,.0f} km²; at most {MAX_COVER_CELLS[9]:,} H3 resolution-9 cells "
                        f"(the contact cell index), by estimate. {SHAPE_RULES} "
                        "Contacts already logged keep the area they were tagged with."),
           responses={201: ("Created.", AreaOut), 200: ("Replaced.", AreaOut), **std(400, 401, 403, 413, 503)})
def put_area(svc: Services, ctx: RequestContext, id: str, body: AreaIn) -> Reply:
    return Reply.saved(usecase.put_area(svc, ctx, id, body))
