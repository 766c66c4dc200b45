"""Beat meetings (the Neighbourhood Policing Guarantee)."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.framework import Reply, operation
from chalicelib.api.responses import std
from chalicelib.auth.permissions import PUBLIC
from chalicelib.context import RequestContext
from chalicelib.domain.meetings import AttendOut, MeetingIn, MeetingList, MeetingOut, RecordIn
from chalicelib.domain.ratelimit import RESIDENT_WRITES
from chalicelib.services import Services
from chalicelib.usecases import meetings as usecase

bp = Blueprint(__name__)
TAG = "meetings"


@operation(bp, "GET", "/v1/areas/{id}/events", action=PUBLIC, tag=TAG, summary="A neighbourhood's beat meetings",
           description=("Meetings from 30 days ago on, soonest first, with how many said they will come and, once "
                        "recorded, how many came and the concerns raised. Counts only, never names."),
           responses={200: ("The meetings.", MeetingList), **std(404, 503)})
def list_events(svc: Services, ctx: RequestContext, id: str) -> Reply:
    return Reply(200, usecase.list_for_area(svc, ctx, id))


@operation(bp, "POST", "/v1/areas/{id}/events", action="meetings:manage", tag=TAG, request=MeetingIn,
           summary="Publish a beat meeting",
           description=("An officer or supervisor of the neighbourhood's team (others 403). An `address` or an "
                        "`online_url` (https), not both; at most 12 hours long, at most a year ahead. Idempotent "
                        "on `id`."),
           responses={201: ("Published.", MeetingOut), 200: ("Identical retry.", MeetingOut),
                      **std(400, 401, 403, 404, 409, 413, 503)})
def publish_event(svc: Services, ctx: RequestContext, id: str, body: MeetingIn) -> Reply:
    created, out = usecase.publish(svc, ctx, id, body)
    return Reply(201 if created else 200, out)


@operation(bp, "POST", "/v1/events/{id}/attend", action="meetings:attend", tag=TAG, rate_limit=RESIDENT_WRITES,
           summary="Say you will come (once)",
           description=("A resident following the neighbourhood (others 404), before the meeting starts (422 "
                        "after); a reminder reaches the inbox the day before. 201 counted, 200 already said. "
                        "Erased with the resident; the count stays."),
           responses={201: ("Counted.", AttendOut), 200: ("Already counted.", AttendOut),
                      **std(401, 403, 404, 422, 429, 503)})
def attend_event(svc: Services, ctx: RequestContext, id: str) -> Reply:
    added, out = usecase.attend(svc, ctx, id)
    return Reply(201 if added else 200, out)


@operation(bp, "POST", "/v1/events/{id}/record", action="meetings:manage", tag=TAG, request=RecordIn,
           summary="Record how many came and the concerns raised",
           description="The team, once the meeting has started (422 before). Concerns can become proposed priorities.",
           responses={200: ("The meeting.", MeetingOut), **std(400, 401, 403, 404, 409, 413, 422, 503)})
def record_event(svc: Services, ctx: RequestContext, id: str, body: RecordIn) -> Reply:
    return Reply(200, usecase.record(svc, ctx, id, body))
