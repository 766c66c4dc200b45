"""The confidence pulse (residents' trust): an admin sends it, a worker delivers it, residents answer it."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.framework import Reply, operation
from chalicelib.api.responses import std
from chalicelib.context import RequestContext
from chalicelib.domain.ratelimit import RESIDENT_WRITES
from chalicelib.domain.trust import PulseAnswerIn, PulseAnswerOut, PulseIn, PulseOut
from chalicelib.services import Services
from chalicelib.usecases import pulses as usecase

bp = Blueprint(__name__)
TAG = "trust"


@operation(bp, "POST", "/v1/pulses", action="trust:pulse", tag=TAG, request=PulseIn,
           summary="Ask residents of chosen neighbourhoods the confidence question (admin)",
           description=("The Crime Survey for England and Wales question \"Taking everything into account, how good "
                        "a job do you think the police in this area are doing?\" reaches the inbox (and push) of "
                        "the residents following `areas` (named areas they chose), or of a `sample` (0..1) of them "
                        "drawn by keyed hash (the same residents on a retry). The pulse is written and its delivery "
                        "queued: the reply does not wait for it (`state` `queued`, `sent` 0); a worker reaches the "
                        "areas' followers page by page (`GET /v1/pulses/{id}`: `state` `sending`, then `sent`, with "
                        "`sent` residents reached). Idempotent on `id`: 201 new, 200 identical retry (which starts "
                        "a delivery again that has made no progress for a while; nobody gets a second copy or "
                        "push), 409 other content; an unknown area is 400; 503 when the delivery could not be "
                        "queued (the same request again resumes it). Answerable for 30 days."),
           responses={201: ("Written; its delivery is queued.", PulseOut), 200: ("Identical retry.", PulseOut),
                      **std(400, 401, 403, 409, 413, 503)})
def create_pulse(svc: Services, ctx: RequestContext, body: PulseIn) -> Reply:
    created, out = usecase.create_pulse(svc, ctx, body)
    return Reply(201 if created else 200, out)


@operation(bp, "GET", "/v1/pulses/{id}", action="trust:pulse", tag=TAG,
           summary="A pulse and its delivery (admin)",
           description=("The pulse as written, with `state` (`queued`, `sending`, `sent`) and `sent` (residents "
                        "reached so far). Unknown ids 404."),
           responses={200: ("The pulse.", PulseOut), **std(401, 403, 404, 503)})
def get_pulse(svc: Services, ctx: RequestContext, id: str) -> Reply:
    return Reply(200, usecase.get_pulse(svc, ctx, id))


@operation(bp, "POST", "/v1/pulses/{id}/answers", action="trust:answer", tag=TAG, request=PulseAnswerIn,
           rate_limit=RESIDENT_WRITES,
           summary="Answer a pulse, once (a resident it was sent to)",
           description=("Kept as a count only (per period, team and area); the resident's inbox copy records that "
                        "they answered, never what. 404 when the pulse was not sent to you; 409 a second time; 422 "
                        "once it has closed (30 days)."),
           responses={201: ("Answered.", PulseAnswerOut), **std(400, 401, 403, 404, 409, 413, 422, 429, 503)})
def answer_pulse(svc: Services, ctx: RequestContext, id: str, body: PulseAnswerIn) -> Reply:
    return Reply(201, usecase.answer_pulse(svc, ctx, id, body))
