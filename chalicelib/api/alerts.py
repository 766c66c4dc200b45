"""Alerts: lifecycle (staff), receipts and responses (residents)."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.framework import Reply, operation
from chalicelib.api.responses import PROBLEM, std
from chalicelib.context import RequestContext
from chalicelib.domain.alerts import (
    AlertIn,
    AlertInDoc,
    AlertListQuery,
    AlertOut,
    AlertPage,
    AlertUpdateIn,
    ApproveQuery,
    ReceiptOut,
    ResponseIn,
    ResponseOut,
)
from chalicelib.domain.ratelimit import CONVERSATION_OPENINGS, RESIDENT_REPLIES, RESIDENT_WRITES
from chalicelib.domain.shapes import MAX_AREA_KM2, SHAPE_RULES
from chalicelib.services import Services
from chalicelib.usecases import alerts as usecase

bp = Blueprint(__name__)
TAG = "alerts"


@operation(bp, "POST", "/v1/alerts", action="alerts:draft", tag=TAG, request=AlertIn, request_doc=AlertInDoc,
           summary="Draft an alert for an area of your team (CAP 1.2 values)",
           description=(f"`area`: `{{\"area_id\"}}` of a named area of your team, a Circle (50 m..20 km radius) or a "
                        f"Polygon/MultiPolygon of at most {MAX_AREA_KM2:,.0f} km². {SHAPE_RULES}"),
           responses={201: ("The draft.", AlertOut), **std(400, 401, 403, 413, 503)})
def draft_alert(svc: Services, ctx: RequestContext, body: AlertIn) -> Reply:
    return Reply(201, usecase.draft(svc, ctx, body))


@operation(bp, "GET", "/v1/alerts", action="alerts:list", tag=TAG, query=AlertListQuery,
           summary="Own team's alerts, newest first", responses={200: ("A page.", AlertPage), **std(400, 401, 403, 503)})
def list_alerts(svc: Services, ctx: RequestContext, query: AlertListQuery) -> Reply:
    return Reply(200, usecase.list_alerts(svc, ctx, query))


@operation(bp, "GET", "/v1/alerts/{id}", action="alerts:read", tag=TAG,
           summary="One alert with live delivery figures (own team)",
           responses={200: ("The alert.", AlertOut), **std(401, 403, 404, 503)})
def get_alert(svc: Services, ctx: RequestContext, id: str) -> Reply:
    return Reply(200, usecase.get_alert(svc, ctx, id))


@operation(bp, "POST", "/v1/alerts/{id}/approve", action="alerts:approve", tag=TAG, query=ApproveQuery,
           summary="Approve: publish a draft (CAP Alert) or a pending update (CAP Update); fan-out starts",
           description="A supervisor of the alert's team who is not the draft's author, nor the update's "
           "proposer (403). Approving an update names it: `?proposal=<pending_update.id>` from the alert "
           "as read (428 without it, 409 when another proposal has replaced it). A published alert with "
           "no pending update: 422.",
           responses={200: ("Published.", AlertOut), **std(400, 401, 403, 404, 409, 422, 503),
                      428: ("Approving an update needs `?proposal=`.", PROBLEM)})
def approve_alert(svc: Services, ctx: RequestContext, id: str, query: ApproveQuery) -> Reply:
    return Reply(200, usecase.approve(svc, ctx, id, query.proposal))


@operation(bp, "POST", "/v1/alerts/{id}/update", action="alerts:update", tag=TAG, request=AlertUpdateIn,
           summary="Propose new content for a published alert (officer or supervisor of the team)",
           description="202: the alert shows `pending_update` (the proposed content, `proposed_by`, "
           "`proposed_at`, `id`). Nothing reaches the public or any subscriber until a supervisor of the "
           "team other than the proposer approves it; then it goes out as CAP Update to the same "
           "audience. A second proposal replaces the first (its proposer is then the one who may not "
           "approve). Fields left out keep the published value.",
           responses={202: ("Proposed; awaiting approval.", AlertOut), **std(400, 401, 403, 404, 409, 413, 422, 503)})
def update_alert(svc: Services, ctx: RequestContext, id: str, body: AlertUpdateIn) -> Reply:
    return Reply(202, usecase.update(svc, ctx, id, body))


@operation(bp, "POST", "/v1/alerts/{id}/cancel", action="alerts:cancel", tag=TAG,
           summary="Cancel (CAP Cancel; subscribers are told). A draft is simply withdrawn.",
           description="One supervisor of the team may cancel (it withdraws content). A pending update is "
           "dropped. The Atom feed keeps the Cancel entry until the alert would have expired.",
           responses={200: ("Cancelled.", AlertOut), **std(401, 403, 404, 409, 422, 503)})
def cancel_alert(svc: Services, ctx: RequestContext, id: str) -> Reply:
    return Reply(200, usecase.cancel(svc, ctx, id))


@operation(bp, "POST", "/v1/alerts/{id}/read", action="alerts:receipt", tag=TAG, rate_limit=RESIDENT_WRITES,
           summary="Receipt: the resident opened the alert (idempotent)",
           responses={200: ("Recorded (or already recorded).", ReceiptOut), **std(401, 403, 404, 503)})
def read_alert(svc: Services, ctx: RequestContext, id: str) -> Reply:
    return Reply(200, usecase.read_receipt(svc, ctx, id))


@operation(bp, "POST", "/v1/alerts/{id}/responses", action="alerts:respond", tag=TAG, request=ResponseIn,
           rate_limit=(RESIDENT_REPLIES, CONVERSATION_OPENINGS),
           summary="Reply to an alert; becomes an inbound online contact (platform beatline) of the team",
           description=("422 when the team closed the resident's conversation about this alert as abuse "
                        "(only the team reopens it)."),
           responses={201: ("Received.", ResponseOut), **std(400, 401, 403, 404, 413, 422, 503)})
def respond_alert(svc: Services, ctx: RequestContext, id: str, body: ResponseIn) -> Reply:
    return Reply(201, usecase.respond(svc, ctx, id, body))
