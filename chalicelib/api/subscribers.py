"""Residents: register a device, own record, areas, inbox, erasure."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.framework import Reply, operation
from chalicelib.api.responses import std
from chalicelib.auth.permissions import PUBLIC
from chalicelib.context import RequestContext
from chalicelib.domain.ratelimit import ERASURES, REGISTRATIONS, RESIDENT_READS, RESIDENT_WRITES
from chalicelib.domain.shapes import SHAPE_RULES
from chalicelib.domain.subscribers import (
    MAX_CELLS,
    MAX_SHAPE_KM2,
    MAX_SHAPES,
    AreasIn,
    AreasInDoc,
    InboxPage,
    InboxQuery,
    Registered,
    SubscriberIn,
    SubscriberOut,
    SubscriberPatch,
)
from chalicelib.services import Services
from chalicelib.usecases import subscribers as usecase

bp = Blueprint(__name__)
TAG = "subscribers"
ME = "subscribers:self"


@operation(bp, "POST", "/v1/subscribers", action=PUBLIC, tag=TAG, request=SubscriberIn, rate_limit=REGISTRATIONS,
           summary="Register a device (sns, webpush or inbox channel); returns a resident token",
           description=(
               "The record and its token live for BEATLINE_RESIDENT_TOKEN_DAYS (default 365) days. "
               "A webpush endpoint must be a public HTTPS push service: a host name on port 443 that resolves "
               "only to public addresses; IP literals, local names, names that do not resolve and internal "
               "addresses are a 400 on channel.subscription.endpoint."),
           responses={201: ("Registered.", Registered), **std(400, 413, 429, 503)},
           # The returned token is the caller of every /me operation (stateful clients and fuzzers).
           links={201: {name: {"operationId": op, "description": "Call with `Authorization: Bearer <token>`."}
                        for name, op in (("GetSubscriber", "get_me"), ("UpdateSubscriber", "patch_me"),
                                         ("SetAreas", "put_areas"), ("ReadInbox", "inbox"),
                                         ("EraseSubscriber", "erase_me"))}})
def register(svc: Services, ctx: RequestContext, body: SubscriberIn) -> Reply:
    return Reply(201, usecase.register(svc, ctx, body))


@operation(bp, "GET", "/v1/subscribers/me", action=ME, tag=TAG, rate_limit=RESIDENT_READS,
           summary="Own subscriber record and preferences",
           responses={200: ("The record.", SubscriberOut), **std(401, 403, 503)})
def get_me(svc: Services, ctx: RequestContext) -> Reply:
    return Reply(200, usecase.get_me(svc, ctx))


@operation(bp, "PATCH", "/v1/subscribers/me", action=ME, tag=TAG, request=SubscriberPatch, rate_limit=RESIDENT_WRITES,
           summary="Change the channel or preferences (fields left out are kept; null clears)",
           responses={200: ("The record.", SubscriberOut), **std(400, 401, 403, 413, 503)})
def patch_me(svc: Services, ctx: RequestContext, body: SubscriberPatch) -> Reply:
    return Reply(200, usecase.patch_me(svc, ctx, body))


# Erasure has a budget of its own: it never waits because other budgets are spent, and the token
# dies with it (only an interrupted erasure is ever retried).
@operation(bp, "DELETE", "/v1/subscribers/me", action=ME, tag=TAG, rate_limit=ERASURES,
           summary="Erase this subscriber: record, areas, inbox, delivery records (and SNS endpoint)",
           responses={204: ("Erased; the token no longer works.", None), **std(401, 403, 503)},
           links={204: {"GetErasedSubscriber": {"operationId": "get_me",
                                                "description": "Answers 401: nothing of the subscriber remains."}}})
def erase_me(svc: Services, ctx: RequestContext) -> Reply:
    usecase.erase_me(svc, ctx)
    return Reply(204)


@operation(bp, "PUT", "/v1/subscribers/me/areas", action=ME, tag=TAG, request=AreasIn, request_doc=AreasInDoc,
           rate_limit=RESIDENT_WRITES,
           summary="Replace the areas this device follows (area ids, circles, polygons)",
           description=(
               f"Limits: {MAX_SHAPES} shapes; a polygon at most {MAX_SHAPE_KM2:.0f} km² and 1,000 vertices; a circle "
               f"50 m..20 km radius; together at most {MAX_CELLS} H3 resolution-7 cells (~5.2 km² each). "
               f"Beyond a limit: 400 naming the shape. {SHAPE_RULES} A named area whose covering would "
               "exceed the estimate limit is refused at `areas[i].area_id`."),
           responses={200: ("The record with its areas.", SubscriberOut), **std(400, 401, 403, 413, 503)})
def put_areas(svc: Services, ctx: RequestContext, body: AreasIn) -> Reply:
    return Reply(200, usecase.put_areas(svc, ctx, body))


@operation(bp, "GET", "/v1/subscribers/me/inbox", action=ME, tag=TAG, query=InboxQuery, rate_limit=RESIDENT_READS,
           summary="Alerts delivered to this device, newest first",
           responses={200: ("A page.", InboxPage), **std(400, 401, 403, 503)})
def inbox(svc: Services, ctx: RequestContext, query: InboxQuery) -> Reply:
    return Reply(200, usecase.inbox(svc, ctx, query))
