"""Residents: register a device, own record, areas, inbox, erasure."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.framework import Reply, operation
from chalicelib.api.responses import std
from chalicelib.auth.permissions import PUBLIC
from chalicelib.context import RequestContext
from chalicelib.domain.contact_channels import (
    CONTACT_TYPES,
    CodeIn,
    ConfirmedOut,
    ConfirmIn,
    ContactPut,
    UnsubscribeQuery,
)
from chalicelib.domain.errors import NotFound
from chalicelib.domain.ratelimit import CHANNEL_TOKENS, ERASURES, REGISTRATIONS, RESIDENT_READS, RESIDENT_WRITES
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
from chalicelib.usecases import contact_channels as channels
from chalicelib.usecases import subscribers as usecase

bp = Blueprint(__name__)
TAG = "subscribers"
ME = "subscribers:self"


@operation(bp, "POST", "/v1/subscribers", action=PUBLIC, tag=TAG, request=SubscriberIn, rate_limit=REGISTRATIONS,
           summary="Register a device (sns, webpush or inbox channel) or an email address / phone number; returns a resident token",
           description=(
               "`channel` may also be `{\"type\": \"email\", \"address\"}` or `{\"type\": \"sms\", \"phone\"}` (E.164): the "
               "subscriber then has the inbox as its main channel and that contact channel, pending until confirmed "
               "(a confirmation is sent at once; 422 where the stage does not offer that type, 503 when the send failed). A subscriber "
               "registered this way lapses with its unconfirmed channel (48 h for email). "
               "The record and its token live for BEATLINE_RESIDENT_TOKEN_DAYS (default 365) days. "
               "A webpush endpoint must be a public HTTPS push service: a host name on port 443 that resolves "
               "only to public addresses; IP literals, local names, names that do not resolve and internal "
               "addresses are a 400 on channel.subscription.endpoint."),
           responses={201: ("Registered.", Registered), **std(400, 413, 422, 429, 503)},
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


def _contact_type(channel_type: str) -> str:
    if channel_type not in CONTACT_TYPES:
        raise NotFound("No such channel type.")
    return channel_type


CHANNEL_TYPES_DOC = "`channel_type`: `email` (body `{\"address\"}`) or `sms` (body `{\"phone\"}`, E.164); others 404."


@operation(bp, "PUT", "/v1/subscribers/me/channels/{channel_type}", action=ME, tag=TAG, request=ContactPut,
           rate_limit=RESIDENT_WRITES,
           summary="Add or change an email address or phone number beside the main channel (pending until confirmed)",
           description=(f"{CHANNEL_TYPES_DOC} Sends a confirmation (email: a single-use link to `/app/confirm?token=`; "
                        "sms: a one-time code for `POST .../channels/sms/confirm`). Nothing else is sent to a pending "
                        "channel; it lapses unconfirmed. 422 where the stage does not offer the type; 503 when the "
                        "confirmation could not be sent (the channel stays pending). The same address again while pending sends a new "
                        "confirmation; while confirmed it changes nothing. The record shows only a masked hint."),
           responses={200: ("The record with its channels.", SubscriberOut),
                      **std(400, 401, 403, 404, 413, 422, 429, 503)})
def put_channel(svc: Services, ctx: RequestContext, channel_type: str, body: ContactPut) -> Reply:
    return Reply(200, channels.put_channel(svc, ctx, _contact_type(channel_type), body))


@operation(bp, "DELETE", "/v1/subscribers/me/channels/{channel_type}", action=ME, tag=TAG, rate_limit=RESIDENT_WRITES,
           summary="Remove the email address or phone number (its address is deleted at once)",
           description=CHANNEL_TYPES_DOC,
           responses={204: ("Removed (also when there was none).", None), **std(401, 403, 404, 429, 503)})
def delete_channel(svc: Services, ctx: RequestContext, channel_type: str) -> Reply:
    channels.delete_channel(svc, ctx, _contact_type(channel_type))
    return Reply(204)


@operation(bp, "POST", "/v1/subscribers/me/channels/{channel_type}/confirm", action=ME, tag=TAG, request=CodeIn,
           rate_limit=RESIDENT_WRITES,
           summary="Confirm a code channel (sms) with the one-time code sent to it",
           description=("400 for a wrong code (after 5 the code is void: add the channel again); 422 when no "
                        "channel of that type waits for a code (email is confirmed by its link)."),
           responses={200: ("Confirmed.", ConfirmedOut), **std(400, 401, 403, 404, 413, 422, 429, 503)})
def confirm_code(svc: Services, ctx: RequestContext, channel_type: str, body: CodeIn) -> Reply:
    return Reply(200, channels.confirm_code(svc, ctx, _contact_type(channel_type), body))


@operation(bp, "POST", "/v1/subscribers/confirm", action=PUBLIC, tag=TAG, request=ConfirmIn, rate_limit=CHANNEL_TOKENS,
           summary="Confirm an email address with the token of its confirmation link (single use)",
           description=("The confirmation email links to a page (`/app/confirm?token=`) that POSTs the token here, "
                        "so a mail scanner fetching the link confirms nothing. 404 for a token that was used, has "
                        "lapsed or never existed."),
           responses={200: ("Confirmed.", ConfirmedOut), **std(400, 404, 413, 429, 503)})
def confirm_channel(svc: Services, ctx: RequestContext, body: ConfirmIn) -> Reply:
    return Reply(200, channels.confirm_token(svc, ctx, body))


@operation(bp, "POST", "/v1/subscribers/unsubscribe", action=PUBLIC, tag=TAG, query=UnsubscribeQuery,
           rate_limit=CHANNEL_TOKENS,
           summary="One-click unsubscribe (RFC 8058) of the one channel the token names, without sign-in",
           description=("The `List-Unsubscribe` URL of every alert email; mail clients POST "
                        "`List-Unsubscribe=One-Click` (any body is ignored). 204 whether or not the token was "
                        "known (it says nothing about who subscribed)."),
           responses={204: ("Unsubscribed (or nothing to do).", None), **std(400, 429, 503)})
def unsubscribe(svc: Services, ctx: RequestContext, query: UnsubscribeQuery) -> Reply:
    channels.unsubscribe(svc, ctx, query.token)
    return Reply(204)
