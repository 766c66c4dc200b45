"""Neighbourhood priorities and "you said, we did" (the Neighbourhood Policing Guarantee)."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.framework import Reply, operation
from chalicelib.api.responses import std
from chalicelib.auth.permissions import PUBLIC
from chalicelib.context import RequestContext
from chalicelib.domain.priorities import (
    CONSULTATION_DAYS,
    REVIEW_DAYS,
    ActionIn,
    LinkIn,
    PriorityIn,
    PriorityList,
    PriorityOut,
    PriorityPatch,
    SupportOut,
)
from chalicelib.domain.ratelimit import RESIDENT_WRITES
from chalicelib.services import Services
from chalicelib.usecases import priorities as usecase

bp = Blueprint(__name__)
TAG = "priorities"
SUPERVISOR = "A supervisor of the neighbourhood's team; others 403."


@operation(bp, "GET", "/v1/areas/{id}/priorities", action=PUBLIC, tag=TAG, summary="A neighbourhood's priorities",
           description=("Proposed, current and closed priorities with their support counts and actions (newest "
                        f"first). `review_overdue` flags a current priority not reviewed for {REVIEW_DAYS} days. "
                        "Nothing about residents."),
           responses={200: ("The priorities.", PriorityList), **std(404, 503)})
def list_priorities(svc: Services, ctx: RequestContext, id: str) -> Reply:
    return Reply(200, usecase.list_for_area(svc, ctx, id))


@operation(bp, "POST", "/v1/areas/{id}/priorities", action="priorities:manage", tag=TAG, request=PriorityIn,
           summary="Propose (or set) a priority",
           description=(f"{SUPERVISOR} `status: proposed` opens a {CONSULTATION_DAYS}-day consultation in which "
                        "residents following the neighbourhood support it; `current` sets it at once. "
                        "Idempotent on `id` (200 identical retry, 409 other content)."),
           responses={201: ("Created.", PriorityOut), 200: ("Identical retry.", PriorityOut),
                      **std(400, 401, 403, 404, 409, 413, 503)})
def propose_priority(svc: Services, ctx: RequestContext, id: str, body: PriorityIn) -> Reply:
    created, out = usecase.propose(svc, ctx, id, body)
    return Reply(201 if created else 200, out)


@operation(bp, "PATCH", "/v1/priorities/{id}", action="priorities:manage", tag=TAG, request=PriorityPatch,
           summary="Set a proposed priority current, or edit its issue text",
           description=f"{SUPERVISOR} 422 on a closed priority; 409 if it changed meanwhile.",
           responses={200: ("The priority.", PriorityOut), **std(400, 401, 403, 404, 409, 413, 422, 503)})
def patch_priority(svc: Services, ctx: RequestContext, id: str, body: PriorityPatch) -> Reply:
    return Reply(200, usecase.patch(svc, ctx, id, body))


@operation(bp, "POST", "/v1/priorities/{id}/review", action="priorities:manage", tag=TAG,
           summary="Record a review of a current priority",
           description=f"{SUPERVISOR} The next review is due {REVIEW_DAYS} days later; 422 unless current.",
           responses={200: ("The priority.", PriorityOut), **std(401, 403, 404, 409, 422, 503)})
def review_priority(svc: Services, ctx: RequestContext, id: str) -> Reply:
    return Reply(200, usecase.review(svc, ctx, id))


@operation(bp, "POST", "/v1/priorities/{id}/close", action="priorities:manage", tag=TAG, summary="Close a priority",
           description=f"{SUPERVISOR} 422 when already closed.",
           responses={200: ("The priority.", PriorityOut), **std(401, 403, 404, 409, 422, 503)})
def close_priority(svc: Services, ctx: RequestContext, id: str) -> Reply:
    return Reply(200, usecase.close(svc, ctx, id))


@operation(bp, "POST", "/v1/priorities/{id}/support", action="priorities:support", tag=TAG,
           rate_limit=RESIDENT_WRITES, summary="Support a proposed priority (once)",
           description=("A resident following the neighbourhood (an `area_id` among their areas; others 404), "
                        "during the consultation; 422 otherwise. 201 counted, 200 already supported. The support "
                        "is erased with the resident; the count stays."),
           responses={201: ("Counted.", SupportOut), 200: ("Already supported.", SupportOut),
                      **std(401, 403, 404, 422, 429, 503)})
def support_priority(svc: Services, ctx: RequestContext, id: str) -> Reply:
    added, out = usecase.support(svc, ctx, id)
    return Reply(201 if added else 200, out)


@operation(bp, "POST", "/v1/priorities/{id}/actions", action="priorities:act", tag=TAG, request=ActionIn,
           summary="Post what was done (\u201cyou said, we did\u201d)",
           description=("An officer or supervisor of the team. Public on the priority, and delivered to the inbox "
                        "of every supporter and every resident whose conversation is linked. Idempotent on `id`; "
                        "422 on a closed priority."),
           responses={201: ("Posted and delivered.", PriorityOut), 200: ("Identical retry.", PriorityOut),
                      **std(400, 401, 403, 404, 409, 413, 422, 503)})
def post_priority_action(svc: Services, ctx: RequestContext, id: str, body: ActionIn) -> Reply:
    created, out = usecase.post_action(svc, ctx, id, body)
    return Reply(201 if created else 200, out)


@operation(bp, "POST", "/v1/priorities/{id}/links", action="priorities:act", tag=TAG, request=LinkIn,
           summary="Link one of the team's conversations to a priority",
           description="Its resident then hears of every action. 404 for another team's conversation.",
           responses={200: ("The priority.", PriorityOut), **std(400, 401, 403, 404, 413, 422, 503)})
def link_priority(svc: Services, ctx: RequestContext, id: str, body: LinkIn) -> Reply:
    return Reply(200, usecase.link(svc, ctx, id, body))
