"""Public alert outputs: JSON by point, CAP 1.2 XML per alert, Atom feed."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.framework import Reply, operation
from chalicelib.api.responses import std
from chalicelib.auth.permissions import PUBLIC
from chalicelib.context import RequestContext
from chalicelib.domain.alerts import FeedQuery, PointQuery, PublicAlertList
from chalicelib.domain.ratelimit import PUBLIC_LOOKUPS
from chalicelib.domain.subscribers import WebPushKeyOut
from chalicelib.services import Services
from chalicelib.usecases import alerts as usecase
from chalicelib.usecases import subscribers as subscribers_usecase

bp = Blueprint(__name__)
TAG = "public"
CAP = "application/cap+xml"
ATOM = "application/atom+xml"


@operation(bp, "GET", "/v1/public/alerts", action=PUBLIC, tag=TAG, query=PointQuery, rate_limit=PUBLIC_LOOKUPS,
           summary="Published, unexpired alerts covering a point",
           responses={200: ("Newest first.", PublicAlertList), **std(400, 503)})
def public_alerts(svc: Services, ctx: RequestContext, query: PointQuery) -> Reply:
    return Reply(200, usecase.public_alerts(svc, ctx, query.lat, query.lon))


@operation(bp, "GET", "/v1/public/alerts/{file}", action=PUBLIC, tag=TAG, content_type=CAP, rate_limit=PUBLIC_LOOKUPS,
           summary="One alert as CAP 1.2 XML: `/v1/public/alerts/<id>.cap`",
           responses={200: ("CAP 1.2 alert message.", CAP), **std(404, 503)})
def public_cap(svc: Services, ctx: RequestContext, file: str) -> Reply:
    return Reply(200, usecase.cap_document(svc, ctx, file), content_type=CAP)


@operation(bp, "GET", "/v1/public/feed.atom", action=PUBLIC, tag=TAG, query=FeedQuery, content_type=ATOM,
           rate_limit=PUBLIC_LOOKUPS, summary="Atom feed of published alerts (optionally of one named area)",
           responses={200: ("Atom 1.0 feed with CAP links.", ATOM), **std(400, 404, 503)})
def public_feed(svc: Services, ctx: RequestContext, query: FeedQuery) -> Reply:
    return Reply(200, usecase.feed(svc, ctx, query.area_id), content_type=ATOM)


@operation(bp, "GET", "/v1/public/webpush-key", action=PUBLIC, tag=TAG,
           summary="The VAPID public key (applicationServerKey) to create a Web Push subscription with",
           responses={200: ("The key.", WebPushKeyOut), **std(404, 503)})
def webpush_key(svc: Services, ctx: RequestContext) -> Reply:
    return Reply(200, subscribers_usecase.webpush_key(svc, ctx))
